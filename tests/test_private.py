"""Private and ephemeral shares, through the in-process app on a controllable clock:
passwords and grants, encryption at rest, throttling, expiry, view limits, updates,
versions, purge and delete."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from helpers import (
    PUBLIC_URL,
    TEST_HOSTS,
    Clock,
    as_owner,
    code,
    markdown,
    minimal_notebook,
    nb_bytes,
    published,
    stored_state,
    update,
)
from nbshare.app import create_app
from nbshare.security import crypto, grants
from nbshare.security.lanes import Lane, SlowLanes
from nbshare.security.throttle import GuessThrottle, TooManyAttempts
from nbshare.settings import Settings
from nbshare.shares import VIEW_LIFETIME
from nbshare.store import MetadataStore
from nbshare.views.common import GRANT_HEADER, PASSWORD_HEADER

MARKER = "Zebrå-q7Xk2-secret"  # non-ASCII, so its JSON-escaped form differs from its UTF-8
PASSWORD = "hunter2-Vq8#long-pass"  # noqa: S105
NEW_PASSWORD = "second-Pw9!rotation"  # noqa: S105
WRONG = "not-the-password-1"
GONE = "does not exist or has expired"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def app(settings, renderer, clock):  # overrides conftest's: every app here runs on `clock`
    return create_app(settings, renderer=renderer, clock=clock)


@pytest.fixture
def visitor(app):
    """A second browser: its own cookie jar and address."""
    return TestClient(app, client=("10.0.0.9", 40000))


def app_with(tmp_path, renderer, clock, **overrides):
    settings = Settings(data_dir=tmp_path / "d", public_url=PUBLIC_URL, allowed_hosts=TEST_HOSTS, **overrides)
    return create_app(settings, renderer=renderer, clock=clock)


def secret_notebook(marker: str = MARKER) -> dict:
    """The marker in the title, a markdown cell, a code cell and an output."""
    nb = minimal_notebook(title=f"Notes {marker}")
    nb["cells"] = [
        markdown(f"# Heading {marker}\n\nText {marker}", "md"),
        code(
            f"print('{marker}')", "code", [{"output_type": "stream", "name": "stdout", "text": f"{marker}\n"}]
        ),
    ]
    return nb


SECRET = nb_bytes(secret_notebook())


def forms(text: str) -> list[bytes]:
    """How a string may appear in stored or served bytes: UTF-8, JSON-escaped, its ASCII core."""
    return [text.encode(), json.dumps(text)[1:-1].encode(), re.sub(r"[^\x20-\x7e]", "", text).encode()]


def reveals(blob: bytes, text: str = MARKER) -> bool:
    return any(form in blob for form in forms(text))


def shown(r) -> bytes:
    return r.content + str(r.headers).encode()


def create(client, data: bytes = SECRET, *, password: str | None = None, **params) -> dict:
    headers = {} if password is None else {PASSWORD_HEADER: password}
    params = {"title": f"T {MARKER}", **params}
    return published(client, data, f"{MARKER}.ipynb", headers=headers, **params)


def unlock(client, share_id: str, password: str):
    return client.post(f"/api/v1/shares/{share_id}/unlock", json={"password": password})


def grant_for(client, share_id: str, password: str = PASSWORD) -> str:
    r = unlock(client, share_id, password)
    assert r.status_code == 200, r.text
    return r.json()["grant"]


def owner_cookie(client, body: dict) -> str:
    """The owner-session cookie, as a Cookie header for another client."""
    r = client.post(f"/api/v1/shares/{body['id']}/owner-session", headers=as_owner(body))
    assert r.status_code == 204, r.text
    name = grants.cookie_name(body["id"], owner=True)
    return f"{name}={r.cookies[name]}"


def files_under(folder: Path) -> list[Path]:
    return [p for p in Path(folder).rglob("*") if p.is_file()]


# Everything a visitor can ask about one share; {id} is filled in.
PATHS = (
    "/n/{id}",
    "/n/{id}/content",
    "/n/{id}.ipynb",
    "/n/{id}/v/1",
    "/n/{id}/v/1/content",
    "/n/{id}/v/1.ipynb",
    "/n/{id}/manage",
    "/api/v1/shares/{id}",
    "/api/v1/shares/{id}/versions",
)


# --- passwords ------------------------------------------------------------------------------


def test_only_an_argon2id_hash_of_the_password_is_stored(client, app):
    body = create(client, password=PASSWORD)
    assert body["protected"] is True
    row = app.state.service.metadata.get_share(body["id"])[0]
    match = re.fullmatch(
        r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", row.password_hash
    )
    assert match, row.password_hash
    memory_kib, time_cost, lanes = map(int, match.groups())
    assert memory_kib >= 19 * 1024 and time_cost >= 2 and lanes >= 1
    assert PASSWORD not in str(row)


@pytest.mark.parametrize(
    "credential",
    [
        "none",
        "forged cookies",
        "wrong bearer",
        "wrong password",
        "other share's grant",
        "other share's owner session",
    ],
)
def test_without_the_right_password_no_path_reveals_any_content(client, credential):
    body = create(client, password=PASSWORD)
    share_id = body["id"]
    headers: dict[str, str] = {}
    if credential == "forged cookies":
        headers["Cookie"] = (
            f"{grants.cookie_name(share_id)}=AAAA; {grants.cookie_name(share_id, owner=True)}=AAAA"
        )
        headers[GRANT_HEADER] = crypto.b64(b"NBS1" + bytes(60))
    elif credential == "wrong bearer":
        headers["Authorization"] = "Bearer " + body["owner_token"][:-2] + "xx"
    elif credential == "wrong password":
        r = unlock(client, share_id, WRONG)
        assert r.status_code == 401 and "not right" in r.json()["error"]["message"]
        assert "set-cookie" not in r.headers and not reveals(shown(r))
    elif credential.startswith("other share"):
        other = create(client, password=PASSWORD)
        if credential == "other share's grant":
            stolen = grant_for(client, other["id"])
            headers[GRANT_HEADER] = stolen
            headers["Cookie"] = f"{grants.cookie_name(share_id)}={stolen}"
        else:
            value = owner_cookie(client, other).split("=", 1)[1]
            headers["Cookie"] = f"{grants.cookie_name(share_id, owner=True)}={value}"
        client.cookies.clear()
    for path in PATHS:
        r = client.get(path.format(id=share_id), headers=headers)
        assert r.status_code in (401, 403, 404) or path.endswith("/manage"), (path, r.status_code)
        assert not reveals(shown(r)), path
        assert SECRET not in r.content, path


def test_right_password_opens_every_path_and_later_loads_skip_argon2(client, monkeypatch):
    body = create(client, password=PASSWORD)
    share_id = body["id"]
    calls = {"check_password": 0, "password_key": 0}
    for name in calls:
        real = getattr(crypto, name)

        def counted(*args, _real=real, _name=name):
            calls[_name] += 1
            return _real(*args)

        monkeypatch.setattr(crypto, name, counted)
    r = unlock(client, share_id, PASSWORD)
    assert r.status_code == 200 and r.json()["expires_in"] == 12 * 3600
    assert r.headers["cache-control"] == "private, no-store"
    assert calls == {"check_password": 1, "password_key": 1}
    grant = r.json()["grant"]
    for _ in range(2):  # with the cookie the unlock set
        page = client.get(f"/n/{share_id}")
        assert page.status_code == 200 and f"T {MARKER}" in page.text and "Heading" in page.text
        content = client.get(f"/n/{share_id}/content")
        assert content.status_code == 200 and content.text.count(MARKER) >= 3
        download = client.get(f"/n/{share_id}.ipynb")
        assert download.content == SECRET
        for r in (page, content, download):
            assert r.headers["cache-control"] == "private, no-store", r.url
    client.cookies.clear()  # API clients send the grant in a header
    api = client.get(f"/api/v1/shares/{share_id}", headers={GRANT_HEADER: grant})
    assert api.json()["title"] == f"T {MARKER}" and api.json()["filename"] == f"{MARKER}.ipynb"
    assert api.headers["cache-control"] == "private, no-store"
    assert calls == {"check_password": 1, "password_key": 1}  # no Argon2 after the unlock


def test_unlock_form_sets_a_cookie_and_a_wrong_password_says_so(client):
    share_id = create(client, password=PASSWORD)["id"]
    wrong = client.post(f"/n/{share_id}/unlock", data={"password": WRONG})
    assert wrong.status_code == 401 and "That password is not right." in wrong.text
    assert wrong.headers["cache-control"] == "private, no-store" and not reveals(shown(wrong))
    right = client.post(f"/n/{share_id}/unlock", data={"password": PASSWORD}, follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == f"{PUBLIC_URL}/n/{share_id}"
    cookie = right.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert client.get(f"/n/{share_id}.ipynb").content == SECRET


def test_a_grant_expires_after_grant_lifetime(client, clock):
    share_id = create(client, password=PASSWORD)["id"]
    grant = grant_for(client, share_id)
    client.cookies.clear()
    clock.advance(seconds=12 * 3600 - 1)
    assert client.get(f"/n/{share_id}.ipynb", headers={GRANT_HEADER: grant}).content == SECRET
    clock.advance(seconds=1)
    late = client.get(f"/n/{share_id}.ipynb", headers={GRANT_HEADER: grant})
    assert late.status_code == 401 and not reveals(shown(late))


@pytest.mark.parametrize("name", ["password", "token", "owner_token", "grant"])
def test_secrets_in_the_url_are_refused(client, name):
    body = create(client, nb_bytes(minimal_notebook()))
    share_id = body["id"]
    query = {name: "s3cret"}
    for method, path in [
        ("POST", "/api/v1/shares"),
        ("GET", f"/api/v1/shares/{share_id}"),
        ("PATCH", f"/api/v1/shares/{share_id}"),
        ("DELETE", f"/api/v1/shares/{share_id}"),
        ("GET", f"/api/v1/shares/{share_id}/versions"),
        ("POST", f"/api/v1/shares/{share_id}/unlock"),
        ("POST", f"/api/v1/shares/{share_id}/owner-session"),
        ("GET", f"/n/{share_id}"),
        ("GET", f"/n/{share_id}/content"),
        ("GET", f"/n/{share_id}.ipynb"),
        ("POST", f"/n/{share_id}/unlock"),
        ("GET", f"/n/{share_id}/manage"),
    ]:
        r = client.request(method, path, params=query, headers=as_owner(body))
        assert r.status_code == 400, (method, path, r.status_code)
        if path.startswith("/api/"):
            assert r.json()["error"]["code"] == "secret_in_url", (method, path)
        else:
            assert "Never put a" in r.text, path
    assert client.get(f"/n/{share_id}").status_code == 200  # the DELETE above was refused


# --- throttling and the hash limiter ---------------------------------------------------------


async def no_pause(seconds: float) -> None:
    """The slow lanes' pause, without the wait: these tests are about who gets in, not when."""


def test_a_guessing_client_gets_429_but_nobody_else_is_locked_out(tmp_path, renderer, clock, monkeypatch):
    """OWASP: throttle per client, never lock everyone out. Many clients guessing wrong
    (far past the share's budget) leave a reader who knows the password free to get in."""
    app = app_with(tmp_path, renderer, clock, unlock_attempts=2, unlock_attempts_per_share=3)
    app.state.service.slow_lanes = SlowLanes(sleep=no_pause)
    first = TestClient(app, client=("10.0.0.1", 1000))
    share_id = create(first, password=PASSWORD)["id"]
    hashed = []
    real = crypto.check_password
    monkeypatch.setattr(crypto, "check_password", lambda *a: hashed.append(1) or real(*a))
    for _ in range(2):
        r = unlock(first, share_id, WRONG)
        assert r.status_code == 401 and r.json()["error"]["code"] == "wrong_password"
    for attempt in (WRONG, PASSWORD):  # this client guessed too often: even its right password waits
        r = unlock(first, share_id, attempt)
        assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_attempts"
        assert 1 <= int(r.headers["retry-after"]) <= 61
    form = first.post(f"/n/{share_id}/unlock", data={"password": PASSWORD})
    assert form.status_code == 429 and "retry-after" in form.headers
    assert len(hashed) == 2  # refused attempts cost no Argon2
    for n in range(30):  # guesses spread over addresses, ten times the share's budget
        assert unlock(TestClient(app, client=(f"10.1.0.{n}", 1000)), share_id, WRONG).status_code == 401
    for n in range(5):  # readers who know the password, from new addresses: all get in
        reader = TestClient(app, client=(f"10.2.0.{n}", 1000))
        assert unlock(reader, share_id, PASSWORD).status_code == 200
    form = TestClient(app, client=("10.3.0.1", 1000)).post(
        f"/n/{share_id}/unlock", data={"password": PASSWORD}, follow_redirects=False
    )
    assert form.status_code == 303
    # A reader who mistyped once waits in the share's slow lane like everyone, and gets in.
    typo = TestClient(app, client=("10.4.0.1", 1000))
    assert unlock(typo, share_id, WRONG).status_code == 401
    assert unlock(typo, share_id, PASSWORD).status_code == 200
    lane = app.state.service.slow_lanes.lane(share_id)
    assert lane.turns == 30 - 1 + 5 + 1 + 2  # every check past the share's budget took its turn
    clock.advance(seconds=61)  # the window slides past the first client's guesses
    assert unlock(first, share_id, PASSWORD).status_code == 200


def test_a_huge_password_is_refused_before_any_hashing(client, monkeypatch):
    share_id = create(client, password=PASSWORD)["id"]
    hashed = []
    real = crypto.check_password
    monkeypatch.setattr(crypto, "check_password", lambda *a: hashed.append(1) or real(*a))
    huge = "x" * (20 * 1024 * 1024)  # not even read whole: no body but an upload's is over 64 KB
    r = unlock(client, share_id, huge)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    r = unlock(client, share_id, "x" * 20_000)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_password"
    assert "longer than 1024 characters" in r.json()["error"]["message"]
    form = client.post(f"/n/{share_id}/unlock", data={"password": "y" * 2000})
    assert form.status_code == 400 and "longer than 1024 characters" in form.text
    assert hashed == []
    for _ in range(10):  # refused, not counted as guesses
        assert unlock(client, share_id, "z" * 1025).status_code == 400
    assert unlock(client, share_id, PASSWORD).status_code == 200 and hashed == [1]


def test_guesses_count_before_their_hash_is_checked_and_slow_down_under_attack(tmp_path):
    """Ten guesses sent at once: each is counted as it arrives, so only the first
    `per_client` reach Argon2 even though none has been checked yet."""
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    store.migrate()
    now = [1000.0]
    throttle = GuessThrottle(
        store.engine, per_client=3, per_share=5, window=60, memory=600, clock=lambda: now[0]
    )
    admitted, refused = [], []
    for _ in range(10):
        try:
            admitted.append(throttle.attempt("share", "10.0.0.1"))
        except TooManyAttempts as exc:
            refused.append(exc.retry_after)
    assert len(admitted) == 3 and len(refused) == 7 and all(0 < r <= 61 for r in refused)
    assert [a.rank for a in admitted] == [0, 1, 2]
    # A right password (or a guess turned away unchecked) takes its attempt back.
    throttle.withdraw(admitted[0])
    throttle.attempt("share", "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        throttle.attempt("share", "10.0.0.1")
    assert not throttle.attempt("share", "10.0.0.2").slowed  # the 4th and 5th wrong
    assert not throttle.attempt("share", "10.0.0.2").slowed
    under = [throttle.attempt("share", f"10.0.1.{n}") for n in range(3)]
    assert all(a.slowed and a.rank == 0 for a in under)  # every guess is slowed, first ones too
    assert throttle.attempt("other", "10.0.0.2").rank == 2  # a rank counts guesses on any share
    now[0] += 60  # the window slides past them, to the second
    fresh = throttle.attempt("share", "10.0.0.1")
    assert not fresh.slowed and fresh.rank == 3  # not locked out; still remembered for a while
    now[0] += 600
    assert throttle.attempt("share", "10.0.0.1").rank == 0


def run_async(scenario):
    # In a thread of its own: Playwright's sync API (the browser tests) keeps an event
    # loop running in the main thread for the whole session.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario).result()


def test_the_hashing_queue_is_bounded_for_everyone_and_serves_fresh_clients_first():
    async def scenario():
        lane = Lane(concurrent=1, waiting=2)
        release, served = asyncio.Event(), []

        async def check(name, rank):
            async with lane.turn(rank):
                await release.wait()
                served.append(name)

        tasks = {
            name: asyncio.create_task(check(name, rank))
            for name, rank in [("busy", 3), ("guesser", 2), ("other guesser", 1)]
        }
        await asyncio.sleep(0)
        tasks["reader"] = asyncio.create_task(check("reader", 0))  # pushes out "guesser"
        tasks["late"] = asyncio.create_task(check("late", 0))  # pushes out "other guesser"
        tasks["later"] = asyncio.create_task(check("later", 0))  # no room: refused
        await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(*tasks.values(), return_exceptions=True)
        return dict(zip(tasks, results, strict=True)), served, lane

    results, served, lane = run_async(scenario())
    refused = {name for name, r in results.items() if isinstance(r, TooManyAttempts)}
    assert refused == {"guesser", "other guesser", "later"}
    assert served == ["busy", "reader", "late"] and lane.most_waiting == 2
    assert all(r.retry_after > 0 for name, r in results.items() if name in refused)


def test_a_request_that_goes_away_gives_its_place_back():
    async def scenario():
        lane = Lane(concurrent=1, waiting=1)
        release = asyncio.Event()

        async def check():
            async with lane.turn():
                await release.wait()
            return "done"

        running = asyncio.create_task(check())
        await asyncio.sleep(0)
        gone = asyncio.create_task(check())
        await asyncio.sleep(0)
        gone.cancel()  # waiting, then the client hangs up
        await asyncio.sleep(0)
        nxt = asyncio.create_task(check())  # the place it held is free again
        await asyncio.sleep(0)
        release.set()
        await running
        nxt.cancel()  # called just as it went away: the place passes on, not lost
        async with asyncio.timeout(60):  # a failsafe: a lost place would hang here
            after = await check()
        return gone.cancelled(), after

    assert run_async(scenario()) == (True, "done")


def test_hash_limiter_bounds_concurrent_and_queued_checks():
    async def scenario():
        lane = Lane(concurrent=2, waiting=1)
        release, inside, peak = asyncio.Event(), [0], [0]

        async def check():
            async with lane.turn():
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
                await release.wait()
                inside[0] -= 1
            return "done"

        tasks = [asyncio.create_task(check()) for _ in range(6)]
        await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        async with lane.turn():  # capacity comes back
            pass
        return results, peak[0]

    results, peak = run_async(scenario())
    assert results.count("done") == 3 and peak == 2
    refused = [r for r in results if r != "done"]
    assert len(refused) == 3 and all(isinstance(r, TooManyAttempts) and r.retry_after > 0 for r in refused)


# --- gone is gone ---------------------------------------------------------------------------


def test_unknown_expired_deleted_and_burned_shares_answer_the_same_404(client, clock):
    public = nb_bytes(minimal_notebook())
    expired = create(client, public, expires="1h")["id"]
    expired_protected = create(client, expires="1h", password=PASSWORD)["id"]
    deleted = create(client, public)
    assert client.delete(f"/api/v1/shares/{deleted['id']}", headers=as_owner(deleted)).status_code == 204
    burned = create(client, public, max_views=1)["id"]
    assert client.get(f"/n/{burned}/content").status_code == 200
    clock.advance(hours=1)
    ids = {
        "unknown": "AAAAAAAAAAAAAAAAAAAAAAAA",
        "expired": expired,
        "expired protected": expired_protected,
        "deleted": deleted["id"],
        "burned": burned,
    }
    for path in ("/n/{id}", "/n/{id}/content", "/n/{id}.ipynb", "/api/v1/shares/{id}"):
        bodies = set()
        for kind, share_id in ids.items():
            r = client.get(path.format(id=share_id))
            assert r.status_code == 404 and GONE in r.text, (path, kind)
            bodies.add(r.content)
        assert len(bodies) == 1, path  # nothing tells the cases apart
    assert stored_state(client.app) == ((0, 0), [])


# --- expiry ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expires, expected",
    [
        ("1h", T0 + timedelta(hours=1)),
        ("3d", T0 + timedelta(days=3)),
        ("2026-12-31", datetime(2027, 1, 1, tzinfo=UTC)),  # a date: the end of that day, UTC
        ("2026-06-01T20:30:00+02:00", datetime(2026, 6, 1, 18, 30, tzinfo=UTC)),
    ],
)
def test_expiry_takes_effect_at_the_exact_boundary(client, clock, expires, expected):
    body = create(client, nb_bytes(minimal_notebook()), expires=expires)
    assert datetime.fromisoformat(body["expires_at"]) == expected
    clock.now = expected - timedelta(microseconds=1)
    assert client.get(f"/n/{body['id']}/content").status_code == 200
    clock.now = expected
    assert client.get(f"/n/{body['id']}/content").status_code == 404
    assert stored_state(client.app) == ((0, 0), [])  # an expired share found on read is removed


def test_the_operators_max_expiry_is_enforced(tmp_path, renderer, clock):
    with TestClient(app_with(tmp_path, renderer, clock, max_expiry="7d")) as client:
        data = nb_bytes(minimal_notebook())
        for too_long in ("8d", "2026-06-09", "never"):
            r = client.post("/api/v1/shares", params={"expires": too_long}, content=data)
            assert r.status_code == 400, too_long
            error = r.json()["error"]
            assert error["code"] == "bad_expiry" and "1 week" in error["message"], error
        assert stored_state(client.app) == ((0, 0), [])
        default = create(client, data)
        assert datetime.fromisoformat(default["expires_at"]) == T0 + timedelta(days=7)
        assert create(client, data, expires="2026-06-07")["expires_at"]
        r = client.patch(f"/api/v1/shares/{default['id']}", json={"expires": None}, headers=as_owner(default))
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_expiry"


@pytest.mark.parametrize("far", ["9999-12-31", "999999w", "9999-12-31T23:59:59-05:00", "3500-01-01"])
def test_expiries_too_far_away_are_a_clear_400_everywhere(client, far):
    """Past year 9999 Python's datetime overflows: that must read as a bad expiry, not a 500."""
    data = nb_bytes(minimal_notebook())
    r = client.post("/api/v1/shares", params={"expires": far}, content=data)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_expiry", r.text
    assert "never" in r.json()["error"]["message"]
    form = client.post("/upload", files={"file": ("a.ipynb", data)}, data={"expires": far})
    assert form.status_code == 400 and "never" in form.text
    assert stored_state(client.app) == ((0, 0), [])
    share = create(client, data)
    r = client.patch(f"/api/v1/shares/{share['id']}", json={"expires": far}, headers=as_owner(share))
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_expiry", r.text


def test_the_upload_form_offers_what_the_server_allows_and_takes_a_day(tmp_path, renderer, clock):
    with TestClient(app_with(tmp_path, renderer, clock, max_expiry="10d")) as client:
        form = BeautifulSoup(client.get("/").text, "html.parser")
        offered = [o["value"] for o in form.select("#expires option")]
        assert offered == ["", "1h", "1d", "7d", "10d", "date"]  # no 30 days, no never
        assert form.select_one("input#expires_on")["type"] == "date"
        data = nb_bytes(minimal_notebook())
        for fields in ({"expires": "date", "expires_on": "2026-06-03"}, {"expires_on": "2026-06-03"}):
            r = client.post("/upload", files={"file": ("a.ipynb", data)}, data=fields)
            assert r.status_code == 201, r.text
            share_id = BeautifulSoup(r.text, "html.parser").find("input", id="link")["value"].rsplit("/")[-1]
            expires = client.get(f"/api/v1/shares/{share_id}").json()["expires_at"]
            assert datetime.fromisoformat(expires) == datetime(2026, 6, 4, tzinfo=UTC)  # end of that day
        r = client.post("/upload", files={"file": ("a.ipynb", data)}, data={"expires": "date"})
        assert r.status_code == 400 and "Choose the day" in r.text
        r = client.post("/upload", files={"file": ("a.ipynb", data)}, data={"expires_on": "2026-07-01"})
        assert r.status_code == 400 and "10 days" in r.text


def test_with_a_render_origin_protected_shares_frame_from_where_the_grant_cookie_lives(
    tmp_path, renderer, clock
):
    """The grant is a cookie of the public origin; a frame on the render origin would not
    carry it and would answer 401. Public shares keep the second origin."""
    with TestClient(app_with(tmp_path, renderer, clock, render_url="http://render.test")) as client:
        public = create(client, nb_bytes(minimal_notebook()))["id"]
        protected = create(client, password=PASSWORD)["id"]
        frame = BeautifulSoup(client.get(f"/n/{public}").text, "html.parser").find("iframe", id="notebook")
        assert frame["data-src"] == f"http://render.test/n/{public}/content"
        assert unlock(client, protected, PASSWORD).status_code == 200  # the grant cookie is set
        page = client.get(f"/n/{protected}")
        frame = BeautifulSoup(page.text, "html.parser").find("iframe", id="notebook")
        assert frame["data-src"] == f"{PUBLIC_URL}/n/{protected}/content"
        content = client.get(frame["data-src"].removeprefix(PUBLIC_URL))
        assert content.status_code == 200 and reveals(content.content)
        assert "sandbox" in content.headers["content-security-policy"]


def test_a_big_protected_form_upload_never_touches_the_disk_in_the_clear(client, monkeypatch):
    """Starlette spools form files over 1 MB to a temporary file: not ours."""
    import tempfile

    spooled = []
    real = tempfile.TemporaryFile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **kw: spooled.append(1) or real(*a, **kw))
    nb = secret_notebook()
    nb["cells"][0]["source"] += "\n\n" + "padding " * 300_000  # 2.4 MB
    r = client.post("/upload", files={"file": ("big.ipynb", nb_bytes(nb))}, data={"password": PASSWORD})
    assert r.status_code == 201, r.text[:300]
    assert spooled == []


def test_the_header_says_size_when_shared_when_it_expires_and_views_left(client, clock):
    data = nb_bytes(minimal_notebook())
    share = create(client, data, expires="2026-06-30", max_views=5)
    header = BeautifulSoup(client.get(f"/n/{share['id']}").text, "html.parser").select_one("header .details")
    shared, expires = header.select("time")
    assert shared["datetime"] == T0.isoformat() and shared.get_text() == "2026-06-01 12:00 UTC"
    assert "expires" in expires["class"] and expires.get_text() == "2026-07-01 00:00 UTC"
    assert header.select_one(".views-left").get_text() == "5 views left"  # the page itself is no view
    size = f"{len(data)} bytes" if len(data) < 1024 else f"{len(data) / 1024:.1f} KB"
    assert size in header.get_text(), header.get_text()
    assert f"{MARKER}.ipynb" in header.select_one(".filename").get_text()
    client.get(f"/n/{share['id']}/content")  # one view of the notebook
    header = BeautifulSoup(client.get(f"/n/{share['id']}").text, "html.parser").select_one("header .details")
    assert header.select_one(".views-left").get_text() == "4 views left"


def test_a_far_default_or_maximum_expiry_is_refused_at_start_up():
    with pytest.raises(ValueError, match="1000 years"):
        Settings(default_expiry="999999w")
    with pytest.raises(ValueError, match="longer than NBSHARE_MAX_EXPIRY"):
        Settings(default_expiry="30d", max_expiry="7d")
    assert Settings(default_expiry="never", max_expiry="7d").max_expiry == "7d"  # capped, not refused
    with pytest.raises(ValueError, match="64 hex characters"):
        Settings(secret_key="not hex at all")  # noqa: S106 - a refused value, not a secret


def test_purge_removes_expired_rows_and_every_blob(client, app, clock, settings):
    doomed = [
        create(client, nb_bytes(minimal_notebook()), expires="1h"),
        create(client, expires="1h", password=PASSWORD),
    ]
    assert update(client, doomed[1], SECRET).status_code == 200  # a second version's blobs too
    kept = create(client, nb_bytes(minimal_notebook()))
    service = app.state.service
    clock.now = T0 + timedelta(hours=1) - timedelta(microseconds=1)
    assert service.purge() == 0
    clock.now = T0 + timedelta(hours=1)
    assert service.purge() == 2
    (shares, versions), keys = stored_state(app)
    assert (shares, versions) == (1, 1) and keys and all(f"shares/{kept['id']}/" in k for k in keys)
    on_disk = files_under(settings.blob_dir)
    assert len(on_disk) == len(keys)
    assert not any(body["id"] in str(p) for body in doomed for p in settings.blob_dir.rglob("*"))


def test_purge_finishes_a_burn_that_was_interrupted(client, app, settings):
    """The last view was counted, then the process stopped before deleting the share."""
    body = create(client, nb_bytes(minimal_notebook()), max_views=2)
    service = app.state.service
    for _ in range(2):
        assert service.metadata.count_view(body["id"]) is not None  # counted, never deleted
    assert service.purge() == 1
    assert stored_state(app) == ((0, 0), [])
    assert not any(body["id"] in str(p) for p in settings.blob_dir.rglob("*"))


# --- view limits ----------------------------------------------------------------------------


def test_the_last_view_is_served_then_the_share_is_gone(client, app, clock):
    body = create(client, max_views=3)
    share_id = body["id"]
    content = f"/n/{share_id}/content"
    preview = owner_cookie(client, body)
    browser = TestClient(app)
    for _ in range(3):
        assert browser.get(f"/n/{share_id}").status_code == 200  # the share page is not a view
        r = browser.get(content, headers={"Cookie": preview})  # the owner's preview
        assert r.status_code == 200 and MARKER in r.text
    forged = f"{grants.cookie_name(share_id, owner=True)}=AAAA"
    assert TestClient(app).get(content, headers={"Cookie": forged}).status_code == 200
    second = TestClient(app)
    assert second.get(content).status_code == 200
    assert second.get(content).status_code == 200  # a reload inside the same view
    info = client.get(f"/api/v1/shares/{share_id}", headers=as_owner(body)).json()
    assert info["views"] == 2  # a forged owner cookie is still a visitor
    last = TestClient(app)
    r = last.get(content)
    assert r.status_code == 200 and MARKER in r.text
    for path in ("/n/{id}", "/n/{id}/content", "/n/{id}.ipynb", "/api/v1/shares/{id}"):
        assert TestClient(app).get(path.format(id=share_id)).status_code == 404, path
    assert last.get(content).status_code == 200  # the last view lasts VIEW_LIFETIME
    clock.advance(seconds=VIEW_LIFETIME.total_seconds())
    assert last.get(content).status_code == 404
    assert stored_state(client.app) == ((0, 0), [])


def test_a_wrong_bearer_token_gets_no_owner_fields(client):
    body = create(client, nb_bytes(minimal_notebook()), max_views=5)
    r = client.get(f"/api/v1/shares/{body['id']}", headers={"Authorization": "Bearer nope"})
    assert "views" not in r.json() and "versions_public" not in r.json()
    assert client.get(f"/api/v1/shares/{body['id']}", headers=as_owner(body)).json()["views"] == 0


# --- updates and versions -------------------------------------------------------------------


def test_update_keeps_the_link_bumps_the_version_and_revokes_grants(client, visitor):
    body = create(client, password=PASSWORD)
    share_id = body["id"]
    grant_for(visitor, share_id)
    assert visitor.get(f"/n/{share_id}/content").status_code == 200
    new = nb_bytes(secret_notebook("Okapi-r4Wz9-newer"))
    r = update(client, body, new)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["url"], r.json()["version"]) == (share_id, body["url"], 2)
    for path in ("/n/{id}/content", "/n/{id}.ipynb", "/api/v1/shares/{id}"):
        stale = visitor.get(path.format(id=share_id))
        assert stale.status_code == 401 and not reveals(shown(stale), "Okapi-r4Wz9-newer"), path
    grant_for(visitor, share_id)
    assert visitor.get(f"/n/{share_id}.ipynb").content == new
    assert visitor.get(f"/n/{share_id}/v/1/content").status_code == 404  # earlier versions: owner only
    preview = owner_cookie(client, body)
    old = visitor.get(f"/n/{share_id}/v/1.ipynb", headers={"Cookie": preview})
    assert old.status_code == 200 and old.content == SECRET


def test_earlier_versions_are_for_the_owner_unless_made_public(client, visitor):
    body = create(client)
    assert update(client, body, nb_bytes(minimal_notebook())).json()["version"] == 2
    old_paths = [p.format(id=body["id"]) for p in ("/n/{id}/v/1", "/n/{id}/v/1/content", "/n/{id}/v/1.ipynb")]
    for path in old_paths:
        r = visitor.get(path)
        assert r.status_code == 404 and not reveals(shown(r)), path
    preview = owner_cookie(client, body)
    assert MARKER in visitor.get(old_paths[1], headers={"Cookie": preview}).text
    r = client.patch(f"/api/v1/shares/{body['id']}", json={"versions_public": True}, headers=as_owner(body))
    assert r.status_code == 200 and r.json()["versions_public"] is True
    assert visitor.get(old_paths[2]).content == SECRET
    assert visitor.get("/n/{id}/v/3".format(id=body["id"])).status_code == 404


def test_deleting_an_old_version_removes_its_blobs_but_not_the_current_one(client, app):
    body = create(client, password=PASSWORD)
    share_id = body["id"]
    update(client, body, SECRET)
    update(client, body, SECRET)
    base = f"/api/v1/shares/{share_id}/versions"
    current = client.delete(f"{base}/3", headers=as_owner(body))
    assert current.status_code == 409 and current.json()["error"]["code"] == "current_version"
    assert client.delete(f"{base}/1", headers=as_owner(body)).status_code == 204
    assert client.delete(f"{base}/1", headers=as_owner(body)).status_code == 404
    listed = client.get(base, headers=as_owner(body)).json()
    assert [v["version"] for v in listed] == [2, 3] and listed[0]["title"] == f"Notes {MARKER}"
    keys = stored_state(app)[1]
    assert not any("/v1/" in k for k in keys) and len([k for k in keys if "/v2/" in k]) == 3
    preview = owner_cookie(client, body)
    assert client.get(f"/n/{share_id}/v/1/content", headers={"Cookie": preview}).status_code == 404


def test_delete_removes_every_row_and_blob(client, app, settings):
    body = create(client, password=PASSWORD, max_views=10, expires="7d")
    update(client, body, SECRET)
    assert client.delete(f"/api/v1/shares/{body['id']}", headers=as_owner(body)).status_code == 204
    assert stored_state(app) == ((0, 0), [])
    assert files_under(settings.blob_dir) == []
    for path in PATHS[:6]:
        assert client.get(path.format(id=body["id"])).status_code == 404, path


# --- changing the password ------------------------------------------------------------------


def blob_bytes(settings) -> dict[str, bytes]:
    root = settings.blob_dir
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files_under(root)}


def test_changing_the_password_reencrypts_and_revokes_the_old_one(client, app, visitor, settings):
    body = create(client, password=PASSWORD)
    update(client, body, SECRET)
    old_grant = grant_for(visitor, body["id"])
    owner_cookie(client, body)  # the owner's browser keeps this session cookie
    old_row = app.state.service.metadata.get_share(body["id"])[0]
    before = blob_bytes(settings)
    r = client.patch(f"/api/v1/shares/{body['id']}", json={"password": NEW_PASSWORD}, headers=as_owner(body))
    assert r.status_code == 200 and r.json()["protected"] is True
    after = blob_bytes(settings)
    assert len(after) == len(before) == 6 and not set(before.values()) & set(after.values())
    # Someone who knew the old password and kept the old row cannot read the new blobs.
    old_kek = crypto.password_key(PASSWORD, crypto.unb64(old_row.key_salt))
    old_wrapped = crypto.unb64(old_row.password_wrapped_key)
    old_key = crypto.open_sealed(old_kek, old_wrapped, f"password-key:{body['id']}")
    for key, sealed in after.items():
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_sealed(old_key, sealed, key)
    assert visitor.get(f"/n/{body['id']}/content", headers={GRANT_HEADER: old_grant}).status_code == 401
    assert unlock(visitor, body["id"], PASSWORD).status_code == 401
    grant_for(visitor, body["id"], NEW_PASSWORD)
    assert visitor.get(f"/n/{body['id']}.ipynb").content == SECRET
    assert client.get(f"/n/{body['id']}/v/1/content").status_code == 401  # the old session is void
    info = client.get(f"/api/v1/shares/{body['id']}", headers=as_owner(body))  # ...and ignored
    assert info.status_code == 200 and info.json()["title"] == f"Notes {MARKER}"
    versions = client.get(f"/api/v1/shares/{body['id']}/versions", headers=as_owner(body)).json()
    assert [v["title"] for v in versions] == [f"T {MARKER}", f"Notes {MARKER}"]  # sealed meta reads back


def test_removing_the_password_makes_the_share_public_again(client, app, visitor, settings):
    body = create(client, password=PASSWORD)
    r = client.patch(f"/api/v1/shares/{body['id']}", json={"password": None}, headers=as_owner(body))
    assert r.status_code == 200 and r.json()["protected"] is False
    content = visitor.get(f"/n/{body['id']}/content")
    assert content.status_code == 200 and MARKER in content.text
    assert visitor.get(f"/n/{body['id']}.ipynb").content == SECRET
    stored = blob_bytes(settings)
    names = [k.rsplit("/", 1)[1] for k in stored]  # each name ends with its upload's random tag
    assert not any(n.endswith(".sealed") for n in names)
    assert sorted(n.rsplit(".", 1)[0] for n in names) == ["original.ipynb", "page.html"]
    assert SECRET in stored.values()
    row, version = app.state.service.metadata.get_share(body["id"])
    assert row.password_hash is None and row.password_wrapped_key is None and version.title == f"T {MARKER}"


def test_adding_a_password_encrypts_every_version(client, visitor, settings):
    body = create(client)
    update(client, body, nb_bytes(secret_notebook("Okapi-r4Wz9-newer")))
    assert reveals(b"".join(blob_bytes(settings).values()))
    r = client.patch(f"/api/v1/shares/{body['id']}", json={"password": PASSWORD}, headers=as_owner(body))
    assert r.status_code == 200 and r.json()["protected"] is True
    stored = b"".join(blob_bytes(settings).values())
    assert not reveals(stored) and not reveals(stored, "Okapi-r4Wz9-newer")
    locked = visitor.get(f"/n/{body['id']}/content")
    assert locked.status_code == 401 and not reveals(shown(locked), "Okapi-r4Wz9-newer")
    grant_for(visitor, body["id"])
    assert "Okapi-r4Wz9-newer" in visitor.get(f"/n/{body['id']}/content").text
    preview = owner_cookie(client, body)
    assert visitor.get(f"/n/{body['id']}/v/1.ipynb", headers={"Cookie": preview}).content == SECRET


def test_adding_a_password_leaves_no_plaintext_metadata_in_the_database_file(client, settings):
    body = create(client, title=f"Title {MARKER}")
    assert reveals(b"".join(p.read_bytes() for p in files_under(settings.data_dir)))
    r = client.patch(f"/api/v1/shares/{body['id']}", json={"password": PASSWORD}, headers=as_owner(body))
    assert r.status_code == 200
    for path in files_under(settings.data_dir):  # secure_delete + a WAL checkpoint scrub the old rows
        assert not reveals(path.read_bytes()), path


def test_downloading_the_notebook_counts_as_a_view(client, app):
    body = create(client, max_views=2)
    assert TestClient(app).get(f"/n/{body['id']}.ipynb").content == SECRET
    assert TestClient(app).get(f"/n/{body['id']}/content").status_code == 200  # the second and last
    assert TestClient(app).get(f"/n/{body['id']}.ipynb").status_code == 404


def test_a_password_change_racing_an_update_is_refused_not_half_applied(client, app):
    body = create(client, password=PASSWORD)
    metadata = app.state.service.metadata
    row, current = metadata.get_share(body["id"])
    # An update that read the share before the password changed must not land.
    metadata.update_share(body["id"], access_epoch=row.access_epoch + 1)
    stale = replace(current, number=2)
    assert (
        metadata.add_version(
            stale, expected_current=1, expected_epoch=row.access_epoch, updated_at=row.updated_at
        )
        is False
    )
    assert metadata.get_share(body["id"])[0].current_version == 1


# --- what is stored and what is logged ------------------------------------------------------


def test_a_copy_of_the_data_folder_holds_no_plaintext_and_no_password(client, app, settings):
    body = create(client, password=PASSWORD, max_views=5)
    update(client, body, SECRET)
    grant_for(client, body["id"])
    assert MARKER in client.get(f"/n/{body['id']}/content").text  # a view is counted, too
    names = {p.name for p in files_under(settings.data_dir)}
    assert {"nbshare.db", "nbshare.db-wal"} <= names and any(n.endswith(".sealed") for n in names)
    for path in files_under(settings.data_dir):
        data = path.read_bytes()
        assert not reveals(data), path
        assert not reveals(data, PASSWORD) and body["owner_token"].encode() not in data, path
    with app.state.service.metadata.engine.connect() as conn:
        tables = conn.exec_driver_sql("select name from sqlite_master where type = 'table'").scalars().all()
        dump = "\n".join(str(row) for t in tables for row in conn.exec_driver_sql(f'select * from "{t}"'))
    assert "protected notebook" in dump.lower()  # the placeholders are there instead
    assert not reveals(dump.encode()) and PASSWORD not in dump and body["owner_token"] not in dump


def test_logs_never_show_a_password_token_or_grant(client, caplog):
    caplog.set_level(logging.DEBUG)
    r = client.post(
        "/api/v1/shares",
        files={"file": ("nb.ipynb", SECRET)},
        data={"password": PASSWORD, "expires": "1d", "max_views": "9"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    share_id = body["id"]
    assert unlock(client, share_id, WRONG).status_code == 401
    secrets = [PASSWORD, WRONG, NEW_PASSWORD, body["owner_token"], grant_for(client, share_id)]
    form = client.post(f"/n/{share_id}/unlock", data={"password": PASSWORD}, follow_redirects=False)
    secrets.append(form.cookies[grants.cookie_name(share_id)])
    assert client.get(f"/n/{share_id}/content").status_code == 200
    secrets.append(owner_cookie(client, body).split("=", 1)[1])
    assert (
        client.patch(
            f"/api/v1/shares/{share_id}", json={"password": NEW_PASSWORD}, headers=as_owner(body)
        ).status_code
        == 200
    )
    secrets.append(grant_for(client, share_id, NEW_PASSWORD))
    assert update(client, body, SECRET).status_code == 200
    assert client.delete(f"/api/v1/shares/{share_id}", headers=as_owner(body)).status_code == 204
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + str(vars(record))
        for secret in secrets:
            assert secret not in text, (record.name, record.getMessage())


def test_a_non_ascii_password_in_the_header_is_read_as_utf8(client):
    password = "pässwörd-日本"  # noqa: S105
    headers = {
        "Content-Type": "application/x-ipynb+json",
        "X-Nbshare-Password": password.encode(),
    }  # raw UTF-8 bytes on the wire
    r = client.post("/api/v1/shares", params={"filename": "s.ipynb"}, content=SECRET, headers=headers)
    assert r.status_code == 201
    assert unlock(client, r.json()["id"], password).status_code == 200
