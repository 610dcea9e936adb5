"""Hub login's parts that need no running Hub: who may read a share (audience.py), what the
share service lets a Hub user do, what `nbshare serve` takes from the Hub's variables, and
where the client sends a Hub token. tests/browser/test_jupyterhub.py runs them all with a
real JupyterHub."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from helpers import markdown, notebook, serve_in_thread
from nbshare.app import build_service
from nbshare.audience import Audience, HubUser
from nbshare.client import hub_token_for
from nbshare.errors import Forbidden, HubLoginRequired, NbshareError
from nbshare.settings import HubService, Settings

ALICE = HubUser("alice")
BOB = HubUser("bob")
CAROL = HubUser("carol", frozenset({"physics"}))
NB = notebook(markdown("# For the group"))
PASSWORD, OTHER_PASSWORD = "a long password", "another password"  # noqa: S105
HUB_TOKEN = "hub-token"  # noqa: S105


def run(coroutine):
    """asyncio.run in a thread of its own (the browser tests hold the main thread's loop)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


# --- audiences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "anyone"),
        ("", "anyone"),
        ("Anyone", "anyone"),
        ("hub", "hub"),
        (" HUB ", "hub"),
        ("bob", "bob"),
        ("bob, carol,,group:physics", "bob,carol,group:physics"),
        ("bob,bob,GROUP:physics", "bob,group:physics"),
    ],
)
def test_audiences_are_written_and_read_back(text, expected):
    audience = Audience.parse(text)
    assert str(audience) == expected
    assert Audience.from_json(audience.to_json()) == audience


@pytest.mark.parametrize(
    "text", ["bob carol", "../bob", "group:", "a/b", ",".join(f"u{i}" for i in range(201))]
)
def test_odd_names_are_refused_in_words(text):
    with pytest.raises(NbshareError) as refused:
        Audience.parse(text)
    assert refused.value.code == "bad_audience" and refused.value.status == 400


def test_who_is_admitted():
    assert Audience().admits(None) and Audience().admits(BOB)
    assert not Audience(hub=True).admits(None) and Audience(hub=True).admits(BOB)
    named = Audience.parse("bob,group:physics")
    assert named.admits(BOB) and named.admits(CAROL)
    assert not named.admits(ALICE) and not named.admits(None)
    assert named.describe() == "bob, group physics"


# --- the share service ------------------------------------------------------------------------


@pytest.fixture
def service(tmp_path, renderer):
    settings = Settings(
        data_dir=tmp_path / "data", public_url="http://hub.test/services/nbshare", hub_auth=True
    )
    return build_service(settings, renderer=renderer)


def test_without_hub_login_only_anyone_is_possible(tmp_path, renderer):
    plain = build_service(Settings(data_dir=tmp_path / "plain"), renderer=renderer)
    with pytest.raises(NbshareError) as refused:
        run(plain.create(NB, filename="a.ipynb", title=None, owner_user=ALICE, audience=Audience(hub=True)))
    assert refused.value.code == "no_hub_login"
    created = run(plain.create(NB, filename="a.ipynb", title=None))
    assert created.share.row.audience is None and created.share.row.owner_user is None


def test_choosing_an_audience_needs_a_signed_in_uploader(service):
    with pytest.raises(HubLoginRequired):
        run(service.create(NB, filename="a.ipynb", title=None, audience=Audience(hub=True)))


def test_reading_follows_the_audience_and_the_owner_always_reads(service):
    created = run(
        service.create(
            NB, filename="a.ipynb", title=None, owner_user=ALICE, audience=Audience.parse("group:physics")
        )
    )
    share_id = created.share.id
    assert not created.share.row.discoverable  # never indexed while it needs a sign-in
    with pytest.raises(HubLoginRequired):
        run(service.open(share_id))
    with pytest.raises(Forbidden) as outside:
        run(service.open(share_id, hub_user=BOB))
    assert outside.value.code == "not_in_audience" and "bob" in outside.value.message
    assert run(service.open(share_id, hub_user=CAROL)).private  # no shared cache, public origin
    assert run(service.open(share_id, hub_user=ALICE)).as_owner
    # The owner token reads it too, signed in or not.
    assert run(service.open(share_id, owner_token=created.owner_token)).as_owner


def test_the_hub_owner_manages_without_the_token_and_nobody_else_does(service):
    created = run(service.create(NB, filename="a.ipynb", title=None, owner_user=ALICE))
    share_id = created.share.id
    changed = run(
        service.configure(share_id, None, hub_user=ALICE, audience=Audience(hub=True), expires="7d")
    )
    assert changed.row.audience == {"hub": True} and changed.row.expires_at is not None
    with pytest.raises(Forbidden) as refused:
        run(service.delete(share_id, None, BOB))
    assert refused.value.code == "not_the_owner"
    with pytest.raises(Forbidden):
        run(service.delete(share_id, None, None))
    with pytest.raises(Forbidden):  # a wrong token is wrong, whoever is signed in
        run(service.delete(share_id, "not-the-token", ALICE))
    assert [row.id for row, _ in run(service.shares_of(ALICE))] == [share_id]
    assert run(service.shares_of(BOB)) == []
    run(service.delete(share_id, None, ALICE))
    assert run(service.shares_of(ALICE)) == []


def test_a_protected_shares_content_stays_with_its_token(service):
    created = run(service.create(NB, filename="a.ipynb", title=None, owner_user=ALICE, password=PASSWORD))
    share_id = created.share.id
    for attempt in (
        lambda: service.update(share_id, None, NB, filename="a.ipynb", title=None, hub_user=ALICE),
        lambda: service.versions(share_id, None, ALICE),
        lambda: service.configure(share_id, None, hub_user=ALICE, password=OTHER_PASSWORD),
        lambda: service.configure(share_id, None, hub_user=ALICE, password=None),
    ):
        with pytest.raises(Forbidden) as refused:
            run(attempt())
        assert refused.value.code == "owner_token_needed"
    # What needs no key is the Hub owner's to change.
    changed = run(service.configure(share_id, None, hub_user=ALICE, max_views=5))
    assert changed.row.max_views == 5
    # An unprotected share gets no password from a Hub sign-in either: the key would have
    # nothing of the owner's to be sealed under.
    plain = run(service.create(NB, filename="b.ipynb", title=None, owner_user=ALICE))
    with pytest.raises(Forbidden) as refused:
        run(service.configure(plain.share.id, None, hub_user=ALICE, password=PASSWORD))
    assert refused.value.code == "owner_token_needed"


# --- what `nbshare serve` takes from the Hub ----------------------------------------------------

HUB_ENV = {
    "JUPYTERHUB_SERVICE_NAME": "nbshare",
    "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101",
    "JUPYTERHUB_SERVICE_PREFIX": "/services/nbshare/",
    "JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/services/nbshare/",
    "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
    "JUPYTERHUB_API_TOKEN": "service-token",
    "JUPYTERHUB_CLIENT_ID": "service-nbshare",
    "JUPYTERHUB_OAUTH_ACCESS_SCOPES": '["access:services!service=nbshare"]',
    "JUPYTERHUB_BASE_URL": "/",
}


def test_serve_listens_and_links_where_the_hub_says(tmp_path):
    settings = Settings.from_env({**HUB_ENV, "NBSHARE_HUB_AUTH": "true", "NBSHARE_DATA_DIR": str(tmp_path)})
    assert (settings.host, settings.port) == ("127.0.0.1", 10101)
    assert settings.public_url == "https://hub.example.org/services/nbshare"
    assert settings.hub_auth
    hub = HubService.from_env(HUB_ENV)
    assert hub is not None and hub.callback_url == "/services/nbshare/oauth_callback"
    assert hub.hub_prefix == "/hub/" and hub.access_scopes == {"access:services!service=nbshare"}
    assert "service-token" not in repr(hub)
    # NBSHARE_* variables win over the Hub's.
    mine = Settings.from_env({**HUB_ENV, "NBSHARE_PORT": "9000", "NBSHARE_DATA_DIR": str(tmp_path)})
    assert mine.port == 9000


def test_serve_refuses_what_cannot_work_under_the_hub(tmp_path):
    without_public = {k: v for k, v in HUB_ENV.items() if k != "JUPYTERHUB_PUBLIC_URL"}
    with pytest.raises(ValueError, match="c.JupyterHub.public_url"):
        Settings.from_env({**without_public, "NBSHARE_DATA_DIR": str(tmp_path)})
    given = Settings.from_env(
        {
            **without_public,
            "NBSHARE_PUBLIC_URL": "https://hub.test/services/nbshare",
            "NBSHARE_DATA_DIR": str(tmp_path),
        }
    )
    assert given.public_url == "https://hub.test/services/nbshare"
    with pytest.raises(ValueError, match="/services/nbshare/"):
        Settings.from_env(
            {**HUB_ENV, "NBSHARE_PUBLIC_URL": "https://hub.test/", "NBSHARE_DATA_DIR": str(tmp_path)}
        )
    with pytest.raises(ValueError, match="service of the Hub"):
        Settings.from_env({"NBSHARE_HUB_AUTH": "true", "NBSHARE_DATA_DIR": str(tmp_path)})


# --- where the client sends a Hub token -----------------------------------------------------------

SINGLE_USER = {
    "JUPYTERHUB_API_TOKEN": "alices-server-token",
    "JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example.org/hub/",
    "JUPYTERHUB_BASE_URL": "/",
    "NBSHARE_SERVER": "https://hub.example.org/services/nbshare",  # the admin's, in the spawner
}


@pytest.mark.parametrize(
    ("server", "sent"),
    [
        ("https://hub.example.org/services/nbshare", True),
        ("https://HUB.example.org:443/services/nbshare/", True),
        ("https://hub.example.org/", False),  # the Hub itself, not a service
        ("https://hub.example.org/services/other", False),  # another service of the Hub
        # out of the service's path: httpx would send it to mallory's server
        ("https://hub.example.org/services/nbshare/../../user/mallory", False),
        ("https://hub.example.org/services/nbshare/%2e%2e/%2e%2e/user/mallory", False),
        ("https://hub.example.org//services/nbshare", False),
        ("https://someone@hub.example.org/services/nbshare", False),
        ("https://hub.example.org/user/mallory/proxy/8000", False),  # a user's server
        ("http://hub.example.org/services/nbshare", False),  # not over the Hub's scheme
        ("https://hub.example.org.evil.test/services/nbshare", False),
        ("https://nbshare.example.com", False),
    ],
)
def test_the_hub_token_goes_only_to_the_hubs_own_services(server, sent):
    assert (hub_token_for(server, SINGLE_USER) == "alices-server-token") is sent


def test_no_hub_token_without_the_hubs_public_address_or_the_admins_server():
    for missing in ("JUPYTERHUB_PUBLIC_HUB_URL", "NBSHARE_SERVER"):
        partial = {k: v for k, v in SINGLE_USER.items() if k != missing}
        assert hub_token_for("https://hub.example.org/services/nbshare", partial) is None
    assert hub_token_for("https://hub.example.org/services/nbshare", {}) is None


def test_a_download_path_from_the_server_gets_the_hub_token_only_inside_its_path():
    """The share's description names the paths to download; a hostile server could name
    one that walks out of its own path, to another server of the Hub. A recording server
    on loopback stands for the Hub's proxy."""
    from nbshare.client import NbshareClient

    seen: list[tuple[str, str | None]] = []

    async def recorder(scope, receive, send):
        headers = dict(scope["headers"])
        seen.append((scope["raw_path"].decode(), (headers.get(b"authorization") or b"").decode() or None))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    with serve_in_thread(recorder) as hub_url:
        client = NbshareClient(f"{hub_url}/services/nbshare", hub_token=HUB_TOKEN)
        client.download(f"{hub_url}/services/nbshare/n/ID.ipynb")
        client.download(f"{hub_url}/services/nbshare/n/%2e%2e/%2e%2e/%2e%2e/user/mallory/x")
        client.download(f"{hub_url}/user/mallory/x")
        client.close()
    assert seen[0] == ("/services/nbshare/n/ID.ipynb", "token hub-token")
    assert len(seen) == 3 and all(auth is None for _, auth in seen[1:])


def test_the_owner_token_wins_over_the_hub_token():
    from nbshare.client import NbshareClient

    client = NbshareClient("https://hub.example.org/services/nbshare", hub_token=HUB_TOKEN)
    assert client._auth("owner-token") == {"Authorization": "Bearer owner-token"}
    assert client._auth(None) == {"Authorization": "token hub-token"}
    client.close()


def test_a_hub_user_is_a_plain_value():
    assert replace(BOB, groups=frozenset({"x"})).name == "bob"
