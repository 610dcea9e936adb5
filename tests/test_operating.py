"""What an operator's tools see (docs/operating.md): liveness and readiness against real
failures of the database and the blob store, the JSON access log, and Prometheus metrics
scraped from a real server."""

from __future__ import annotations

import json
import logging
import shutil

import httpx
import pytest
import sqlalchemy
from fastapi.testclient import TestClient

from helpers import (
    PUBLIC_URL,
    S3_ENV,
    TEST_HOSTS,
    clean_env,
    fixture_bytes,
    free_port,
    fresh_postgres_database,
    minimal_notebook,
    nb_bytes,
    notebook_dict,
    publish,
    start_server,
)
from nbshare.app import create_app
from nbshare.security.tokens import redact_id
from nbshare.settings import Settings

# Valid JSON, not a valid notebook: the render worker refuses it (invalid_notebook).
BAD_NOTEBOOK = json.dumps(notebook_dict({"cell_type": "bogus"})).encode()
METRICS_TOKEN = "metrics-token-0123456789abcdef"  # noqa: S105 - a test's own token


def app_client(tmp_path, renderer, **options) -> TestClient:
    settings = Settings(
        data_dir=tmp_path / "data", public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS, **options
    )
    return TestClient(create_app(settings, renderer=renderer), base_url="http://testserver")


# --- liveness and readiness ------------------------------------------------------------


def test_ready_when_the_database_and_the_blob_store_answer(client):
    live = client.get("/healthz")
    assert live.status_code == 200 and live.json()["ok"] is True
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"ready": True, "database": "ok", "blobs": "ok"}
    assert r.headers["cache-control"] == "no-store"


def test_not_ready_when_the_sqlite_file_is_gone(client, settings, caplog):
    publish(client, nb_bytes(minimal_notebook()))
    for leftover in settings.data_dir.glob("nbshare.db*"):
        leftover.unlink()
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"ready": False, "database": "failed", "blobs": "ok"}
    assert str(settings.data_dir) not in r.text  # the log says what failed, the answer does not
    assert "the database failed" in caplog.text
    assert client.get("/healthz").status_code == 200  # alive all the same: no restart loop


def test_not_ready_when_the_blob_folder_is_gone(client, settings):
    shutil.rmtree(settings.blob_dir)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"ready": False, "database": "ok", "blobs": "failed"}
    assert str(settings.blob_dir) not in r.text


def test_not_ready_while_postgresql_refuses_connections(postgres_url, tmp_path, renderer):
    url = fresh_postgres_database(postgres_url)
    name = url.rsplit("/", 1)[1]
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")

    def admin_sql(statement: str) -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(statement)

    try:
        with app_client(tmp_path, renderer, database_url=url) as client:
            assert client.get("/readyz").status_code == 200
            # The database goes away under the running service: no new connections, and the
            # service's open ones are ended by the server.
            admin_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            admin_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            r = client.get("/readyz")
            assert r.status_code == 503
            assert r.json() == {"ready": False, "database": "failed", "blobs": "ok"}
            assert "127.0.0.1" not in r.text and name not in r.text
            admin_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            assert client.get("/readyz").status_code == 200  # ready again, without a restart
    finally:
        admin_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        admin.dispose()


def test_not_ready_when_the_s3_server_stops(tmp_path, renderer, monkeypatch):
    """A moto server of this test's own (the session's is shared), stopped under the service."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    s3.start()
    stopped = False
    try:
        endpoint = f"http://127.0.0.1:{port}"
        assert httpx.put(f"{endpoint}/ready-test", timeout=30).status_code == 200
        for key, value in {**S3_ENV, "AWS_ENDPOINT": endpoint}.items():
            monkeypatch.setenv(key, value)
        with app_client(tmp_path, renderer, blob_url="s3://ready-test") as client:
            assert client.get("/readyz").json() == {"ready": True, "database": "ok", "blobs": "ok"}
            s3.stop()
            stopped = True
            r = client.get("/readyz")
            assert r.status_code == 503
            assert r.json()["blobs"] in ("failed", "timed out") and r.json()["database"] == "ok"
            assert endpoint not in r.text and S3_ENV["AWS_SECRET_ACCESS_KEY"] not in r.text
    finally:
        if not stopped:
            s3.stop()


def test_a_stuck_check_holds_one_thread_and_answers_timed_out(tmp_path, renderer):
    import threading

    from nbshare.readiness import Readiness

    release = threading.Event()
    with app_client(tmp_path, renderer) as client:
        readiness: Readiness = client.app.state.readiness
        calls = []

        def stuck() -> None:
            calls.append(1)
            release.wait(120)

        readiness.parts["blobs"] = stuck
        readiness.timeout = 5.0  # ample for a thread to start on a busy machine
        try:
            for _ in range(3):
                r = client.get("/readyz")
                assert r.status_code == 503 and r.json() == {
                    "ready": False,
                    "database": "ok",
                    "blobs": "timed out",
                }
            assert len(calls) == 1  # the later probes did not start another thread
        finally:
            release.set()


# --- the JSON access log -----------------------------------------------------------------


def access_records(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "nbshare.access"]


def test_json_access_log_is_one_object_per_request_with_ids_and_secrets_redacted(tmp_path, renderer, caplog):
    caplog.set_level(logging.INFO)
    with app_client(tmp_path, renderer, access_log="json") as client:
        password = {"X-Nbshare-Password": "hunter2-pass"}
        share = publish(client, nb_bytes(minimal_notebook()), title="Merger plan", headers=password).json()
        share_id, token = share["id"], share["owner_token"]
        unlocked = client.post(f"/api/v1/shares/{share_id}/unlock", json={"password": "hunter2-pass"})
        grant = unlocked.json()["grant"]
        client.get(f"/n/{share_id}/content", headers={"X-Nbshare-Grant": grant})
        client.get(f"/n/{share_id}?password=hunter2-pass")  # refused, and not logged either
        client.delete(f"/api/v1/shares/{share_id}", headers={"Authorization": f"Bearer {token}"})
    records = access_records(caplog)
    assert len(records) == 5, records
    for record in records:
        assert set(record) == {"time", "method", "path", "status", "duration", "bytes", "client"}
        assert record["duration"] >= 0 and record["bytes"] >= 0 and record["client"] == "testclient"
    text = json.dumps(records)
    for secret in (share_id, token, grant, "hunter2", "Merger"):
        assert secret not in text, secret
    assert records[0]["method"] == "POST" and records[0]["status"] == 201
    assert records[0]["path"] == "/api/v1/shares?filename=…&title=…"
    assert records[2]["path"] == f"/n/{redact_id(share_id)}/content"
    assert records[3]["path"].endswith("?password=…")
    assert [r["status"] for r in records][2:] == [200, 400, 204]


def test_a_raw_quote_or_space_in_a_query_value_neither_leaks_it_nor_breaks_the_line():
    from nbshare.access import json_line

    scope = {
        "method": "GET",
        "path": "/n/AbCdEfGhIjKlMnOpQrStUvWx",
        "query_string": b'password=hunter2"rest of it&x=1',
        "client": ("192.0.2.1", 5000),
    }
    line = json_line(scope, 400, 0.001, 10)
    assert json.loads(line)["path"] == "/n/AbCd…?password=…&x=…"
    assert "hunter2" not in line and "rest" not in line and "AbCdEfGh" not in line


def test_text_access_log_writes_no_json(tmp_path, renderer, caplog):
    caplog.set_level(logging.INFO)
    with app_client(tmp_path, renderer) as client:
        client.get("/healthz")
    assert access_records(caplog) == []


@pytest.mark.slow
def test_nbshare_serve_writes_json_lines_with_the_forwarded_client_of_a_trusted_proxy(tmp_path):
    live = start_server(
        tmp_path,
        env=clean_env(),
        NBSHARE_ACCESS_LOG="json",
        NBSHARE_TRUSTED_PROXIES="127.0.0.1",
    )
    try:
        r = httpx.get(f"{live.url}/readyz", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=60)
        assert r.status_code == 200
    finally:
        live.stop()
    lines = [line for line in live.log().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    readyz = [r for r in records if r["path"] == "/readyz"]
    assert readyz and readyz[0]["client"] == "203.0.113.7" and readyz[0]["status"] == 200
    assert '"GET /readyz HTTP/1.1"' not in live.log()  # uvicorn's own text line is off


# --- Prometheus metrics ------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a Prometheus text exposition, parsed by prometheus_client's parser."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_are_off_by_default(client):
    r = client.get("/metrics")
    assert r.status_code == 404


@pytest.mark.slow
def test_metrics_count_uploads_renders_views_and_errors_of_a_real_server(tmp_path):
    live = start_server(tmp_path, env=clean_env(), NBSHARE_METRICS="true")
    try:
        with httpx.Client(base_url=live.url, timeout=120) as http:
            share = publish(http, fixture_bytes("headings.ipynb")).json()
            path = share["url"].removeprefix(live.url)
            assert http.get(f"{path}/content").status_code == 200  # a view
            assert http.get(f"{path}.ipynb").status_code == 200  # a download: another view
            assert http.get("/n/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
            refused = publish(http, BAD_NOTEBOOK)
            assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_notebook"
            # Through a proxy (a forwarding header), loopback proves nothing: as if off.
            assert http.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 404
            scraped = http.get("/metrics")
    finally:
        live.stop()
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    found = samples(scraped.text)
    assert found[("nbshare_uploads_total", (("outcome", "stored"),))] == 1
    assert found[("nbshare_uploads_total", (("outcome", "invalid_notebook"),))] == 1
    assert found[("nbshare_render_seconds_count", ())] == 2
    assert found[("nbshare_render_seconds_sum", ())] > 0
    assert found[("nbshare_render_failures_total", (("code", "invalid_notebook"),))] == 1
    assert found[("nbshare_views_total", ())] == 2
    assert found[("nbshare_http_responses_total", (("status_class", "4xx"),))] == 3
    assert found[("nbshare_http_responses_total", (("status_class", "2xx"),))] >= 4
    assert found[("nbshare_http_responses_total", (("status_class", "5xx"),))] == 0
    assert share["id"] not in scraped.text


def test_metrics_token_is_required_from_everyone_and_never_logged(tmp_path, renderer, caplog):
    caplog.set_level(logging.INFO)
    with app_client(
        tmp_path, renderer, metrics=True, metrics_token=METRICS_TOKEN, access_log="json"
    ) as client:
        missing = client.get("/metrics")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["error"]["code"] == "unauthorized"
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        shutil.rmtree(client.app.state.settings.blob_dir)
        assert client.get("/readyz").status_code == 503  # a 5xx to count
        good = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert good.status_code == 200
    found = samples(good.text)
    assert found[("nbshare_http_responses_total", (("status_class", "5xx"),))] == 1
    assert found[("nbshare_http_responses_total", (("status_class", "4xx"),))] == 2
    assert METRICS_TOKEN not in caplog.text
    assert METRICS_TOKEN not in repr(client.app.state.settings)


def test_metrics_settings_are_read_from_the_environment():
    on = Settings.from_env({"NBSHARE_METRICS": "true", "NBSHARE_METRICS_TOKEN": METRICS_TOKEN})
    assert on.metrics is True and on.metrics_token == METRICS_TOKEN
    assert Settings.from_env({"NBSHARE_METRICS": "false"}).metrics is False
    with pytest.raises(ValueError, match="NBSHARE_METRICS must be true or false"):
        Settings.from_env({"NBSHARE_METRICS": "maybe"})
    with pytest.raises(ValueError, match="NBSHARE_METRICS_TOKEN must be at least 16"):
        Settings.from_env({"NBSHARE_METRICS_TOKEN": "short"})
    with pytest.raises(ValueError, match="NBSHARE_ACCESS_LOG must be one of text, json, off"):
        Settings.from_env({"NBSHARE_ACCESS_LOG": "xml"})


def test_each_app_counts_on_its_own(tmp_path, renderer):
    """No global registry: two apps in one process (tests, or a second instance) do not share counters."""
    options = {"metrics": True, "metrics_token": METRICS_TOKEN}
    with app_client(tmp_path / "a", renderer, **options) as first:
        publish(first, nb_bytes(minimal_notebook()))
        with app_client(tmp_path / "b", renderer, **options) as second:
            scraped = second.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            found = samples(scraped.text)
    assert found[("nbshare_uploads_total", (("outcome", "stored"),))] == 0


# --- backups (docs/operating.md#backups) -------------------------------------------------


def backup_database(data_dir, target) -> None:
    """SQLite's online backup, as `sqlite3 nbshare.db ".backup ..."` does it."""
    import sqlite3

    source, copy = sqlite3.connect(data_dir / "nbshare.db"), sqlite3.connect(target)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()


def copy_blobs_additively(data_dir, target) -> None:
    """`rsync -a` without --delete: what the source no longer has stays in the backup."""
    shutil.copytree(data_dir / "blobs", target, dirs_exist_ok=True)


def test_a_backup_taken_database_first_then_blobs_additively_restores_every_share(tmp_path, renderer):
    from helpers import Clock

    backup = tmp_path / "backup"
    backup.mkdir()
    with app_client(tmp_path / "live", renderer) as live:
        data_dir = live.app.state.settings.data_dir
        kept = publish(live, nb_bytes(minimal_notebook(title="kept"))).json()
        deleted = publish(live, nb_bytes(minimal_notebook(title="deleted later"))).json()
        backup_database(data_dir, backup / "day1.db")  # yesterday's backup: database, then blobs
        copy_blobs_additively(data_dir, backup / "blobs")
        uploaded = publish(live, nb_bytes(minimal_notebook(title="uploaded today"))).json()
        backup_database(data_dir, backup / "nbshare.db")  # today's: 1. the database
        # Between the two copies: one share is deleted, another one uploaded.
        token = {"Authorization": f"Bearer {deleted['owner_token']}"}
        assert live.delete(f"/api/v1/shares/{deleted['id']}", headers=token).status_code == 204
        late = publish(live, nb_bytes(minimal_notebook(title="after the copy"))).json()
        copy_blobs_additively(data_dir, backup / "blobs")  # 2. then the blobs

    restored = tmp_path / "restored" / "data"
    shutil.copytree(backup / "blobs", restored / "blobs")
    shutil.copy(backup / "nbshare.db", restored / "nbshare.db")
    clock = Clock()
    settings = Settings(data_dir=restored, public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS)
    with TestClient(
        create_app(settings, renderer=renderer, clock=clock), base_url="http://testserver"
    ) as client:
        for share in (kept, deleted, uploaded):  # every row the database copy holds opens, whole
            assert client.get(f"/n/{share['id']}.ipynb").status_code == 200, share["title"]
            assert client.get(f"/n/{share['id']}/content").status_code == 200, share["title"]
        assert client.get(f"/n/{late['id']}").status_code == 404  # not in the database copy
        service = client.app.state.service
        assert list(service.blobs.keys(f"shares/{late['id']}"))  # its blobs came along...
        clock.advance(hours=2)
        service.sweep()
        assert not list(service.blobs.keys(f"shares/{late['id']}"))  # ...and the sweep removes them
        assert client.get(f"/n/{kept['id']}.ipynb").status_code == 200


def test_blobs_first_would_restore_shares_without_their_blobs(tmp_path, renderer):
    """Why not the other order: a share uploaded between the copies has a row and no blobs."""
    backup = tmp_path / "backup"
    with app_client(tmp_path / "live", renderer) as live:
        data_dir = live.app.state.settings.data_dir
        publish(live, nb_bytes(minimal_notebook()))
        copy_blobs_additively(data_dir, backup / "blobs")
        between = publish(live, nb_bytes(minimal_notebook(title="between"))).json()
        backup_database(data_dir, backup / "nbshare.db")
    restored = tmp_path / "restored" / "data"
    shutil.copytree(backup / "blobs", restored / "blobs")
    shutil.copy(backup / "nbshare.db", restored / "nbshare.db")
    settings = Settings(data_dir=restored, public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS)
    with TestClient(create_app(settings, renderer=renderer), base_url="http://testserver") as client:
        assert client.get(f"/api/v1/shares/{between['id']}").status_code == 200  # the row is there
        assert client.get(f"/n/{between['id']}.ipynb").status_code == 404  # its notebook is not
