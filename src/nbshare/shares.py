"""The share service: create, open, update, configure and delete shares.

Handlers call this; it calls rendering, storage and security. Order of writes: render
(nothing stored yet) -> blobs, each durable before `put` returns -> one transaction for
the rows. A crash can leave blobs without a row (invisible) but never a row without its
blobs. Every read checks that the share exists, has not expired and has views left,
and answers the same NotFound for all three, so a visitor cannot tell which.

A view of a view-limited share: every read of its content by a visitor counts one, unless
the reader holds the view grant that their counted view handed out (`take_view`). The
last view burns the share: from then on only that reader's grant opens it, and the share
is deleted when the grant runs out (VIEW_LIFETIME later), so the reader who was counted
gets the page, its frame and its files.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import anyio

from . import protection, urls
from .audience import ANYONE, Audience, HubUser, Identify
from .errors import Forbidden, HubLoginRequired, NbshareError, NotFound, PasswordRequired, WrongPassword
from .expiry import choose_expiry
from .manifest import NotebookEntry
from .metrics import NoMetrics
from .prepare import Prepared, Preparer, is_bundle
from .protection import VersionMeta
from .render import RenderedPage
from .render.pool import RenderPool
from .render.quota import RendersPerClient
from .security import crypto, grants, tokens
from .security.lanes import Lane, SlowLanes
from .security.throttle import Attempt, GuessThrottle, TooManyAttempts
from .settings import Settings
from .store import BlobStore, MetadataStore, ShareRow, VersionRow, keys
from .unset import UNSET

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")


def _counted_as_upload(
    method: Callable[Concatenate[ShareService, P], Awaitable[T]],
) -> Callable[Concatenate[ShareService, P], Awaitable[T]]:
    """Counts a call in the uploads metric by its outcome, keeping the method's signature."""

    @functools.wraps(method)
    async def counted(self: ShareService, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self.metrics.upload():
            return await method(self, *args, **kwargs)

    return counted


GONE = "This share does not exist or has expired."
# A crashed upload's blobs and temporary files are swept once this old: no upload in
# progress is (a render times out in a minute), so none is swept from under its writer.
LEFTOVER_AGE = timedelta(hours=1)
SWEEP_EVERY = timedelta(minutes=30)  # listing every blob each purge would be wasteful
# Numbers from clients are bounded before they reach a database: PostgreSQL's INTEGER is
# 32-bit, and SQLite's driver overflows past 64 bits.
MAX_VIEWS = 1_000_000_000
MAX_VERSION = 2**31 - 1
# How long a counted view of a view-limited share lasts: its page, frame, files and
# downloads load without counting again for this long.
VIEW_LIFETIME = timedelta(minutes=10)
# A burn sets the expiry VIEW_LIFETIME ahead on the clock of the instance that counted the
# view; another instance's clock may run a little behind. Only an expiry further ahead than
# both together means the burn was cut short.
BURN_MARK_LIMIT = VIEW_LIFETIME + timedelta(minutes=5)


@dataclass(frozen=True)
class Share:
    """A share as a handler sees it: its row, the version looked at, and what may be shown.

    `meta` is None and `data_key` absent while a protected share is locked. `as_owner`:
    opened with the owner token or a valid owner session, not merely with such a cookie."""

    row: ShareRow
    version: VersionRow
    meta: VersionMeta | None
    data_key: bytes | None = None
    as_owner: bool = False
    in_view: bool = False  # the reader holds a view grant for this version

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def limited(self) -> bool:
        return self.row.max_views is not None

    @property
    def is_current(self) -> bool:
        return self.version.number == self.row.current_version

    @property
    def audience(self) -> Audience:
        return Audience.from_json(self.row.audience)

    @property
    def private(self) -> bool:
        """Read under a grant (a password's, a counted view's, or a Hub sign-in): never kept
        in a shared cache, and framed from the public origin, where the cookies live. A
        cached copy of a view-limited share would be a view nobody counted."""
        return self.row.protected or self.limited or self.row.audience is not None

    @property
    def withheld(self) -> bool:
        """Whether its content is kept from this reader: a view-limited share's headings,
        file and notebook names are content, for the reader whose view was counted (and
        the owner) only. Its title and settings are not, and describing it uses no view."""
        return self.limited and not (self.as_owner or self.in_view)

    def notebook(self, path: str) -> NotebookEntry:
        """A notebook of this bundle, by its path in the bundle."""
        entry = self.meta.manifest.notebook(path) if self.meta and self.version.kind == "bundle" else None
        if entry is None:
            raise NotFound("This bundle has no notebook by that name.")
        return entry

    def frame_page(self, notebook: str | None) -> str:
        """Which page the sandboxed frame shows (as `ShareService.read` takes it): the
        version's, a bundle notebook's, or (notebook None) a bundle's README's."""
        if notebook is not None:
            return self.notebook(notebook).page_key
        if self.version.kind != "bundle":
            return "page"
        readme = self.meta.manifest.readme if self.meta else None
        if readme is None:
            raise NotFound("This bundle has no README.")
        return readme.page_key


@dataclass(frozen=True)
class Read:
    """What a reader gets: the bytes, and the view grant their counted view hands out."""

    data: bytes
    view_grant: str | None = None
    gzipped: bool = False  # `data` is a page as stored, gzip-compressed


@dataclass(frozen=True)
class CreatedShare:
    share: Share
    owner_token: str  # shown once, to the uploader; only its hash is kept


def upload_name(name: str | None, *, suffix: str = ".ipynb", default: str = "notebook.ipynb") -> str:
    """An upload's shown and downloaded name: last path part, no control characters, ends in `suffix`."""
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if c.isprintable()).strip().strip(".")[:200]
    if not name:
        name = default
    if not name.lower().endswith(suffix):
        name += suffix
    return name


def check_password_text(password: str) -> str:
    if not password or not password.strip():
        raise NbshareError("The password is empty.", code="bad_password")
    if len(password) > 1024:
        raise NbshareError("The password is longer than 1024 characters.", code="bad_password")
    return password


class ShareService:
    def __init__(
        self,
        settings: Settings,
        metadata: MetadataStore,
        blobs: BlobStore,
        renderer: RenderPool,
        *,
        server_key: grants.ServerKey,
        clock: Callable[[], datetime] | None = None,
        metrics: NoMetrics | None = None,
    ):
        self.settings = settings
        self.metrics = metrics or NoMetrics()
        self.metadata = metadata
        self.blobs = blobs
        self.renderer = renderer
        self.server_key = server_key
        self.clock = clock or (lambda: datetime.now(UTC))
        self.static_url = urls.root_path(settings.frame_url) + "/static"
        self.preparer = Preparer(settings, self._timed_render, self.static_url)
        self.renders = RendersPerClient(settings.max_renders_per_client)
        self.throttle = GuessThrottle(
            metadata.engine,
            per_client=settings.unlock_attempts,
            per_share=settings.unlock_attempts_per_share,
            clock=lambda: self.clock().timestamp(),
        )
        # Counting guesses is one database write at a time per process (throttle.py). A
        # thread of its own does them, so a flood of guesses waits here, as coroutines,
        # instead of holding the threads every other request needs for its storage calls.
        self._counting = ThreadPoolExecutor(1, thread_name_prefix="nbshare-guesses")
        self.slow_lanes = SlowLanes()
        # A bound for everyone: Argon2 takes 19 MiB and tens of milliseconds a check.
        self.hashing = Lane(settings.max_concurrent_hashes, waiting=4 * settings.max_concurrent_hashes)

    # -- creating and updating -------------------------------------------------------

    async def _prepare(
        self,
        share_id: str,
        number: int,
        data: bytes,
        *,
        filename: str | None,
        title: str | None,
        sealed: bool,
        client: str | None,
    ) -> Prepared:
        with self.renders.slot(client):
            return await self._render(share_id, number, data, filename=filename, title=title, sealed=sealed)

    async def _render(
        self,
        share_id: str,
        number: int,
        data: bytes,
        *,
        filename: str | None,
        title: str | None,
        sealed: bool,
    ) -> Prepared:
        now = self.clock()
        if is_bundle(data, filename):
            name = upload_name(filename, suffix=".zip", default="bundle.zip")
            return await self.preparer.bundle(
                share_id, number, data, filename=name, title=title, sealed=sealed, now=now
            )
        return await self.preparer.notebook(
            share_id, number, data, filename=upload_name(filename), title=title, sealed=sealed, now=now
        )

    async def _timed_render(self, data: bytes, **options: Any) -> RenderedPage:
        with self.metrics.render():
            return await self.renderer.render(data, **options)

    @_counted_as_upload
    async def create(
        self,
        data: bytes,
        *,
        filename: str | None,
        title: str | None,
        password: str | None = None,
        expires: str | None = None,
        max_views: int | None = None,
        client: str | None = None,
        discoverable: bool = False,
        owner_user: HubUser | None = None,
        audience: Audience = ANYONE,
    ) -> CreatedShare:
        """A new share from a notebook or a bundle (a .zip of notebooks and files).
        `client` (an address) limits how many uploads one client renders at once;
        `discoverable` lets search engines index its pages. On a Hub with Hub login,
        `owner_user` (who uploads) manages it without the token, and `audience` says who
        may read it."""
        now = self.clock()
        self._check_audience(audience, owner_user)
        expires_at = choose_expiry(
            expires, now, default=self.settings.default_expiry, maximum=self.settings.max_expiry
        )
        _check_max_views(max_views)
        if password is not None:
            check_password_text(password)
        share_id, owner_token = tokens.new_share_id(), tokens.new_owner_token()
        prepared = await self._prepare(
            share_id, 1, data, filename=filename, title=title, sealed=password is not None, client=client
        )
        row = ShareRow(
            share_id,
            tokens.hash_token(owner_token),
            now,
            now,
            1,
            expires_at=expires_at,
            max_views=max_views,
            discoverable=discoverable and audience.anyone,  # never index what needs a sign-in
            owner_user=owner_user.name if owner_user else None,
            audience=audience.to_json(),
        )
        data_key = None
        if password is not None:
            async with self.hashing.turn():
                row, data_key = await anyio.to_thread.run_sync(_protect, row, password, owner_token)
        stored, meta = await anyio.to_thread.run_sync(self._store_new, row, prepared, data_key)
        log.info(
            "created share %s (%s, %d bytes, %s)",
            tokens.redact_id(share_id),
            prepared.version.kind,
            len(data),
            "protected" if data_key else "public",
        )
        return CreatedShare(Share(row, stored, meta, data_key, as_owner=True), owner_token)

    def _store_new(
        self, row: ShareRow, prepared: Prepared, data_key: bytes | None
    ) -> tuple[VersionRow, VersionMeta]:
        stored, meta = protection.write_version(self.blobs, prepared.version, prepared.content, data_key)
        try:
            self.metadata.add_share(row, stored)
        except BaseException:
            self._forget(stored, meta)  # leave nothing half-stored
            raise
        return stored, meta

    @_counted_as_upload
    async def update(
        self,
        share_id: str,
        owner_token: str | None,
        data: bytes,
        *,
        filename: str | None,
        title: str | None,
        client: str | None = None,
        hub_user: HubUser | None = None,
    ) -> Share:
        """New content at the same link: a new version; earlier grants stop working."""
        row, _ = await self._owned(share_id, owner_token, hub_user=hub_user)
        data_key = self._owner_data_key(row, owner_token)
        prepared = await self._prepare(
            share_id,
            row.current_version + 1,
            data,
            filename=filename,
            title=title,
            sealed=data_key is not None,
            client=client,
        )
        stored, meta = await anyio.to_thread.run_sync(self._store_update, row, prepared, data_key)
        log.info("updated share %s to version %d", tokens.redact_id(share_id), stored.number)
        fresh, _ = await self._lookup(share_id)
        return Share(fresh, stored, meta, data_key, as_owner=True)

    def _store_update(
        self, row: ShareRow, prepared: Prepared, data_key: bytes | None
    ) -> tuple[VersionRow, VersionMeta]:
        # Another update may be storing the same version number at the same time: each
        # writes blobs of its own names (protection.blob_keys), and the one whose row does
        # not go in deletes exactly its own, never the version's folder.
        stored, meta = protection.write_version(self.blobs, prepared.version, prepared.content, data_key)
        try:
            added = self.metadata.add_version(
                stored,
                expected_current=row.current_version,
                expected_epoch=row.access_epoch,
                updated_at=self.clock(),
            )
        except BaseException:
            self._forget(stored, meta)
            raise
        if not added:
            self._forget(stored, meta)
            raise NbshareError(
                "The share was updated at the same time; try again.", code="conflict", status=409
            )
        return stored, meta

    def _forget(self, stored: VersionRow, meta: VersionMeta) -> None:
        """Delete the blobs of a version whose row never went in."""
        for key in protection.version_blob_keys(stored, meta):
            self.blobs.delete(key)

    async def configure(
        self,
        share_id: str,
        owner_token: str | None,
        *,
        expires: object = UNSET,
        max_views: object = UNSET,
        password: object = UNSET,
        versions_public: object = UNSET,
        discoverable: object = UNSET,
        audience: object = UNSET,
        hub_user: HubUser | None = None,
    ) -> Share:
        """Change expiry, view limit, password (None removes it), version visibility,
        whether search engines may index the share's pages, or who may read it (Hub)."""
        row, _ = await self._owned(share_id, owner_token, hub_user=hub_user)
        now = self.clock()
        fields: dict[str, Any] = {"updated_at": now}
        if expires is not UNSET:
            fields["expires_at"] = choose_expiry(
                cast("str | None", expires),
                now,
                default=self.settings.default_expiry,
                maximum=self.settings.max_expiry,
            )
        if max_views is not UNSET:
            _check_max_views(max_views)
            fields["max_views"] = max_views
            fields["views"] = 0  # a new limit counts from now
        if versions_public is not UNSET:
            fields["versions_public"] = bool(versions_public)
        if audience is not UNSET:
            assert isinstance(audience, Audience)
            if audience.to_json() != row.audience:
                # The uploader was signed in, or is now: the owner token may keep it so.
                uploader = hub_user or (HubUser(row.owner_user) if row.owner_user else None)
                self._check_audience(audience, uploader)
            fields["audience"] = audience.to_json()
        if discoverable is not UNSET:
            fields["discoverable"] = bool(discoverable)
        restricted = audience is not UNSET and not cast(Audience, audience).anyone
        if restricted or (audience is UNSET and row.audience is not None):
            fields["discoverable"] = False  # never index what needs a sign-in
        version_changes: dict[int, dict[str, Any]] = {}
        stale: list[str] = []
        if password is not UNSET:
            version_changes, stale, protect_fields = await self._reprotect(row, owner_token, password)
            fields.update(protect_fields)
        # Re-keying covered the versions that existed when it started; if an update or
        # another change slipped in since, this one is refused rather than half-applied.
        expected = None
        if password is not UNSET:
            expected = {"current_version": row.current_version, "access_epoch": row.access_epoch}
        applied = await anyio.to_thread.run_sync(
            lambda: self.metadata.update_share(share_id, version_changes, expected=expected, **fields)
        )
        if not applied:
            fresh = {
                k
                for changes in version_changes.values()
                for k in changes.values()
                if isinstance(k, str) and k.startswith(f"{keys.share_folder(share_id)}/")
            }
            for key in fresh:
                await anyio.to_thread.run_sync(self.blobs.delete, key)
            raise NbshareError("The share changed at the same time; try again.", code="conflict", status=409)
        for key in stale:  # only now that no row points at them
            await anyio.to_thread.run_sync(self.blobs.delete, key)
        try:
            return await self.open(share_id, owner_token=owner_token, hub_user=hub_user)
        except PasswordRequired:  # its Hub owner, without the key to a protected share's content
            now_row, current = await self._lookup(share_id)
            return Share(now_row, current, None, as_owner=True)

    def _check_audience(self, audience: Audience, uploader: HubUser | None) -> None:
        if audience.anyone:
            return
        if not self.settings.hub_auth:
            raise NbshareError(
                "Only anyone-with-the-link shares are possible here: this server has no"
                " JupyterHub login (hub_auth).",
                code="no_hub_login",
            )
        if uploader is None:
            raise HubLoginRequired(
                "Sign in to the JupyterHub to choose who may read a share: it is yours to manage then."
            )

    async def _reprotect(
        self, row: ShareRow, owner_token: str | None, password: object
    ) -> tuple[dict[int, dict[str, Any]], list[str], dict[str, Any]]:
        """Seal every version under a new data key for a new password, or unseal them (None).

        A new password gets a new data key, so whoever learnt the old password and kept a
        copy of the old wrapped key cannot read what is stored from now on."""
        if owner_token is None:  # signed in to the Hub: the key would have nothing to wrap it
            raise Forbidden(
                "A password can only be set or removed with the share's owner token: the"
                " share's key is sealed under it.",
                code="owner_token_needed",
            )
        old_key = self._owner_data_key(row, owner_token)
        fields: dict[str, Any] = {"access_epoch": row.access_epoch + 1}
        if password is None:
            new_key = None
            fields.update(
                password_hash=None, key_salt=None, password_wrapped_key=None, owner_wrapped_key=None
            )
        else:
            check_password_text(password)  # type: ignore[arg-type]
            async with self.hashing.turn():
                protected, new_key = await anyio.to_thread.run_sync(
                    _protect,
                    row,
                    cast(str, password),
                    owner_token,
                )
            fields.update(
                password_hash=protected.password_hash,
                key_salt=protected.key_salt,
                password_wrapped_key=protected.password_wrapped_key,
                owner_wrapped_key=protected.owner_wrapped_key,
            )
        changes: dict[int, dict[str, Any]] = {}
        stale: list[str] = []
        if new_key != old_key:
            for version in await anyio.to_thread.run_sync(self.metadata.list_versions, row.id):
                changes[version.number], old = await anyio.to_thread.run_sync(
                    protection.reseal_version, self.blobs, version, old_key, new_key
                )
                stale.extend(old)
        return changes, stale, fields

    # -- reading ---------------------------------------------------------------------

    async def _lookup(self, share_id: str, *, used_up_ok: bool = False) -> tuple[ShareRow, VersionRow]:
        if not tokens.looks_like_id(share_id):
            raise NotFound(GONE)
        found = await anyio.to_thread.run_sync(self.metadata.get_share, share_id)
        if found is None:
            raise NotFound(GONE)
        row, version = found
        if self._expired(row):
            await anyio.to_thread.run_sync(self._delete, share_id)  # expired: gone for good
            raise NotFound(GONE)
        if _used_up(row) and not used_up_ok:
            raise NotFound(GONE)  # burnt: only its last reader's view grant opens it
        return row, version

    def _expired(self, row: ShareRow) -> bool:
        now = self.clock()
        if row.expires_at is not None and row.expires_at <= now:
            return True
        # Used up without the expiry its last view sets: a burn cut short (or from before
        # burns kept the last view open). Nobody holds a grant for it.
        return _used_up(row) and (row.expires_at is None or row.expires_at > now + BURN_MARK_LIMIT)

    async def exists(self, share_id: str) -> ShareRow:
        """The share's row, if it is live; says nothing about its content."""
        return (await self._lookup(share_id))[0]

    async def open(
        self,
        share_id: str,
        *,
        version: int | None = None,
        grant: str | None = None,
        owner_grant: str | None = None,
        owner_token: str | None = None,
        view_grant: str | None = None,
        hub_user: HubUser | Identify | None = None,
    ) -> Share:
        """The share at `version` (default: current), if the caller may read it: with a
        password's grant if it has one, signed in to the Hub if its audience says so.
        `hub_user` may be a way to ask who the reader is, asked only if the share needs it."""
        row, current = await self._lookup(share_id, used_up_ok=True)
        hub_user = await _who(hub_user, row)
        now = self.clock()
        viewing = grants.read(self.server_key, view_grant, share_id, owner=False, view=True, now=now)
        if viewing is not None and viewing.epoch != row.access_epoch:
            viewing = None
        if _used_up(row) and viewing is None:
            raise NotFound(GONE)
        owner = grants.read(self.server_key, owner_grant, share_id, owner=True, now=now)
        if owner is not None and owner.epoch != row.access_epoch:
            owner = None  # from before a password change: its data key is no longer the share's
        is_owner = (
            owner is not None
            or (owner_token is not None and tokens.token_matches(owner_token, row.owner_token_hash))
            or _hub_owner(row, hub_user)
        )
        if not is_owner:
            self._check_reader(row, hub_user)
        data_key = None
        if row.protected:
            # Before any version is looked up: without access, every version number gets
            # the same answer, so none reveals which versions exist.
            data_key = self._reader_data_key(row, owner, owner_token if is_owner else None, grant, now)
            if data_key is None:
                raise PasswordRequired("This share is protected by a password.")
        target = current
        if version is not None and version != current.number:
            if not (is_owner or row.versions_public) or not 1 <= version <= MAX_VERSION:
                raise NotFound(GONE)
            found = await anyio.to_thread.run_sync(self.metadata.get_version, share_id, version)
            if found is None:
                raise NotFound(GONE)
            target = found
        in_view = viewing is not None and viewing.version == target.number
        if _used_up(row) and not in_view:
            raise NotFound(GONE)
        if not row.protected:
            return Share(row, target, VersionMeta.of(target), as_owner=is_owner, in_view=in_view)
        meta = await anyio.to_thread.run_sync(protection.read_meta, self.blobs, target, data_key)
        return Share(row, target, meta, data_key, as_owner=is_owner, in_view=in_view)

    def _check_reader(self, row: ShareRow, hub_user: HubUser | None) -> None:
        """Whether this Hub user (None: not signed in), who is not its owner (`open` asks
        only then), is in the share's audience. The answer names the audience, not the
        content."""
        audience = Audience.from_json(row.audience)
        if audience.admits(hub_user):
            return
        # Who is named is for those named: others hear only what kind of audience it is.
        whom = audience.describe(names=False)
        if hub_user is None:
            raise HubLoginRequired(f"This share is for {whom}: sign in to the JupyterHub to read it.")
        raise Forbidden(
            f"This share is for {whom}; you are signed in to the JupyterHub as {hub_user.name}.",
            code="not_in_audience",
        )

    def _reader_data_key(
        self,
        row: ShareRow,
        owner: grants.Grant | None,
        owner_token: str | None,
        grant: str | None,
        now: datetime,
    ) -> bytes | None:
        """A protected share's data key, from the owner's grant or token or a visitor's grant."""
        if owner is not None and owner.data_key:
            return owner.data_key
        if owner_token is not None:
            return self._owner_data_key(row, owner_token)
        if owner is not None:
            return None
        visitor = grants.read(self.server_key, grant, row.id, owner=False, now=now)
        if visitor and visitor.epoch == row.access_epoch and visitor.version == row.current_version:
            return visitor.data_key
        return None

    async def read(self, share: Share, which: str) -> bytes:
        """The original upload ('original'), the rendered page ('page') or any other blob of
        the version (a key from its manifest), decrypted."""
        key = {"original": share.version.original_key, "page": share.version.page_key}.get(which, which)
        if not keys.VersionKeys(share.id, share.version.number).holds(key):
            raise NotFound(GONE)
        try:
            return await anyio.to_thread.run_sync(protection.read_blob, self.blobs, key, share.data_key)
        except KeyError:
            log.error(
                "a blob of share %s is missing: %s",
                tokens.redact_id(share.id),
                key.removeprefix(f"{keys.share_folder(share.id)}/"),
            )
            raise NotFound(GONE) from None

    async def take_view(self, share: Share, *, main: bool = True) -> str | None:
        """Count the view this read is, if it is one; returns the view grant to give the reader.

        On a view-limited share, every visitor's read of content counts, unless the reader
        holds a view grant for this version: it lets the counted view's own frame, files
        and downloads load for VIEW_LIFETIME. The last view burns the share (see the top
        of this module). Without a limit, `main` reads of the current version (a rendered
        notebook, a download) are counted for the owner to see, and nothing is handed out.
        The owner's own reads never count."""
        if share.as_owner or share.in_view:
            return None
        if not share.limited and not (main and share.is_current):
            return None
        burn_at = self.clock() + VIEW_LIFETIME
        views = await anyio.to_thread.run_sync(self.metadata.count_view, share.id, burn_at)
        if views is None:
            raise NotFound(GONE)  # another reader took the last view
        self.metrics.view()
        if share.row.max_views is None:
            return None
        if views >= share.row.max_views:
            log.info(
                "share %s used its last view; it is deleted when that view ends", tokens.redact_id(share.id)
            )
        return grants.issue(
            self.server_key,
            grants.Grant(
                share.id,
                share.version.number,
                share.row.access_epoch,
                burn_at.timestamp(),
                None,
                view=True,
            ),
        )

    async def read_counted(self, share: Share, which: str, *, main: bool = True) -> Read:
        """`read`, and the view that is counted (`take_view`). Read first: the reader who
        is counted gets the content."""
        data = await self.read(share, which)
        return Read(data, await self.take_view(share, main=main))

    async def read_frame(self, share: Share, notebook: str | None, *, gzip_ok: bool) -> Read:
        """The page the sandboxed frame shows (`Share.frame_page`), as stored (gzip) when the
        reader accepts gzip: it was compressed once, at upload, not per request."""
        stored = await self.read_framed_page(share, share.frame_page(notebook))
        gzipped = gzip_ok and protection.is_packed(stored)
        data = stored if gzipped else protection.unpack_page(stored)
        # A bundle's README frame is part of its index's view; a notebook is a view of its own.
        grant = await self.take_view(share, main=notebook is not None or share.version.kind != "bundle")
        return Read(data, grant, gzipped)

    async def read_framed_page(self, share: Share, which: str) -> bytes:
        """A stored page for the sandboxed frame. A view-limited share's page gets its files
        put back inline (as protected pages have them from the start): the frame's opaque
        origin sends no view grant, so it must need no other request to the service."""
        stored = await self.read(share, which)
        if not share.limited or share.row.protected or share.meta is None or not share.meta.files:
            return stored
        meta, data_key, base = (share.meta, share.data_key, urls.version_path(share.id, share.version.number))
        blobs = self.blobs

        class FileBytes(dict[str, bytes]):  # read only the files the page names
            def __missing__(self, sha256: str) -> bytes:
                entry = next(f for f in meta.files if f.sha256 == sha256)
                self[sha256] = protection.read_blob(blobs, entry.key, data_key)
                return self[sha256]

        return await anyio.to_thread.run_sync(
            lambda: protection.inline_files(protection.unpack_page(stored), base, meta, FileBytes())
        )

    # -- passwords and grants --------------------------------------------------------

    async def _count(self, step: Callable[..., T], *args: object) -> T:
        return await asyncio.wrap_future(self._counting.submit(step, *args))

    async def unlock(self, share_id: str, password: str, client: str) -> str:
        """A grant for the current version if `password` is right."""
        row, _ = await self._lookup(share_id)
        if not row.protected:
            raise NbshareError("This share has no password.", code="not_protected")
        check_password_text(password)  # before any hashing: Argon2 of 20 MB is no check
        attempt = await self._count(self.throttle.attempt, share_id, client)
        try:
            data_key = await self._check_password(row, password, attempt)
        except TooManyAttempts:  # turned away unchecked: not a guess
            await self._count(self.throttle.withdraw, attempt)
            raise
        if data_key is None:
            log.info("wrong password for share %s", tokens.redact_id(share_id))
            raise WrongPassword("That password is not right.")
        await self._count(self.throttle.withdraw, attempt)
        return grants.issue(
            self.server_key,
            grants.Grant(
                share_id,
                row.current_version,
                row.access_epoch,
                (self.clock() + timedelta(seconds=self.settings.grant_lifetime)).timestamp(),
                data_key,
            ),
        )

    async def _check_password(self, row: ShareRow, password: str, attempt: Attempt) -> bytes | None:
        """The share's data key if `password` is right, else None. See security/throttle.py
        and lanes.py for who is slowed down, who waits and who is turned away."""
        if not attempt.slowed:
            async with self.hashing.turn(attempt.rank):
                return await anyio.to_thread.run_sync(_open_with_password, row, password)
        async with self.slow_lanes.lane(row.id).turn(attempt.rank), self.hashing.turn(attempt.rank):
            return await anyio.to_thread.run_sync(_open_with_password, row, password)

    async def owner_session(
        self, share_id: str, owner_token: str | None, hub_user: HubUser | None = None
    ) -> str:
        """A grant that lets the owner's browser read every version."""
        row, _ = await self._owned(share_id, owner_token, hub_user=hub_user)
        data_key = self._owner_data_key(row, owner_token)
        return grants.issue(
            self.server_key,
            grants.Grant(
                share_id,
                None,
                row.access_epoch,
                (self.clock() + timedelta(seconds=self.settings.grant_lifetime)).timestamp(),
                data_key,
                owner=True,
            ),
        )

    # -- the owner ------------------------------------------------------------------

    async def _owned(
        self,
        share_id: str,
        owner_token: str | None,
        *,
        used_up_ok: bool = False,
        hub_user: HubUser | None = None,
    ) -> tuple[ShareRow, VersionRow]:
        """The share, if the caller owns it: by its owner token, or signed in to the Hub as
        the user who uploaded it."""
        row, current = await self._lookup(share_id, used_up_ok=used_up_ok)
        if owner_token and tokens.token_matches(owner_token, row.owner_token_hash):
            return row, current
        if owner_token is None and _hub_owner(row, hub_user):
            return row, current
        if owner_token is None and hub_user is not None:
            raise Forbidden(
                "Only the share's owner may do this; you are signed in to the JupyterHub as"
                f" {hub_user.name}.",
                code="not_the_owner",
            )
        raise Forbidden("This owner token does not match the share.", code="bad_owner_token")

    async def shares_of(self, user: HubUser) -> list[tuple[ShareRow, VersionRow]]:
        """A Hub user's live shares, newest first."""
        found = await anyio.to_thread.run_sync(self.metadata.shares_of, user.name)
        return [(row, version) for row, version in found if not self._expired(row) and not _used_up(row)]

    def _owner_data_key(self, row: ShareRow, owner_token: str | None) -> bytes | None:
        if not row.protected or row.owner_wrapped_key is None or row.key_salt is None:
            return None
        if owner_token is None:
            # Signed in to the Hub, its owner manages the share; its content is sealed under
            # the password and the owner token only, and the server keeps no other key.
            raise Forbidden(
                "This share has a password: its content, versions and password can only be"
                " changed with its owner token (the Hub sign-in cannot decrypt it).",
                code="owner_token_needed",
            )
        kek = crypto.token_key(owner_token, crypto.unb64(row.key_salt))
        return crypto.open_sealed(kek, crypto.unb64(row.owner_wrapped_key), f"owner-key:{row.id}")

    async def versions(
        self, share_id: str, owner_token: str | None, hub_user: HubUser | None = None
    ) -> list[tuple[VersionRow, VersionMeta]]:
        row, _ = await self._owned(share_id, owner_token, hub_user=hub_user)
        data_key = self._owner_data_key(row, owner_token)
        rows = await anyio.to_thread.run_sync(self.metadata.list_versions, share_id)
        metas = await anyio.to_thread.run_sync(  # blob reads and decryption: off the event loop
            lambda: [protection.read_meta(self.blobs, v, data_key) for v in rows]
        )
        return list(zip(rows, metas, strict=True))

    async def delete_version(
        self, share_id: str, owner_token: str | None, number: int, hub_user: HubUser | None = None
    ) -> None:
        row, _ = await self._owned(share_id, owner_token, hub_user=hub_user)
        if number == row.current_version:
            raise NbshareError(
                "The current version cannot be deleted; delete the share instead.",
                code="current_version",
                status=409,
            )
        if not 1 <= number <= MAX_VERSION or not await anyio.to_thread.run_sync(
            self.metadata.delete_version, share_id, number
        ):
            raise NotFound("No such version.")
        await anyio.to_thread.run_sync(self.blobs.delete_prefix, keys.VersionKeys(share_id, number).folder)

    async def delete(self, share_id: str, owner_token: str | None, hub_user: HubUser | None = None) -> None:
        # A burnt share waiting for its last reader's grant to run out can still be deleted
        # at once by its owner (nothing else of it is theirs to change any more).
        await self._owned(share_id, owner_token, used_up_ok=True, hub_user=hub_user)
        await anyio.to_thread.run_sync(self._delete, share_id)
        log.info("deleted share %s", tokens.redact_id(share_id))

    def _delete(self, share_id: str) -> None:
        # Row first: once it is gone the share is unreachable, then its blobs go.
        self.metadata.delete_share(share_id)
        self.blobs.delete_prefix(keys.share_folder(share_id))

    def purge(self, batch: int = 100) -> int:
        """Delete every expired share, rows and blobs, in batches. Returns how many."""
        purged = 0
        while ids := self.metadata.expired_ids(self.clock(), limit=batch, view_lifetime=BURN_MARK_LIMIT):
            for share_id in ids:
                self._delete(share_id)
            purged += len(ids)
        if purged:
            log.info("purged %d expired shares", purged)
        if self._swept_at is None or self.clock() - self._swept_at >= SWEEP_EVERY:
            self.sweep()
        return purged

    _swept_at: datetime | None = None

    def sweep(self) -> int:
        """Remove what crashes left: blobs that no version row uses (written before a row
        that never came, left by a delete cut short, or by a reseal whose rows were not
        switched) and temporary files, once they are LEFTOVER_AGE old. Returns how many
        blobs and files went."""
        now = self._swept_at = self.clock()
        before = now - LEFTOVER_AGE
        removed = self.blobs.sweep_unfinished(before)
        # Blobs are listed before rows are read, so the row of an upload that finishes
        # meanwhile is seen; blobs written after the listing are not in it. Only keys that
        # were listed are deleted, one by one: never a folder, where a retry of the same
        # version number may be writing blobs of its own names.
        old = [key for key, modified in self.blobs.modified(keys.ROOT) if modified < before]
        used = protection.References(self.metadata.all_versions())
        for key in old:
            if key not in used:
                self.blobs.delete(key)
                removed += 1
        if removed:
            log.info("swept %d blobs and files left by interrupted writes", removed)
        return removed


async def _who(hub_user: HubUser | Identify | None, row: ShareRow) -> HubUser | None:
    """The reader, asked for only when the share's audience or owner depends on it; a Hub
    that cannot say is an error only where the audience needs an answer."""
    if hub_user is None or isinstance(hub_user, HubUser):
        return hub_user
    needed = row.audience is not None
    if not needed and row.owner_user is None:
        return None
    return await hub_user(needed)


def _hub_owner(row: ShareRow, hub_user: HubUser | None) -> bool:
    return hub_user is not None and row.owner_user is not None and row.owner_user == hub_user.name


def _used_up(row: ShareRow) -> bool:
    return row.max_views is not None and row.views >= row.max_views


def _check_max_views(max_views: object) -> None:
    if max_views is not None and (
        not isinstance(max_views, int) or isinstance(max_views, bool) or not 1 <= max_views <= MAX_VIEWS
    ):
        raise NbshareError(f"max_views must be a whole number from 1 to {MAX_VIEWS:,}.", code="bad_max_views")


def _protect(row: ShareRow, password: str, owner_token: str) -> tuple[ShareRow, bytes]:
    """Protection fields for `row` under `password`, with a new data key (Argon2id runs
    here, in a thread)."""
    data_key = crypto.new_data_key()
    salt = crypto.new_salt()
    password_kek = crypto.password_key(password, salt)
    owner_kek = crypto.token_key(owner_token, salt)
    protected = replace(
        row,
        password_hash=crypto.hash_password(password),
        key_salt=crypto.b64(salt),
        password_wrapped_key=crypto.b64(crypto.seal(password_kek, data_key, f"password-key:{row.id}")),
        owner_wrapped_key=crypto.b64(crypto.seal(owner_kek, data_key, f"owner-key:{row.id}")),
    )
    return protected, data_key


def _open_with_password(row: ShareRow, password: str) -> bytes | None:
    """The share's data key if `password` is right (two Argon2id runs)."""
    assert row.password_hash and row.key_salt and row.password_wrapped_key
    if not crypto.check_password(password, row.password_hash):
        return None
    kek = crypto.password_key(password, crypto.unb64(row.key_salt))
    try:
        return crypto.open_sealed(kek, crypto.unb64(row.password_wrapped_key), f"password-key:{row.id}")
    except crypto.DecryptionFailed:
        return None
