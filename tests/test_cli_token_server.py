"""An owner token goes only to the server it came from (issue 10, item 6).

`NBSHARE_SERVER=http://other nbshare delete http://real/n/ID` once sent the real share's owner
token to `other`. Here `other` is a recording server written in the test, on loopback: every
owner command is run with it as NBSHARE_SERVER against a share of a real server, and it must
never be asked anything."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from cli_helpers import Cli, Seen
from helpers import minimal_notebook, nb_bytes, serve_in_thread

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@pytest.fixture
def other():
    """A server that records every request (method, path, headers) and knows no share."""
    seen: list[tuple[str, str, dict]] = []

    async def record(request):
        seen.append((request.method, request.url.path, dict(request.headers)))
        return JSONResponse({"error": {"code": "not_found", "message": "No such share."}}, status_code=404)

    app = Starlette(routes=[Route("/{path:path}", record, methods=METHODS)])
    with serve_in_thread(app) as url:
        yield url, seen


def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "xdg", Seen())


def nbshare(tmp_path: Path, *args, other_url: str, input: str | None = None):
    """`nbshare ARGS` with NBSHARE_SERVER naming `other_url`."""
    return cli(tmp_path)(*args, input=input, env={"NBSHARE_SERVER": other_url})


def published(server, tmp_path: Path, other_url: str) -> tuple[dict, str]:
    notebook = tmp_path / "nb.ipynb"
    notebook.write_bytes(nb_bytes(minimal_notebook()))
    answer = cli(tmp_path).publish(server.url, path=notebook, env={"NBSHARE_SERVER": other_url})
    return answer, answer["manage_url"].split("#token=", 1)[1]


def test_every_owner_command_given_a_share_url_talks_to_that_urls_server(server, other, tmp_path):
    other_url, seen = other
    answer, token = published(server, tmp_path, other_url)
    url, share_id = answer["url"], answer["id"]
    notebook = tmp_path / "nb.ipynb"

    for args in (
        ["versions", url, "--json"],
        ["set", url, "--expires", "7d", "--json"],
        ["update", url, notebook, "--json"],
        ["versions", share_id, "--json"],
    ):
        r = nbshare(tmp_path, *args, other_url=other_url)
        assert r.returncode == 0, (args, r.stderr)
    versions = nbshare(tmp_path, "versions", url, "--json", other_url=other_url)
    assert [v["version"] for v in json.loads(versions.stdout)] == [1, 2]  # the update reached it
    deleted = nbshare(tmp_path, "delete", url, "--yes", other_url=other_url)
    assert deleted.returncode == 0, deleted.stderr
    assert httpx.get(f"{server.url}/api/v1/shares/{share_id}", timeout=30).status_code == 404
    assert seen == []  # the other server was never asked anything, let alone given the token


def test_a_token_is_not_sent_to_a_server_it_did_not_come_from(server, other, tmp_path):
    other_url, seen = other
    answer, token = published(server, tmp_path, other_url)
    share_id = answer["id"]
    for args in (
        ["delete", f"{other_url}/n/{share_id}", "--yes"],
        ["versions", f"{other_url}/n/{share_id}"],
        ["set", f"{other_url}/n/{share_id}", "--expires", "1d"],
    ):
        r = nbshare(tmp_path, *args, other_url=server.url)
        assert r.returncode == 1, r.stderr
        assert "only ever sent to its own server" in r.stderr
        assert "--token-stdin" in r.stderr
    assert not any(token in json.dumps(headers) for _, _, headers in seen)
    assert seen == []
    assert httpx.get(f"{server.url}/api/v1/shares/{share_id}", timeout=30).status_code == 200


def test_a_token_given_on_stdin_goes_to_the_server_the_link_names(server, other, tmp_path):
    """Asked for explicitly, with the other server's link: that server gets that token."""
    other_url, seen = other
    r = nbshare(
        tmp_path,
        "delete",
        f"{other_url}/n/{'a' * 24}",
        "--yes",
        "--token-stdin",
        other_url=server.url,
        input="typed-token\n",
    )
    assert r.returncode == 1  # the recording server knows no share
    assert [(method, path) for method, path, _ in seen] == [("DELETE", f"/api/v1/shares/{'a' * 24}")]
    assert seen[0][2]["authorization"] == "Bearer typed-token"
