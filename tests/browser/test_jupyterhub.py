"""nbshare as a JupyterHub service, against a real JupyterHub (hub_helpers.py): the Hub starts
`nbshare serve` with its service variables, nbshare answers at /services/nbshare/ through
the Hub's proxy, and Hub login (hub_auth) decides who reads what.

In the API: a Hub token makes its user the owner of what they publish, who may then manage
it without the owner token; `visible_to` keeps a share to the Hub's users or to named users
and groups. In Chromium: alice shares from her JupyterLab and manages the share from her
list of shares; bob, signed in, reads it and opens a copy in his own JupyterLab; a visitor
who is not signed in is sent to the Hub's login."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from helpers import NOTEBOOK_TYPE, PYTHON_KERNEL, code, markdown, notebook
from hub_helpers import PASSWORD, start_hub

WAIT = 240_000  # ms: JupyterLab's first load on a busy machine is slow
NB = notebook(markdown("# Results for the group"), code("answer = 42", "c1"), **PYTHON_KERNEL)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    live = start_hub(tmp_path_factory.mktemp("hub"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def tokens(hub):
    """An nbshare-only token per user, as a script of theirs would use."""
    return {user: hub.token(user) for user in ("alice", "bob", "carol")}


def as_user(token: str | None) -> dict[str, str]:
    return {"Authorization": f"token {token}"} if token else {}


def publish(hub, token: str | None, visible_to: str | None = None) -> httpx.Response:
    params = {"filename": "results.ipynb", **({"visible_to": visible_to} if visible_to else {})}
    headers = {"Content-Type": NOTEBOOK_TYPE, **as_user(token)}
    return httpx.post(f"{hub.nbshare}/api/v1/shares", params=params, content=NB, headers=headers, timeout=120)


def describe(hub, share_id: str, token: str | None = None) -> httpx.Response:
    return httpx.get(f"{hub.nbshare}/api/v1/shares/{share_id}", headers=as_user(token), timeout=60)


# --- the service and the API --------------------------------------------------------------


def test_the_hub_runs_nbshare_at_its_service_prefix(hub):
    assert httpx.get(f"{hub.nbshare}/healthz", timeout=30).json()["ok"] is True
    home = httpx.get(f"{hub.nbshare}/", timeout=30)
    assert home.status_code == 200
    assert 'href="/services/nbshare/static/app.css"' in home.text  # the prefix, from the Hub


def test_a_hub_token_makes_its_user_the_owner(hub, tokens):
    created = publish(hub, tokens["alice"])
    assert created.status_code == 201, created.text
    share = created.json()
    assert share["url"].startswith(f"{hub.nbshare}/n/")  # the public URL, from the Hub's variables
    assert share["owner_user"] == "alice" and share["visible_to"] == "anyone"
    # Anyone with the link reads it, signed in or not.
    assert describe(hub, share["id"]).status_code == 200
    # alice manages it without the owner token; bob cannot.
    changed = httpx.patch(
        f"{hub.nbshare}/api/v1/shares/{share['id']}",
        json={"expires": "7d"},
        headers=as_user(tokens["alice"]),
        timeout=60,
    )
    assert changed.status_code == 200 and changed.json()["expires_at"], changed.text
    refused = httpx.delete(
        f"{hub.nbshare}/api/v1/shares/{share['id']}", headers=as_user(tokens["bob"]), timeout=60
    )
    assert (
        refused.status_code == 403
        and "signed in to the JupyterHub as bob" in refused.json()["error"]["message"]
    )
    gone = httpx.delete(
        f"{hub.nbshare}/api/v1/shares/{share['id']}", headers=as_user(tokens["alice"]), timeout=60
    )
    assert gone.status_code == 204
    assert describe(hub, share["id"]).status_code == 404


def test_a_hub_only_share_is_read_by_the_hubs_users_only(hub, tokens):
    share = publish(hub, tokens["alice"], "hub").json()
    assert share["visible_to"] == "hub"
    anonymous = describe(hub, share["id"])
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "hub_login_required"
    assert "sign in to the JupyterHub" in anonymous.json()["error"]["message"]
    assert describe(hub, share["id"], tokens["bob"]).status_code == 200
    for path in (".ipynb", "/content"):  # the content routes obey it too: off to sign in
        signed_out = httpx.get(f"{hub.nbshare}/n/{share['id']}{path}", timeout=60)
        assert signed_out.status_code == 302
        assert signed_out.headers["location"].startswith(f"{hub.url}/hub/api/oauth2/authorize?")
        answer = httpx.get(f"{hub.nbshare}/n/{share['id']}{path}", headers=as_user(tokens["bob"]), timeout=60)
        assert answer.status_code == 200, path
        assert "no-store" in answer.headers["cache-control"]  # never in a shared cache
    # A path no header could carry decoded (a notebook named in another script) still sends
    # the visitor to sign in, and back to it as the browser wrote it.
    odd = httpx.get(f"{hub.nbshare}/n/{share['id']}/nb/%E6%97%A5%E6%9C%AC.ipynb", timeout=60)
    assert odd.status_code == 302 and "/hub/api/oauth2/authorize?" in odd.headers["location"]
    download = httpx.get(f"{hub.nbshare}/n/{share['id']}.ipynb", headers=as_user(tokens["carol"]), timeout=60)
    assert download.content == NB


def test_named_users_and_groups(hub, tokens):
    share = publish(hub, tokens["alice"], "group:physics").json()  # carol is in physics
    assert describe(hub, share["id"], tokens["carol"]).status_code == 200
    bob = describe(hub, share["id"], tokens["bob"])
    assert bob.status_code == 403 and bob.json()["error"]["code"] == "not_in_audience"
    # Told what kind of audience it is, not who is in it.
    assert "named users" in bob.json()["error"]["message"] and "physics" not in bob.json()["error"]["message"]
    # alice names bob as well; her own share stays hers to read.
    changed = httpx.patch(
        f"{hub.nbshare}/api/v1/shares/{share['id']}",
        json={"visible_to": "bob, group:physics"},
        headers=as_user(tokens["alice"]),
        timeout=60,
    )
    assert changed.json()["visible_to"] == "bob,group:physics"
    assert describe(hub, share["id"], tokens["bob"]).status_code == 200
    assert describe(hub, share["id"], tokens["alice"]).status_code == 200


def test_choosing_an_audience_needs_a_hub_sign_in_and_valid_names(hub, tokens):
    anonymous = publish(hub, None, "hub")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "hub_login_required"
    odd = publish(hub, tokens["alice"], "bob,/etc")
    assert odd.status_code == 400 and odd.json()["error"]["code"] == "bad_audience"


def test_a_token_nbshare_may_not_use_counts_only_where_it_matters(hub, tokens):
    """A Hub token without access to nbshare (or unknown to the Hub) is refused where a
    sign-in matters, and ignored where it does not: the upload is then anonymous."""
    narrow = hub.token("bob", scopes=["read:users:name!user"])
    restricted = publish(hub, narrow, "hub")
    assert restricted.status_code == 403 and restricted.json()["error"]["code"] == "hub_scope_missing"
    assert "access:services!service=nbshare" in restricted.json()["error"]["message"]
    unknown = publish(hub, "not-a-token-of-this-hub", "hub")
    assert unknown.status_code == 403 and unknown.json()["error"]["code"] == "bad_hub_token"
    anonymous = publish(hub, narrow)
    assert anonymous.status_code == 201 and anonymous.json()["owner_user"] is None
    hub_only = publish(hub, tokens["alice"], "hub").json()
    refused = describe(hub, hub_only["id"], narrow)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "hub_scope_missing"


# --- in the browser -------------------------------------------------------------------------


def sign_in(context, hub, user: str):
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf".*/(hub/(home|spawn.*)|user/{user}/.*)"))
    return page


def test_alice_shares_from_jupyterlab_and_bob_opens_a_copy_in_his(hub, browser):
    """The issue's walk-through: alice shares from her JupyterLab, finds the share in her list
    and keeps it to the Hub's users without the owner token; bob, signed in to the Hub,
    reads it and uses "Open in my Jupyter": the copy is in bob's server, not alice's."""
    (hub.home("alice") / "results.ipynb").write_bytes(NB)
    hub.start_server("alice")
    hub.start_server("bob")
    alice = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = sign_in(alice, hub, "alice")
        page.goto(f"{hub.url}/user/alice/lab/tree/results.ipynb")
        page.locator(".jp-NotebookPanel .nbshare-share-button").first.click()
        page.locator(".jp-Dialog .nbshare-dialog").wait_for(state="visible")
        page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
        link = page.locator(".jp-Dialog .nbshare-link")
        link.wait_for(state="visible")
        url = link.input_value()
        assert url.startswith(f"{hub.nbshare}/n/")
        share_id = url.rsplit("/", 1)[-1]

        # Her list of shares: nbshare signs her in through the Hub, with no question asked.
        mine = alice.new_page()
        mine.set_default_timeout(WAIT)
        mine.goto(f"{hub.nbshare}/mine")
        assert mine.locator("#hub-user").inner_text() == "alice"
        row = mine.locator(f"tr[data-share='{share_id}']")
        assert "Results for the group" in row.inner_text() and "anyone with the link" in row.inner_text()

        # Managed without the owner token: keep it to the Hub's users.
        row.locator("a", has_text="Manage").click()
        mine.locator("#manage-status", has_text="signed in to the JupyterHub as alice").wait_for()
        # The form is filled in once the page has asked the API (signed in, no token).
        mine.wait_for_function("document.getElementById('set-visible-to').value === 'anyone'")
        mine.fill("#set-visible-to", "hub")
        mine.locator("#settings-form button[type=submit]").click()
        mine.locator("#manage-status", has_text="Saved.").wait_for()
        assert describe(hub, share_id).status_code == 401
    finally:
        alice.close()

    bob = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        sign_in(bob, hub, "bob")
        page = bob.new_page()
        page.set_default_timeout(WAIT)
        page.goto(url)  # through the Hub's login, bob being signed in there already
        assert page.url == url
        frame = page.frame(name="notebook")
        assert frame is not None
        frame.locator("h1", has_text="Results for the group").wait_for()

        page.locator("#clone summary, #clone-heading").first.click()
        with bob.expect_page() as opened:
            page.locator("#open-in-jupyter").click()  # the operator's jupyter_url: no question
        tab = opened.value
        tab.set_default_timeout(WAIT)
        tab.locator("#open-copy").click()
        try:
            tab.wait_for_url(re.compile(r".*/user/bob/lab/tree/.*"), wait_until="commit")
        except PlaywrightTimeout:
            raise AssertionError(f"never reached bob's JupyterLab; the tab shows {tab.url}") from None
        copied = tab.url.split("/lab/tree/", 1)[1]
        # The Share button saved alice's notebook first: bob has her file as saved.
        assert (hub.home("bob") / copied).read_bytes() == (hub.home("alice") / "results.ipynb").read_bytes()
        assert not (hub.home("alice") / copied).exists()
    finally:
        bob.close()


def test_a_signed_out_visitor_is_sent_to_the_hubs_login(hub, browser, tokens):
    share = publish(hub, tokens["alice"], "hub").json()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT)
        page.goto(share["url"])
        page.wait_for_url(re.compile(r".*/hub/login.*"))
        assert page.locator("#username_input").is_visible()
        assert "Results for the group" not in page.content()
    finally:
        context.close()
