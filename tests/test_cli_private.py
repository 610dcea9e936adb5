# ruff: noqa: S105, S106  (test passwords are made up on purpose)
"""Private and ephemeral shares from the command line, against a real server process.

Like test_cli.py: one `nbshare serve` for the module, every CLI call a real
`python -m nbshare` subprocess with its own XDG_DATA_HOME (updating and listing versions
run in process, against the in-process app). Passwords reach the CLI on
standard input, in NBSHARE_PASSWORD or typed at a pseudo-terminal, never in argv; the
last test checks that no password, owner token or grant reached the server's log.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cli_helpers import NOTEBOOK, AppServer, Cli, Seen, Terminal, assert_one_error_line, token_of
from helpers import LiveServer, clean_env, free_port, minimal_notebook, nb_bytes, start_server

URL_RE = r"http://127\.0\.0\.1:\d+/n/[A-Za-z0-9_-]{24}"
# Every secret and command line the module saw; the last test looks for each in the server's log.
SEEN = Seen()

pytestmark = pytest.mark.slow


# --- fixtures and helpers -------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `nbshare serve` for the module, its log unbuffered; no periodic purge during
    the tests (the purge test runs `nbshare purge` itself)."""
    folder = tmp_path_factory.mktemp("cli-private")
    live = start_server(folder, env=clean_env(200), NBSHARE_PURGE_INTERVAL="3600")
    yield live
    live.stop()


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "xdg", SEEN, columns=200)


def api(server: LiveServer | AppServer, share_id: str, suffix: str = "") -> str:
    return f"{server.url}/api/v1/shares/{share_id}{suffix}"


def unlock(server: LiveServer, share_id: str, password: str) -> httpx.Response:
    r = httpx.post(api(server, share_id, "/unlock"), json={"password": password}, timeout=60)
    if r.status_code == 200:
        SEEN.grants.add(r.json()["grant"])
    return r


def assert_locked(server: LiveServer, answer: dict, password: str) -> None:
    """The share needs `password`: unlock page without it, content with its grant."""
    page = httpx.get(answer["url"], timeout=30)
    assert page.status_code == 401
    assert page.headers["content-type"].startswith("text/html")
    assert 'name="password"' in page.text
    assert httpx.get(f"{answer['url']}.ipynb", timeout=30).status_code == 401
    assert unlock(server, answer["id"], password + "x").status_code == 401
    r = unlock(server, answer["id"], password)
    assert r.status_code == 200, r.text
    grant = r.json()["grant"]
    download = httpx.get(f"{answer['url']}.ipynb", headers={"X-Nbshare-Grant": grant}, timeout=30)
    assert download.status_code == 200


def owner_info(server: LiveServer, cli: Cli, share_id: str) -> dict:
    token = next(e["owner_token"] for e in cli.history() if e["id"] == share_id)
    r = httpx.get(api(server, share_id), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def view(url: str) -> int:
    """One view of the rendered notebook (what counts against --max-views)."""
    return httpx.get(f"{url}/content", timeout=30).status_code


def notebook_titled(tmp_path: Path, title: str, name: str = "analysis.ipynb") -> Path:
    nb = minimal_notebook()
    nb["cells"][0]["source"] = f"# {title}"
    path = tmp_path / name
    path.write_bytes(nb_bytes(nb))
    return path


# --- passwords --------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_publish_with_password_stdin_keeps_it_out_of_the_process_list(server, cli):
    password = "correct horse battery staple"
    SEEN.passwords.add(password)
    process = subprocess.Popen(
        cli.argv("publish", NOTEBOOK, "--server", server.url, "--password-stdin", "--json"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env(),
    )
    proc = Path(f"/proc/{process.pid}")
    seen = [(proc / "cmdline").read_bytes()]
    assert process.stdin is not None
    process.stdin.write(password + "\n")
    process.stdin.close()
    while process.poll() is None:  # sample while it uploads and the server renders
        try:
            seen.append((proc / "cmdline").read_bytes())
            seen.append((proc / "environ").read_bytes())
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.02)
    assert process.stdout is not None and process.stderr is not None  # small: no pipe filled up
    out, err = process.stdout.read(), process.stderr.read()
    process.wait(timeout=120)
    assert process.returncode == 0, err
    assert len(seen) > 2, "the process ended before it could be looked at"
    # Right after fork the child may not have exec'd yet (empty cmdline): any later sample will do.
    assert any(b"nbshare\x00publish" in sample for sample in seen)
    for sample in seen:
        assert password.encode() not in sample
    answer = json.loads(out)
    SEEN.tokens.add(token_of(answer["manage_url"]))
    assert answer["protected"] is True
    assert password not in out + err
    assert_locked(server, answer, password)
    assert cli.listing()[answer["id"]]["protected"] is True


def test_password_from_the_environment_even_unicode_with_spaces(server, cli):
    # Not header-safe (non-ASCII, outer spaces): the client sends it in a form field instead.
    password = "  pässwörd 🔑 "
    SEEN.passwords.add(password)
    answer = cli.publish(server.url, env={"NBSHARE_PASSWORD": password})
    assert answer["protected"] is True
    assert_locked(server, answer, password)
    assert unlock(server, answer["id"], password.strip()).status_code == 401  # exactly as given

    plain = "plain-ascii-password"
    SEEN.passwords.add(plain)
    answer = cli.publish(server.url, "--new", env={"NBSHARE_PASSWORD": plain})
    assert_locked(server, answer, plain)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as on Linux")
def test_password_prompt_on_a_terminal_is_hidden_and_confirmed(server, cli, tmp_path):
    path = notebook_titled(tmp_path, "Typed password")
    password = "typed at the terminal"
    SEEN.passwords.add(password)
    term = Terminal(cli.argv("publish", path, "--server", server.url, "--password"), cli.env())
    term.expect("Password: ")
    term.type(password)
    term.expect("Repeat for confirmation: ")
    term.type(password + " but different")
    term.expect("do not match")
    term.expect("Password: ")
    term.type(password)
    term.expect("Repeat for confirmation: ")
    term.type(password)
    code, output = term.finish()
    assert code == 0, output
    assert password not in output  # never echoed
    url = re.search(URL_RE, output).group(0)
    assert "Protected by a password." in output
    SEEN.tokens.update(re.findall(r"#token=([A-Za-z0-9_-]+)", output))
    assert_locked(server, {"url": url, "id": url.rsplit("/", 1)[1]}, password)

    # The same file again, on a terminal: the CLI offers to update that share.
    term = Terminal(cli.argv("publish", path, "--server", server.url), cli.env())
    term.expect(url)
    term.expect("Update that share (same link, new version)? [y/N]: ")
    term.type("y")
    code, output = term.finish()
    assert code == 0, output
    assert "version 2" in output
    assert re.findall(URL_RE, output.split("[y/N]:", 1)[1]) == [url]
    assert len(cli.history()) == 1
    info = owner_info(server, cli, url.rsplit("/", 1)[1])
    assert info["version"] == 2 and info["protected"] is True  # still locked by the same password


def test_password_errors_are_one_line_and_publish_nothing(server, cli):
    assert_one_error_line(
        cli("publish", NOTEBOOK, "--server", server.url, "--password-stdin", input="\n"),
        "No password on standard input",
    )
    assert_one_error_line(
        cli("publish", NOTEBOOK, "--server", server.url, "--password-stdin", input="   \n"),
        "No password",
    )
    # --password without a terminal reads a line; with nothing there it says what to do.
    assert_one_error_line(
        cli("publish", NOTEBOOK, "--server", server.url, "--password", input=""),
        "--password-stdin",
        "NBSHARE_PASSWORD",
    )
    assert_one_error_line(
        cli("publish", NOTEBOOK, "--server", server.url, "--password", "--password-stdin", input="x\n"),
        "Choose one",
    )
    too_long = "x" * 1025
    assert_one_error_line(
        cli("publish", NOTEBOOK, "--server", server.url, "--password-stdin", input=too_long + "\n"),
        "longer than 1024",
        "HTTP 400",
    )
    assert not cli.history_file.exists()


# --- expiry, view limits and list ---------------------------------------------------------


def test_expiry_and_view_limit_show_in_list_until_the_share_is_gone(server, cli):
    answer = cli.publish(server.url, "--expires", "1h", "--max-views", "2")
    share_id, url = answer["id"], answer["url"]
    expires = datetime.fromisoformat(answer["expires_at"])
    assert timedelta(minutes=58) < expires - datetime.now(UTC) <= timedelta(hours=1)
    assert answer["max_views"] == 2

    listed = cli.listing()[share_id]
    assert listed["status"] == "live"
    assert (listed["expires_at"], listed["max_views"], listed["views"], listed["version"]) == (
        answer["expires_at"],
        2,
        0,
        1,
    )

    assert view(url) == 200  # one view of the notebook; the share page itself does not count
    assert httpx.get(url, timeout=30).status_code == 200
    r = cli.ok("list")
    row = next(line for line in r.stdout.splitlines() if url in line)
    assert re.search(r"│ in (59m|1h00m)\s+│ 1/2\s+│ 1\s+│", row), row
    assert cli.listing()[share_id]["views"] == 1

    narrow = cli.ok("list", env={"COLUMNS": "80"})  # no room for a table: one block per share
    assert url in narrow.stdout
    assert re.search(r"expires in (59m|1h00m) · views 1/2 · version 1", narrow.stdout), narrow.stdout

    assert view(url) == 200  # the last allowed view is served, then the share is deleted
    assert view(url) == 404
    r = cli.ok("list")
    row = next(line for line in r.stdout.splitlines() if url in line)
    assert "gone" in row
    assert "nbshare list --prune" in r.stderr
    assert cli.listing()[share_id]["status"] == "gone"

    r = cli.ok("list", "--prune")
    assert url not in r.stdout
    assert "Removed 1 share" in r.stderr
    assert cli.history() == []


def test_bad_expiry_and_view_limit_are_the_servers_one_line_errors(server, cli):
    assert_one_error_line(
        cli("publish", NOTEBOOK, "--server", server.url, "--expires", "soon"),
        "Cannot read the expiry 'soon'",
        "HTTP 400",
    )
    assert_one_error_line(
        cli("publish", NOTEBOOK, "--server", server.url, "--expires", "2001-01-01"),
        "in the past",
        "HTTP 400",
    )
    assert_one_error_line(
        cli("publish", NOTEBOOK, "--server", server.url, "--max-views", "0"),
        "max_views",
        "HTTP 400",
    )
    assert not cli.history_file.exists()


def test_list_shows_saved_values_when_a_server_is_down(cli):
    down = f"http://127.0.0.1:{free_port()}"
    entries = [
        {
            "id": f"{c}" * 24,
            "url": f"{down}/n/{c * 24}",
            "server": down,
            "manage_url": "",
            "owner_token": "t" * 43,
            "title": f"Title {c}",
            "filename": f"{c}.ipynb",
            "path": f"/x/{c}.ipynb",
            "created_at": "2026-01-01T00:00:00+00:00",
            "version": 3,
            "views": 4,
            "max_views": 9,
            "expires_at": None,
            "protected": False,
            "checked_at": "2026-01-02T00:00:00+00:00",
        }
        for c in "AB"
    ]
    cli.history_file.parent.mkdir(parents=True)
    cli.history_file.write_text(json.dumps(entries))
    r = cli.ok("list")
    for e in entries:
        row = next(line for line in r.stdout.splitlines() if e["url"] in line)
        assert re.search(r"│ never\s+│ 4/9\s+│ 3\s+│ saved 2026-01-02 00:00 │", row), row
    notes = [line for line in r.stderr.splitlines() if "Cannot reach" in line]
    assert len(notes) == 1, r.stderr  # said once, not once per share
    assert down in notes[0] and "2 shares" in notes[0]
    listed = json.loads(cli.ok("list", "--json").stdout)
    assert [e["status"] for e in listed] == ["unreachable", "unreachable"]
    assert all("owner_token" not in e for e in listed)
    r = cli.ok("list", "--prune")  # unreachable is not gone: nothing forgotten
    assert len(cli.history()) == 2


# --- update, set, versions ----------------------------------------------------------------


def test_update_keeps_the_link_and_bumps_the_version(server, cli, tmp_path):
    # Against the real server: its log is searched for these ids, tokens and paths at the end.
    path = notebook_titled(tmp_path, "First draft")
    answer = cli.publish(server.url, path=path)
    url, share_id = answer["url"], answer["id"]
    second = notebook_titled(tmp_path, "Final version", name="final.ipynb")

    r = cli.ok("update", url, second)
    assert r.stdout == f"{url}\n"
    assert "version 2" in r.stderr
    info = httpx.get(api(server, share_id), timeout=30).json()
    assert (info["version"], info["title"], info["filename"]) == (2, "Final version", "final.ipynb")
    assert "Final version" in httpx.get(url, timeout=30).text
    entry = cli.history()[0]
    assert (entry["version"], entry["title"], entry["path"]) == (2, "Final version", str(second))

    r = cli.ok("update", share_id, path, "--json")
    assert json.loads(r.stdout)["version"] == 3
    versions = json.loads(cli.ok("versions", url, "--json").stdout)
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, False), (3, True)]
    r = cli.ok("versions", url)
    assert f"{url}/v/3" in r.stdout and "(current)" in r.stdout
    r = cli.ok("delete", url, "--version", "1", "--yes")
    assert [v["version"] for v in json.loads(cli.ok("versions", url, "--json").stdout)] == [2, 3]

    assert_one_error_line(
        cli("update", share_id, second, "--token-stdin", "--server", server.url, input="x" * 43 + "\n"),
        "does not match",
        "HTTP 403",
    )
    assert_one_error_line(
        cli("update", "A" * 24, second, "--token-stdin", "--server", server.url, input="x" * 43 + "\n"),
        "does not exist",
        "HTTP 404",
    )
    assert_one_error_line(cli("update", "B" * 24, second, "--server", server.url), "--token-stdin")
    assert_one_error_line(cli("update", url, tmp_path / "missing.ipynb"), "No such file")


def test_set_changes_password_expiry_views_and_versions(server, cli):
    password, new_password = "first secret", "second secret"
    SEEN.passwords.update({password, new_password})
    answer = cli.publish(server.url, "--password-stdin", input=password + "\n")
    url, share_id = answer["url"], answer["id"]
    assert httpx.get(url, timeout=30).status_code == 401

    r = cli.ok("set", url, "--no-password")
    assert "Password:         no" in r.stdout
    assert httpx.get(url, timeout=30).status_code == 200  # public now
    assert cli.listing()[share_id]["protected"] is False

    r = cli.ok("set", share_id, "--expires", "2d", "--max-views", "5", "--public-versions", "--json")
    shown = json.loads(r.stdout)
    expires = datetime.fromisoformat(shown["expires_at"])
    assert timedelta(hours=47) < expires - datetime.now(UTC) <= timedelta(days=2)
    assert (shown["max_views"], shown["views"], shown["versions_public"]) == (5, 0, True)
    assert shown["discoverable"] is False
    assert "token" not in r.stdout
    info = owner_info(server, cli, share_id)
    assert (info["max_views"], info["versions_public"]) == (5, True)

    r = cli.ok("set", url, "--discoverable")
    assert "Search engines:   may index it" in r.stdout
    assert owner_info(server, cli, share_id)["discoverable"] is True
    cli.ok("set", url, "--not-discoverable")
    assert owner_info(server, cli, share_id)["discoverable"] is False

    r = cli.ok("set", share_id, "--no-max-views", "--expires", "never", "--private-versions")
    info = owner_info(server, cli, share_id)
    assert (info["max_views"], info["expires_at"], info["versions_public"]) == (None, None, False)
    assert "Expires:          never" in r.stdout

    cli.ok("set", url, "--password-stdin", input=new_password + "\n")
    assert_locked(server, answer, new_password)
    assert unlock(server, share_id, password).status_code == 401
    cli.ok("set", url, "--password", env={"NBSHARE_PASSWORD": password})  # --password takes the variable
    assert_locked(server, answer, password)

    assert_one_error_line(cli("set", url), "Nothing to change")
    assert_one_error_line(cli("set", url, "--expires", "later"), "Cannot read the expiry", "HTTP 400")
    assert_one_error_line(cli("set", url, "--no-password", "--password"), "Choose one")
    assert_one_error_line(cli("set", url, "--password-stdin", input="\n"), "No password")
    assert_one_error_line(cli("set", url, "--password-stdin", "--token-stdin", input="x\n"), "standard input")


def test_publishing_a_file_again_offers_to_update_it(server, cli, tmp_path):
    path = notebook_titled(tmp_path, "Again")
    first = cli.publish(server.url, path=path)

    # No terminal, no flag: a new share, and a note about the earlier one.
    r = cli.ok("publish", path, "--server", server.url)
    second_url = r.stdout.strip()
    assert re.fullmatch(URL_RE, second_url) and second_url != first["url"]
    assert "published analysis.ipynb before" in r.stderr and first["url"] in r.stderr
    SEEN.tokens.add(token_of(r.stderr.strip()))

    # --update: the latest share of this file gets a new version, at the same link.
    r = cli.ok("publish", path, "--server", server.url, "--update", "--expires", "3d")
    assert r.stdout == f"{second_url}\n"
    assert "version 2" in r.stderr
    info = owner_info(server, cli, second_url.rsplit("/", 1)[1])
    assert info["version"] == 2 and info["expires_at"] is not None
    password = "added while updating"
    SEEN.passwords.add(password)
    r = cli.ok("publish", path, "--server", server.url, "--update", "--password-stdin", input=password + "\n")
    assert r.stdout == f"{second_url}\n" and "version 3" in r.stderr
    assert_locked(server, {"url": second_url, "id": second_url.rsplit("/", 1)[1]}, password)

    # --new: another share, no question, no note.
    third = cli.publish(server.url, "--new", path=path)
    assert third["url"] not in (first["url"], second_url)
    assert len(cli.history()) == 3

    assert_one_error_line(cli("publish", path, "--server", server.url, "--update", "--new"), "Choose one")
    other = notebook_titled(tmp_path, "Never published", name="other.ipynb")
    assert_one_error_line(
        cli("publish", other, "--server", server.url, "--update"), "No earlier share", "--update"
    )


# --- purge ----------------------------------------------------------------------------------


def test_purge_deletes_expired_shares_and_their_blobs(server, cli, tmp_path):
    from nbshare.store import MetadataStore

    expired = cli.publish(server.url, "--expires", "1h")
    kept = cli.publish(server.url, "--new", "--expires", "1h")

    def blobs_of(share_id: str) -> list[Path]:
        return [p for p in (server.data_dir / "blobs").rglob("*") if share_id in str(p)]

    assert blobs_of(expired["id"])
    # Move one share's expiry into the past, as if an hour had gone by.
    store = MetadataStore(f"sqlite:///{server.data_dir / 'nbshare.db'}")
    try:
        assert store.update_share(expired["id"], expires_at=datetime.now(UTC) - timedelta(minutes=1))
    finally:
        store.close()

    r = cli.ok("purge", "--data-dir", server.data_dir)
    assert r.stdout == "Purged 1 expired share.\n"
    assert blobs_of(expired["id"]) == []
    assert blobs_of(kept["id"])
    assert httpx.get(expired["url"], timeout=30).status_code == 404
    assert httpx.get(kept["url"], timeout=30).status_code == 200

    nowhere = tmp_path / "no-server-here"
    assert_one_error_line(cli("purge", "--data-dir", nowhere), "No nbshare database", "--data-dir")
    assert not nowhere.exists()  # nothing created


def test_serve_purges_expired_shares_by_itself(tmp_path):
    """Nobody reads the expired share (a read would delete it on the spot): the purge that
    `nbshare serve` runs every purge_interval seconds must remove its rows and blobs."""
    from nbshare.store import MetadataStore

    live = start_server(tmp_path, env=clean_env(), NBSHARE_PURGE_INTERVAL="0.5")
    try:
        data = nb_bytes(minimal_notebook())
        doomed = [
            httpx.post(
                f"{live.url}/api/v1/shares",
                params={"expires": "1h"},
                content=data,
                headers=headers,
                timeout=60,
            ).json()
            for headers in ({}, {"X-Nbshare-Password": "correct horse"})
        ]
        kept = httpx.post(f"{live.url}/api/v1/shares", content=data, timeout=60).json()

        def blobs(share_id):
            return [p for p in (live.data_dir / "blobs").rglob("*") if share_id in str(p) and p.is_file()]

        assert all(blobs(d["id"]) for d in doomed)
        # Their hour passes at once: the database is moved, not the clock, so a slow upload on
        # a busy machine cannot let the expiry pass before the shares exist.
        store = MetadataStore(f"sqlite:///{live.data_dir / 'nbshare.db'}")
        try:
            for d in doomed:
                assert store.update_share(d["id"], expires_at=datetime.now(UTC) - timedelta(minutes=1))
        finally:
            store.close()
        # The log line comes after the last blob is deleted: wait for both, or a busy machine
        # can look between the two. The limit is a hang guard, not a measurement.
        deadline = time.monotonic() + 180
        while any(blobs(d["id"]) for d in doomed) or "purged" not in live.log():
            assert time.monotonic() < deadline, "the periodic purge never ran"
            time.sleep(0.25)
        store = MetadataStore(f"sqlite:///{live.data_dir / 'nbshare.db'}")
        try:
            assert all(store.get_share(d["id"]) is None for d in doomed)
            assert store.get_share(kept["id"]) is not None
        finally:
            store.close()
        assert blobs(kept["id"])
    finally:
        live.stop()


# --- help and secrets --------------------------------------------------------------------------


def test_secrets_stay_out_of_the_server_log_argv_and_urls(server, cli):
    # Other clients may put secrets in a URL: refused (400), and the values never logged.
    for path in (
        "/n/AbCdEfGhIjKlMnOpQrStUvWx?password=hunter2-in-a-url",
        "/api/v1/shares?token=tok-in-a-url&title=Secret+merger+plan",
    ):
        refused = httpx.request("GET" if path.startswith("/n/") else "POST", server.url + path, timeout=30)
        assert refused.status_code == 400 and "Never put a" in refused.text
    SEEN.passwords.add("hunter2-in-a-url")
    SEEN.tokens.add("tok-in-a-url")
    # A last request whose log line proves everything before it has been written.
    answer = cli.publish(server.url)
    cli.ok("delete", answer["url"], "--yes")
    deadline = time.monotonic() + 10
    while f"DELETE /api/v1/shares/{answer['id'][:4]}…" not in server.log():
        assert time.monotonic() < deadline, f"no redacted DELETE line in the log:\n{server.log()}"
        time.sleep(0.1)
    log = server.log()
    kinds = {"passwords": SEEN.passwords, "tokens": SEEN.tokens, "grants": SEEN.grants}
    assert all(kinds.values()), kinds
    for kind, secrets in kinds.items():
        for secret in secrets:
            assert secret not in log, f"a {kind[:-1]} is in the server log"
            assert not any(secret in arg for argv in SEEN.argvs for arg in argv), f"a {kind[:-1]} is in argv"
    assert "Secret+merger+plan" not in log and "?password=…" in log
    requests = re.findall(r'"([A-Z]+ \S+) HTTP/1\.1"', log)
    assert any(r.startswith("PATCH ") for r in requests) and any("expires=" in r for r in requests)
    ours = {"GET /n/AbCd…?password=…", "POST /api/v1/shares?token=…&title=…"}  # sent above
    assert ours <= set(requests)
    for request in set(requests) - ours:  # the CLI's own
        assert not re.search(r"[?&](password|token|owner_token|grant)=", request), request
