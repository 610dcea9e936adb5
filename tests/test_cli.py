# ruff: noqa: S603, S607  (tests run this package's own programs)
"""The `nbshare` command: in process against the in-process app (CliRunner), and as a real
program against a real server on loopback for what needs one (the link served over HTTP,
a terminal, the server's log, errors of the network).

One server process serves the whole module (starting one warms render workers, which
takes seconds). Every CLI call has its own XDG_DATA_HOME, so each test has a private
history file. cli_helpers.py runs the commands either way.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from cli_helpers import (
    APP_URL,
    NOTEBOOK,
    Cli,
    Seen,
    assert_one_error_line,
    share_url_re,
    token_of,
)
from helpers import clean_env, free_port, minimal_notebook, nb_bytes
from nbshare.cli import main

BIN = Path(sys.prefix) / "bin"
URL_RE = r"http://127\.0\.0\.1:\d+/n/[A-Za-z0-9_-]{24}"
APP_URL_RE = share_url_re(APP_URL)
# Every secret the module saw, checked against the real server's log by the last test.
SEEN = Seen()


@pytest.fixture
def seen() -> Seen:
    """The in-process runs record into the module's SEEN too."""
    return SEEN


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "xdg", SEEN)


# --- publish --------------------------------------------------------------------------


@pytest.mark.slow
def test_publish_prints_exactly_the_link_which_works(server, cli, tmp_path):
    nb = tmp_path / "analysis.ipynb"
    nb.write_bytes(NOTEBOOK.read_bytes())
    r = cli("publish", nb, "--server", server.url)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(URL_RE + r"\n", r.stdout), r.stdout
    url = r.stdout.strip()
    assert url.startswith(f"{server.url}/n/")
    # The manage link (a secret) goes to stderr: `URL=$(nbshare publish ...)` gets the link alone.
    assert r.stderr.startswith(f"Manage (keep private): {url}/manage#token="), r.stderr
    SEEN.ids.add(url.rsplit("/", 1)[1])
    SEEN.tokens.add(token_of(r.stderr.strip()))

    page = httpx.get(url, timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    download = httpx.get(f"{url}.ipynb", timeout=30)
    assert download.status_code == 200
    assert download.content == nb.read_bytes()


def test_publish_json_prints_one_object(app_server, app_cli):
    r = app_cli("publish", NOTEBOOK, "--server", app_server.url, "--json")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1, r.stdout
    answer = json.loads(r.stdout)
    assert isinstance(answer, dict)
    assert re.fullmatch(APP_URL_RE, answer["url"])
    assert answer["url"] == f"{app_server.url}/n/{answer['id']}"
    assert answer["manage_url"].startswith(f"{answer['url']}/manage#token=")
    assert "owner_token" not in answer  # the token is in manage_url's fragment, once
    app_cli.seen.published(answer)
    assert app_server.http.get(f"{app_server.url}/api/v1/shares/{answer['id']}").status_code == 200


def test_server_comes_from_env_and_title_from_flag(app_server, app_cli):
    title = "Q3 churn analysis"
    r = app_cli("publish", NOTEBOOK, "--title", title, "--json", env={"NBSHARE_SERVER": app_server.url})
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    app_cli.seen.published(answer)
    assert answer["url"].startswith(f"{app_server.url}/n/")
    assert answer["title"] == title
    info = app_server.http.get(f"{app_server.url}/api/v1/shares/{answer['id']}").json()
    assert info["title"] == title
    assert title in app_server.http.get(answer["url"]).text


# --- history and list -----------------------------------------------------------------


def test_list_shows_shares_and_the_history_file_is_private(app_server, app_cli):
    cli = app_cli
    first = cli.publish(app_server.url)
    second = cli.publish(app_server.url, "--title", "Second")

    r = cli("list")
    assert r.returncode == 0, r.stderr
    for answer in (first, second):
        assert answer["url"] in r.stdout  # whole, not cut to fit 80 columns
    assert "Second" in r.stdout

    r = cli("list", "--json")
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert [e["id"] for e in listed] == [first["id"], second["id"]]
    assert "owner_token" not in r.stdout
    for answer in (first, second):
        assert token_of(answer["manage_url"]) not in r.stdout

    path = cli.history_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = {e["id"]: e for e in cli.history()}
    for answer in (first, second):
        assert saved[answer["id"]]["owner_token"] == token_of(answer["manage_url"])
        assert saved[answer["id"]]["server"] == app_server.url


def test_publish_still_prints_the_link_when_history_is_unreadable(app_server, app_cli):
    cli = app_cli
    cli.history_file.parent.mkdir(parents=True)
    cli.history_file.write_text("{not json")
    r = cli("publish", NOTEBOOK, "--server", app_server.url)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert re.fullmatch(APP_URL_RE + r"\n", r.stdout), r.stdout
    assert "Warning: not saved to your history" in r.stderr
    assert "/manage#token=" in r.stderr  # the only remaining way to delete the share
    cli.seen.ids.add(r.stdout.strip().rsplit("/", 1)[1])
    cli.seen.tokens.add(token_of(r.stderr.split()[-1]))


# --- delete ---------------------------------------------------------------------------


def test_delete_by_url_removes_page_history_entry_and_blobs(app_server, app_cli):
    cli = app_cli
    answer = cli.publish(app_server.url)
    share_id, url = answer["id"], answer["url"]
    assert app_server.blob_paths_of(share_id), "expected the share's blobs under data_dir/blobs"

    r = cli("delete", url, "--yes")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Deleted {share_id}.\n"

    assert app_server.http.get(url).status_code == 404
    assert app_server.http.get(f"{url}.ipynb").status_code == 404
    assert app_server.http.get(f"{app_server.url}/api/v1/shares/{share_id}").status_code == 404
    assert app_server.blob_paths_of(share_id) == []

    r = cli("list")
    assert r.returncode == 0 and url not in r.stdout and share_id[:8] not in r.stdout
    assert json.loads(cli("list", "--json").stdout) == []
    assert token_of(answer["manage_url"]) not in cli.history_file.read_text()


def test_delete_with_token_on_stdin_for_a_share_not_in_history(app_server, app_cli):
    cli = app_cli
    answer = app_server.publish_via_api(NOTEBOOK.read_bytes())
    share_id, token = answer["id"], answer["owner_token"]

    wrong = cli("delete", share_id, "--token-stdin", "--server", app_server.url, input="x" * 43 + "\n")
    assert_one_error_line(wrong, "does not match", "HTTP 403")
    assert app_server.http.get(answer["url"]).status_code == 200  # still there

    r = cli("delete", share_id, "--token-stdin", "--server", app_server.url, input=token + "\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Deleted {share_id}.\n"
    assert app_server.http.get(answer["url"]).status_code == 404
    assert app_server.blob_paths_of(share_id) == []
    assert not any(token in arg for argv in cli.seen.argvs for arg in argv)


def test_delete_by_url_with_token_stdin_finds_the_server_in_the_url(app_server, app_cli):
    answer = app_server.publish_via_api(nb_bytes(minimal_notebook()))
    r = app_cli("delete", answer["url"], "--token-stdin", input=answer["owner_token"] + "\n")
    assert r.returncode == 0, r.stderr
    assert app_server.http.get(answer["url"]).status_code == 404


# --- errors: one line, no traceback ---------------------------------------------------


def test_error_when_the_server_is_down(cli):
    down = f"http://127.0.0.1:{free_port()}"
    r = cli("publish", NOTEBOOK, "--server", down)
    assert_one_error_line(r, "Cannot reach the nbshare server", down)
    assert not cli.history_file.exists()


@pytest.fixture
def not_nbshare():
    """Some other web server on loopback: an HTML page for every GET and POST, HTML errors
    for /missing, like a mistyped --server or a captive proxy."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = 404 if self.path.startswith("/missing") else 200
            body = b"<!DOCTYPE html>\n<html><body>\n<h1>Welcome to nginx!</h1>\n</body></html>\n"
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = answer

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_error_when_the_server_is_not_an_nbshare_server(cli, not_nbshare):
    r = cli("publish", NOTEBOOK, "--server", not_nbshare)
    assert_one_error_line(r, not_nbshare, "text/html", "is --server (or NBSHARE_SERVER) an nbshare server?")
    assert not cli.history_file.exists()
    r = cli("clone", f"{not_nbshare}/missing/n/{'A' * 24}", "--no-env")
    line = assert_one_error_line(r, "The server refused: Not Found (HTTP 404)")
    assert "<" not in line


def test_error_when_the_file_is_missing(cli, tmp_path):
    r = cli("publish", tmp_path / "nope.ipynb", "--server", "http://127.0.0.1:9")
    assert_one_error_line(r, "No such file", "nope.ipynb")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("notes.txt", b"just some notes\n", "not valid JSON"),
        ("garbage.ipynb", bytes(range(256)) * 16, "UTF-8"),
        ("list.ipynb", b"[1, 2, 3]", "HTTP 4"),
    ],
)
def test_error_when_the_file_is_not_a_notebook(app_server, app_cli, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    r = app_cli("publish", path, "--server", app_server.url)
    line = assert_one_error_line(r, "The server refused:", expected)
    assert re.search(r"\(HTTP 4\d\d\)$", line), line
    assert not app_cli.history_file.exists()


def test_error_when_the_file_is_too_large(app_server, app_cli, tmp_path):
    path = tmp_path / "huge.ipynb"
    path.write_bytes(b" " * (6 * 1024 * 1024))
    r = app_cli("publish", path, "--server", app_server.url)
    assert_one_error_line(r, "larger than", "5 MB", "HTTP 413")


def test_error_when_deleting_an_unknown_share(app_server, app_cli):
    unknown = "A" * 24
    r = app_cli("delete", unknown, "--token-stdin", "--server", app_server.url, input="x" * 43 + "\n")
    assert_one_error_line(r, "does not exist", "HTTP 404")
    # Without a token, nothing is even sent.
    assert_one_error_line(app_cli("delete", unknown, "--server", app_server.url), "--token-stdin")


def test_error_when_the_link_is_not_an_nbshare_link(cli):
    assert_one_error_line(cli("delete", "https://example.org/x/y", "--yes"), "not an nbshare link")


# --- progress bar (TTY only, files over 1 MB) -----------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not shutil.which("script"),
    reason="needs util-linux `script` for a pseudo-terminal",
)
def test_progress_bar_only_on_a_terminal(server, cli, tmp_path):
    nb = minimal_notebook(padding="x" * (1536 * 1024))  # 1.5 MB that renders fast
    path = tmp_path / "big.ipynb"
    path.write_bytes(nb_bytes(nb))
    # In a terminal, as in `URL=$(nbshare publish big.ipynb)`: stdout is captured, stderr a TTY.
    out = tmp_path / "stdout.txt"
    argv = [sys.executable, "-m", "nbshare", "publish", str(path), "--server", server.url]
    command = f"{shlex.join(argv)} > {shlex.quote(str(out))}"
    tty = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli.env(),
        stdin=subprocess.DEVNULL,
    )
    assert tty.returncode == 0, tty.stdout
    assert "Uploading big.ipynb" in tty.stdout
    # Once every byte is sent, a spinner says the server is rendering, not "1.6/1.6 MB".
    assert re.search(r"Rendering big\.ipynb on the server .*\d\.\d MB sent, \d+ s", tty.stdout)
    assert "Manage (keep private)" in tty.stdout
    assert re.fullmatch(URL_RE + r"\n", out.read_text()), out.read_text()  # the link, alone
    SEEN.ids.add(out.read_text().strip().rsplit("/", 1)[1])
    SEEN.tokens.update(re.findall(r"#token=([A-Za-z0-9_-]+)", tty.stdout))

    piped = cli("publish", path, "--server", server.url)
    assert piped.returncode == 0, piped.stderr
    assert "Uploading" not in piped.stderr and "\x1b[" not in piped.stderr + piped.stdout
    assert re.fullmatch(URL_RE + r"\n", piped.stdout), piped.stdout
    SEEN.ids.add(piped.stdout.strip().rsplit("/", 1)[1])
    SEEN.tokens.add(token_of(piped.stderr.strip()))


# --- secrets --------------------------------------------------------------------------


@pytest.mark.slow
def test_secrets_stay_out_of_the_server_log_and_argv(server, cli):
    answer = cli.publish(server.url)
    assert cli("list").returncode == 0
    assert cli("delete", answer["url"], "--yes").returncode == 0
    share_id, token = answer["id"], token_of(answer["manage_url"])

    deadline = time.monotonic() + 10
    while f"DELETE /api/v1/shares/{share_id[:4]}…" not in server.log():
        assert time.monotonic() < deadline, f"no redacted DELETE line in the log:\n{server.log()}"
        time.sleep(0.1)
    log = server.log()
    for secret in SEEN.tokens | {token}:
        assert secret not in log
    for full_id in SEEN.ids | {share_id}:
        assert full_id not in log
        assert full_id[:8] not in log
    assert not any(token in arg for argv in SEEN.argvs for arg in argv)


def test_no_option_takes_a_secret_on_the_command_line():
    for name, command in main.commands.items():
        for param in command.params:
            if any(word in (param.name or "") for word in ("token", "password", "grant", "secret")):
                assert isinstance(param, click.Option) and param.is_flag, (
                    f"{name} {param.opts} would put a secret in argv"
                )


# --- no server needed -----------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
def test_every_command_has_help_with_a_runnable_example(command):
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    example = result.output.split("Example:", 1)[1].strip().splitlines()[0].strip()
    words = shlex.split(example)
    assert words[0] == "nbshare", example
    assert words[1] in main.commands, example
    if command:
        assert words[1] == command, example
    # The example parses: right command, known options, right number of arguments.
    sub = main.commands[words[1]]
    sub.make_context(words[1], words[2:])


def test_console_scripts_are_installed():
    for script in ("nbshare", "jupyter-nbshare"):
        path = BIN / script
        assert path.is_file() and os.access(path, os.X_OK), path
        r = subprocess.run([str(path), "--help"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "Example:" in r.stdout
        for sub in ("publish", "list", "delete", "serve"):
            assert sub in r.stdout


@pytest.mark.skipif(not (BIN / "jupyter").exists(), reason="jupyter_core's `jupyter` is absent")
def test_jupyter_nbshare_subcommand():
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    r = subprocess.run(
        [str(BIN / "jupyter"), "nbshare", "--help"], capture_output=True, text=True, timeout=60, env=env
    )
    assert r.returncode == 0, r.stderr
    assert "Example:" in r.stdout


def test_version():
    from nbshare import __version__

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_list_with_no_history(tmp_path):
    result = CliRunner().invoke(main, ["list"], env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.exit_code == 0
    assert "Nothing published yet" in result.output
    result = CliRunner().invoke(main, ["list", "--json"], env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_list_with_a_corrupt_history_file(tmp_path):
    (tmp_path / "nbshare").mkdir()
    (tmp_path / "nbshare" / "published.json").write_text("{oops")
    result = CliRunner().invoke(main, ["list"], env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert result.output.startswith("Error: Cannot read ")
    assert len(result.output.splitlines()) == 1


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("NBSHARE_PORT", "abc", "NBSHARE_PORT must be an integer, got 'abc'"),
        ("NBSHARE_RENDER_TIMEOUT", "soon", "NBSHARE_RENDER_TIMEOUT must be a number"),
        ("NBSHARE_MAX_UPLOAD_BYTES", "0", "must be positive"),
    ],
)
def test_serve_refuses_a_bad_setting_with_one_line(tmp_path, variable, value, expected):
    env = clean_env(**{variable: value, "XDG_DATA_HOME": str(tmp_path)})
    argv = [sys.executable, "-m", "nbshare", "serve", "--data-dir", str(tmp_path / "d")]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert_one_error_line(r, expected)
    assert not (tmp_path / "d").exists()  # refused before touching anything


@pytest.mark.parametrize(
    ("size", "cli", "page", "limit"),
    [
        (0, "0 bytes", "0 bytes", "0 bytes"),
        (1023, "1023 bytes", "1023 bytes", "1023 bytes"),
        (1536, "1.5 KB", "1.5 KB", "1.5 KB"),
        (5 * 1024 * 1024, "5.0 MB", "5.0 MB", "5 MB"),
        (3 * 1024**3, "3072.0 MB", "3.0 GB", "3 GB"),
    ],
)
def test_sizes_read_as_each_place_has_always_shown_them(size, cli, page, limit):
    """One formatter, three habits kept: the CLI stops at MB, limits drop a '.0'."""
    from nbshare.bundle.archive import format_size
    from nbshare.text import human_size

    assert human_size(size, largest="MB") == cli
    assert human_size(size) == page  # as the pages call it
    assert format_size(size) == limit


def test_times_read_in_utc_and_expiry_relative_within_two_days():
    from datetime import UTC, datetime, timedelta

    from nbshare.text import expiry_text, human_time

    assert human_time("2026-11-22T11:30:00+01:00") == "2026-11-22 10:30"
    assert human_time("not a time") == "not a time"
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    soon = (now + timedelta(minutes=59, seconds=30)).isoformat()
    assert expiry_text(soon, now=now) == "2026-11-22 10:59 UTC (in 59m)"
    assert expiry_text(soon, short=True, now=now) == "in 59m"
    later = (now + timedelta(days=3)).isoformat()
    assert expiry_text(later, short=True, now=now) == "2026-11-25 10:00"
    assert expiry_text((now - timedelta(seconds=1)).isoformat(), now=now) == "expired"
