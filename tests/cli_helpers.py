# ruff: noqa: S603  (tests run this package's own program)
"""Running `nbshare` in tests: as a real program (`python -m nbshare`, a subprocess), or in
process with click's CliRunner against the in-process app. Both give a
subprocess.CompletedProcess, so the same assertions read either.

Every run has a private history and config file (its own XDG_DATA_HOME and XDG_CONFIG_HOME)
and no NBSHARE_* setting from the test's environment. A test module takes the in-process
fixtures by importing them (`from cli_helpers import app_cli, app_server`). What a test
module handed the CLI or got back (ids, owner tokens, passwords, grants, command lines) is
collected in a `Seen`, for the tests that look for secrets in a real server's log."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from click.testing import CliRunner
from fastapi.testclient import TestClient

from helpers import FIXTURES, TEST_HOSTS, clean_env
from nbshare.cli import Connections, main

NOTEBOOK = FIXTURES / "headings.ipynb"
# The in-process app answers with links to the name Starlette's TestClient sends as Host.
APP_URL = f"http://{TEST_HOSTS}"
UPLOAD_LIMIT = 5 * 1024 * 1024  # as helpers.start_server gives the real server


def share_url_re(server_url: str) -> str:
    """A share link of `server_url`, as a regular expression."""
    return server_url.replace(".", r"\.") + r"/n/[A-Za-z0-9_-]{24}"


@dataclass
class Seen:
    ids: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    passwords: set[str] = field(default_factory=set)
    grants: set[str] = field(default_factory=set)
    argvs: list[list[str]] = field(default_factory=list)

    def published(self, answer: dict) -> None:
        self.ids.add(answer["id"])
        self.tokens.add(token_of(answer["manage_url"]) if "manage_url" in answer else answer["owner_token"])


def token_of(manage_url: str) -> str:
    token = manage_url.split("#token=", 1)[1]
    assert len(token) >= 40
    return token


def assert_one_error_line(r: subprocess.CompletedProcess, *fragments: str) -> str:
    """An expected failure: status 1, nothing on stdout, one `Error: ...` line on stderr."""
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stdout == "", r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


class Cli:
    """`nbshare ...` as a real program, with a private history; remembers every argv."""

    def __init__(self, data_home: Path, seen: Seen, *, columns: int = 80, config_home: Path | None = None):
        self.data_home, self.seen, self.columns = data_home, seen, columns
        self._config_home = config_home

    @property
    def history_file(self) -> Path:
        return self.data_home / "nbshare" / "published.json"

    @property
    def config_home(self) -> Path:
        """XDG_CONFIG_HOME: the config file is config_home/nbshare/config.toml."""
        return self._config_home or self.data_home / "config"

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(
            self.columns, XDG_DATA_HOME=str(self.data_home), XDG_CONFIG_HOME=str(self.config_home), **extra
        )

    def argv(self, *args) -> list[str]:
        argv = [sys.executable, "-m", "nbshare", *map(str, args)]
        self.seen.argvs.append(argv)
        return argv

    def __call__(
        self,
        *args,
        input: str | None = None,
        env: dict | None = None,
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(*args),
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env(**(env or {})),
            stdin=None if input is not None else subprocess.DEVNULL,
        )

    def ok(self, *args, **kw) -> subprocess.CompletedProcess:
        r = self(*args, **kw)
        assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr, r.stderr
        return r

    def publish(self, server_url: str, *extra, path: Path = NOTEBOOK, **kw) -> dict:
        """`publish --json`: its one object, whose id and owner token are remembered as seen."""
        r = self.ok("publish", path, "--server", server_url, "--json", *extra, **kw)
        assert len(r.stdout.splitlines()) == 1, r.stdout
        answer = json.loads(r.stdout)
        self.seen.published(answer)
        return answer

    def history(self) -> list[dict]:
        return json.loads(self.history_file.read_text())

    def listing(self) -> dict[str, dict]:
        """`list --json` by id, checked to carry no owner token or manage link."""
        r = self.ok("list", "--json")
        assert "owner_token" not in r.stdout and "manage_url" not in r.stdout
        for token in self.seen.tokens:
            assert token not in r.stdout
        return {e["id"]: e for e in json.loads(r.stdout)}


@dataclass
class AppServer:
    """The in-process app, where a test would otherwise start `nbshare serve`."""

    url: str
    data_dir: Path
    http: TestClient

    def blob_paths_of(self, share_id: str) -> list[Path]:
        return [p for p in (self.data_dir / "blobs").rglob("*") if share_id in str(p)]

    def publish_via_api(self, data: bytes) -> dict:
        """A share published elsewhere: in no CLI history."""
        r = self.http.post(
            "/api/v1/shares",
            params={"filename": "elsewhere.ipynb"},
            content=data,
            headers={"Content-Type": "application/x-ipynb+json"},
        )
        assert r.status_code == 201, r.text
        return r.json()


class AppCli(Cli):
    """The same commands run in process by CliRunner, every request going to `server`'s app
    through its transport (no socket). Standard input is not a terminal, as for `Cli`."""

    def __init__(self, data_home: Path, seen: Seen, server: AppServer, *, columns: int = 80):
        super().__init__(data_home, seen, columns=columns)
        self.server = server

    def __call__(
        self,
        *args,
        input: str | None = None,
        env: dict | None = None,
    ) -> subprocess.CompletedProcess:
        argv = self.argv(*args)
        unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("NBSHARE_")}
        environ = {
            **unset,
            "COLUMNS": str(self.columns),
            "XDG_DATA_HOME": str(self.data_home),
            "XDG_CONFIG_HOME": str(self.config_home),
            **(env or {}),
        }
        transport: httpx.BaseTransport = self.server.http._transport  # the TestClient's, to the app
        result = CliRunner().invoke(
            main, argv[3:], input=input, env=environ, obj=Connections(transport), catch_exceptions=False
        )
        return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, result.stderr)


class Terminal:
    """A command on a pseudo-terminal (its own session: getpass reads this terminal, never
    the one running the tests), driven like `expect`."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.master, replica = os.openpty()
        self.process = subprocess.Popen(
            argv, stdin=replica, stdout=replica, stderr=replica, env=env, start_new_session=True
        )
        os.close(replica)
        self.output = b""
        self.seen = 0

    def _read(self, deadline: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:  # EIO: the program closed the terminal
            return b""

    def expect(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while (at := self.output.find(text.encode(), self.seen)) < 0:
            data = self._read(deadline)
            if not data:
                got = self.output.decode(errors="replace")
                raise AssertionError(f"no {text!r} on the terminal; got {got!r}")
            self.output += data
        self.seen = at + len(text)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while data := self._read(deadline):
            self.output += data
        code = self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.master)
        return code, self.output.decode(errors="replace").replace("\r\n", "\n")
