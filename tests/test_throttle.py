"""The password-guessing throttle where it can be fooled: behind a real `nbshare serve`
(forged X-Forwarded-For, trusted proxies, forged Host), across instances sharing a
database, from many addresses, and with a flood of first-time guessers."""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import PUBLIC_URL, TEST_HOSTS, Clock, clean_env, minimal_notebook, nb_bytes, start_server
from nbshare.app import create_app
from nbshare.errors import WrongPassword
from nbshare.security import crypto
from nbshare.security.lanes import SlowLanes
from nbshare.security.throttle import TooManyAttempts, client_network
from nbshare.settings import Settings
from nbshare.views.common import PASSWORD_HEADER

PASSWORD = "right-Pw9!horse"  # noqa: S105
WRONG = "wrong-guess-1"


def protected_share(url: str) -> str:
    r = httpx.post(
        f"{url}/api/v1/shares",
        params={"filename": "n.ipynb"},
        timeout=120,
        content=nb_bytes(minimal_notebook()),
        headers={PASSWORD_HEADER: PASSWORD},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def guess(url: str, share_id: str, password: str, forwarded_for: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/shares/{share_id}/unlock",
        json={"password": password},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=120,
    )


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(**env: str):
        folder = tmp_path / f"s{len(started)}"
        folder.mkdir()
        server = start_server(folder, env=clean_env(), NBSHARE_UNLOCK_ATTEMPTS="2", **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_forged_x_forwarded_for_does_not_escape_the_throttle(serve):
    server = serve()
    share_id = protected_share(server.url)
    answers = [guess(server.url, share_id, WRONG, f"203.0.113.{n}").status_code for n in range(4)]
    assert answers == [401, 401, 429, 429]  # one client, whatever the header says
    refused = guess(server.url, share_id, PASSWORD, "198.51.100.1")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    # A DNS-rebinding page reaching the same loopback server is refused outright.
    evil = httpx.get(f"{server.url}/n/{share_id}", headers={"Host": "evil.example"}, timeout=60)
    assert evil.status_code == 400


def test_behind_a_trusted_proxy_x_forwarded_for_names_the_client(serve):
    server = serve(NBSHARE_TRUSTED_PROXIES="127.0.0.1")
    share_id = protected_share(server.url)
    # Many clients behind the proxy, each guessing once: throttled one by one, none for another.
    assert [guess(server.url, share_id, WRONG, f"203.0.113.{n}").status_code for n in range(4)] == [401] * 4
    assert [guess(server.url, share_id, WRONG, "203.0.113.0").status_code for _ in range(2)] == [401, 429]
    assert guess(server.url, share_id, PASSWORD, "198.51.100.1").status_code == 200


def test_instances_sharing_a_database_share_the_counts(tmp_path, renderer):
    """Two app instances on one SQLite file (see test_postgres.py for PostgreSQL)."""
    settings = Settings(
        data_dir=tmp_path,
        public_url=PUBLIC_URL,
        allowed_hosts=TEST_HOSTS,
        unlock_attempts=3,
        secret_key="5e" * 32,
    )
    one, two = (create_app(settings, renderer=renderer) for _ in range(2))
    with TestClient(one, client=("10.0.0.1", 1)) as a, TestClient(two, client=("10.0.0.1", 2)) as b:
        created = a.post(
            "/api/v1/shares",
            params={"filename": "n.ipynb"},
            content=nb_bytes(minimal_notebook()),
            headers={PASSWORD_HEADER: PASSWORD},
        )
        share_id = created.json()["id"]
        answers = [
            c.post(f"/api/v1/shares/{share_id}/unlock", json={"password": WRONG}).status_code
            for c in (a, b, a, b)
        ]
        assert answers == [401, 401, 401, 429]


def test_a_client_is_an_ipv4_address_or_an_ipv6_64():
    assert client_network("203.0.113.7") == "203.0.113.7"
    assert client_network("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert client_network("2001:DB8:1:2::1%eth0") == "2001:db8:1:2::/64"
    assert client_network("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_network("testclient") == "testclient"


def in_process(tmp_path, renderer, clock=None, **overrides):
    settings = Settings(
        data_dir=tmp_path / "d",
        public_url=PUBLIC_URL,
        allowed_hosts=TEST_HOSTS,
        secret_key="5e" * 32,
        **overrides,
    )
    app = create_app(settings, renderer=renderer, clock=clock)
    created = TestClient(app, client=("10.9.9.9", 1)).post(
        "/api/v1/shares",
        params={"filename": "n.ipynb"},
        content=nb_bytes(minimal_notebook()),
        headers={PASSWORD_HEADER: PASSWORD},
    )
    assert created.status_code == 201, created.text
    return app, created.json()["id"]


def test_addresses_in_one_ipv6_64_are_one_client(tmp_path, renderer):
    """One machine usually holds a whole /64: a new address for every guess is no new client."""
    app, share_id = in_process(tmp_path, renderer, unlock_attempts=3)

    def unlock(address: str, password: str = WRONG) -> int:
        client = TestClient(app, client=(address, 1))
        return client.post(f"/api/v1/shares/{share_id}/unlock", json={"password": password}).status_code

    answers = [unlock(f"2001:db8:1:2::{n:x}") for n in range(1, 51)]
    assert answers == [401] * 3 + [429] * 47
    assert unlock("2001:db8:1:2:ffff:ffff:ffff:ffff", PASSWORD) == 429
    assert unlock("2001:db8:1:3::1") == 401  # the next /64 is someone else
    assert [unlock("192.0.2.1") for _ in range(3)] == [401] * 3
    assert unlock("::ffff:192.0.2.1") == 429  # the same IPv4 client, written as IPv6


def test_a_flood_of_first_time_addresses_is_slowed_bounded_and_cannot_pass_a_reader(
    tmp_path, renderer, monkeypatch
):
    """1000 addresses, each in its own /64 and guessing for the first time, on one share.
    The share's slow lane holds its pauses until the test opens a gate, and each pause moves
    the service's clock by a second: so the counts below do not depend on machine speed."""
    clock = Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    app, share_id = in_process(
        tmp_path, renderer, clock, unlock_attempts=5, unlock_attempts_per_share=3, max_concurrent_hashes=1
    )
    service = app.state.service
    hashed: list[tuple[datetime, str, int]] = []  # (service time, password, lane turns so far)
    real = crypto.check_password

    def counting(password, stored):
        hashed.append((clock.now, password, lane.turns))
        return real(password, stored)

    monkeypatch.setattr(crypto, "check_password", counting)

    async def scenario():
        gate = asyncio.Event()

        async def pause(seconds: float) -> None:
            await gate.wait()
            clock.advance(seconds=seconds)

        nonlocal lane
        service.slow_lanes = SlowLanes(pause=1.0, waiting=8, sleep=pause)
        lane = service.slow_lanes.lane(share_id)

        async def guess(address: str, password: str = WRONG) -> int:
            try:
                await service.unlock(share_id, password, address)
                return 200
            except WrongPassword:
                return 401
            except TooManyAttempts as exc:
                assert exc.retry_after > 0
                return 429

        async def settle(tasks, pending: int) -> None:
            """Wait until all but `pending` of `tasks` have answered (those hold the lane)."""
            async with asyncio.timeout(600):  # a failsafe against a hang, not a measurement
                while sum(not t.done() for t in tasks) > pending:
                    await asyncio.sleep(0.01)

        def answers(tasks) -> Counter:
            return Counter(t.result() for t in tasks if t.done())

        # Wave 1: the first `unlock_attempts_per_share` guesses go straight to Argon2; then
        # the share is under attack and everyone queues: one place, eight waiting, the rest 429.
        first = {f"2001:db8:{n:x}::1": None for n in range(1000)}
        wave1 = [asyncio.create_task(guess(address)) for address in first]
        await settle(wave1, pending=9)
        assert answers(wave1) == {401: 3, 429: 988} and lane.most_waiting == 8
        # The documented limit: when every waiting place holds a first-time client, a reader
        # (also first-time) is turned away too, with a Retry-After.
        assert await guess("198.51.100.1", PASSWORD) == 429
        gate.set()
        await asyncio.gather(*wave1)
        assert answers(wave1) == {401: 12, 429: 988} and lane.turns == 9
        # Wave 2: the 12 addresses that were checked keep guessing (4 more each); they fill the lane.
        gate.clear()
        guessers = [a for a, t in zip(first, wave1, strict=True) if t.result() == 401]
        wave2 = [asyncio.create_task(guess(a)) for a in guessers for _ in range(4)]
        await settle(wave2, pending=9)
        # A reader who has not guessed wrong takes the place of the newest repeat guesser...
        reader = asyncio.create_task(guess("198.51.100.2", PASSWORD))
        await settle(wave2, pending=8)
        admitted_at = lane.turns
        # ...and first-time guessers arriving after it can push out repeat guessers, not it.
        wave3 = [asyncio.create_task(guess(f"2001:db8:1:{n:x}::1")) for n in range(100)]
        await settle(wave3, pending=7)
        gate.set()
        assert await reader == 200
        await asyncio.gather(*wave2, *wave3)
        return admitted_at

    lane = None
    with ThreadPoolExecutor(1) as pool:
        admitted_at = pool.submit(asyncio.run, scenario()).result()

    served_at = next(turns for _, password, turns in hashed if password == PASSWORD)
    assert served_at - admitted_at <= 8 + 1  # within the lane's waiting places and its one running
    assert lane.most_waiting == 8 and service.hashing.most_waiting <= service.hashing.waiting
    # The rate: after the share's budget of 3, one check per pause of the service's clock.
    slowed = sorted(at for at, _, _ in hashed[3:])
    assert len(hashed) == 3 + lane.turns
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in pairwise(slowed))


def test_a_flood_of_guesses_waiting_to_be_counted_leaves_the_threads_to_other_requests(tmp_path, renderer):
    """Guesses are counted one database write at a time. Waiting for that turn must not hold
    one of the threads every request's storage calls share (anyio's 40): before, 300 guesses
    at once made an unrelated read wait seconds, and with the database slow, wait for good.
    The test holds the counting lock itself, so "slow" needs no timing."""
    import anyio

    app, share_id = in_process(tmp_path, renderer, unlock_attempts=1000, unlock_attempts_per_share=1000)
    service = app.state.service

    async def scenario() -> str:
        guesses = [service.unlock(share_id, WRONG, f"2001:db8:{n:x}::1") for n in range(60)]
        tasks = [asyncio.create_task(guess) for guess in guesses]
        await asyncio.sleep(0.5)  # let them all reach the lock (none can pass it)
        try:
            # A failsafe against a hang, not a measurement: it answers at once or never.
            return await asyncio.wait_for(anyio.to_thread.run_sync(lambda: "a thread was free"), 60)
        finally:
            service.throttle._writing.release()
            await asyncio.gather(*tasks, return_exceptions=True)

    service.throttle._writing.acquire()
    # In a thread of its own: Playwright's sync API (the browser tests) keeps an event loop
    # running in the main thread.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, scenario()).result() == "a thread was free"
