"""Share metadata in any SQLAlchemy database (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import RowMapping, Select, case, create_engine, delete, event, func, literal, select, update
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.pool import NullPool

from ..errors import OutOfSpace
from .tables import shares, versions

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class ShareRow:
    id: str
    owner_token_hash: str
    created_at: datetime
    updated_at: datetime
    current_version: int
    expires_at: datetime | None = None
    max_views: int | None = None
    views: int = 0
    password_hash: str | None = None
    key_salt: str | None = None
    password_wrapped_key: str | None = None
    owner_wrapped_key: str | None = None
    access_epoch: int = 0
    versions_public: bool = False
    discoverable: bool = False
    owner_user: str | None = None  # the Hub user who uploaded it (hub_auth)
    audience: dict[str, Any] | None = None  # audience.Audience.to_json; None: anyone

    @property
    def protected(self) -> bool:
        return self.password_hash is not None


@dataclass(frozen=True)
class VersionRow:
    share_id: str
    number: int
    created_at: datetime
    filename: str
    title: str
    size: int
    sha256: str
    nbformat: str
    kernel_name: str
    language: str
    cell_count: int
    toc: list[dict[str, Any]]  # render/headings.py TocEntry.as_dict
    original_key: str
    page_key: str
    meta_key: str | None = None
    kind: str = "notebook"
    manifest: dict[str, Any] = field(default_factory=dict)  # nbshare.manifest.Manifest.to_json


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


StoredRow = TypeVar("StoredRow", ShareRow, VersionRow)


def _row(cls: type[StoredRow], mapping: RowMapping) -> StoredRow:
    values = {f.name: mapping[f.name] for f in fields(cls)}
    if "manifest" in values and values["manifest"] is None:
        values["manifest"] = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = _utc(value)
    return cls(**values)


def _with_current_version() -> Select:
    """Shares, each joined with its current version's row."""
    current = (versions.c.share_id == shares.c.id) & (versions.c.number == shares.c.current_version)
    return select(shares, versions).join(versions, current)


class MetadataStore:
    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        event.listen(self.engine, "handle_error", _out_of_space)

    def migrate(self) -> None:
        """Bring the schema up to date (safe to run on every start): all of it or, if the
        process stops half-way, none of it, so the next start simply runs it again."""
        # Imported here, once per start: alembic takes a second or more to import on a busy
        # machine, and `nbshare serve` must answer soon (a JupyterHub waits 10 s for it).
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        # An in-memory database lives in its one connection and cannot outlive a crash:
        # it migrates on the store's own engine.
        in_memory = self.engine.url.database in (None, "", ":memory:")
        in_file = self.engine.dialect.name == "sqlite" and not in_memory
        engine = _migration_engine(self.url) if in_file else self.engine
        try:
            with engine.begin() as connection:  # PostgreSQL's DDL is transactional as it is
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            if engine is not self.engine:
                engine.dispose()

    def add_share(self, share: ShareRow, version: VersionRow) -> None:
        with self.engine.begin() as conn:
            conn.execute(shares.insert().values(**asdict(share)))
            conn.execute(versions.insert().values(**asdict(version)))

    def get_share(self, share_id: str) -> tuple[ShareRow, VersionRow] | None:
        """The share and its current version, or None."""
        query = _with_current_version().where(shares.c.id == share_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return _row(ShareRow, row), _row(VersionRow, row)

    def get_version(self, share_id: str, number: int) -> VersionRow | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(versions).where((versions.c.share_id == share_id) & (versions.c.number == number))
                )
                .mappings()
                .first()
            )
        return None if row is None else _row(VersionRow, row)

    def list_versions(self, share_id: str) -> list[VersionRow]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(versions).where(versions.c.share_id == share_id).order_by(versions.c.number)
                )
                .mappings()
                .all()
            )
        return [_row(VersionRow, row) for row in rows]

    def add_version(
        self, version: VersionRow, *, expected_current: int, expected_epoch: int, updated_at: datetime
    ) -> bool:
        """Insert a version and make it current, unless another update or a password
        change (which re-keys the share) got there first."""
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(shares)
                .where(
                    (shares.c.id == version.share_id)
                    & (shares.c.current_version == expected_current)
                    & (shares.c.access_epoch == expected_epoch)
                )
                .values(current_version=version.number, updated_at=updated_at)
            ).rowcount
            if moved != 1:
                return False
            conn.execute(versions.insert().values(**asdict(version)))
        return True

    def update_share(
        self,
        share_id: str,
        versions_changes: dict[int, dict[str, Any]] | None = None,
        *,
        expected: dict[str, Any] | None = None,
        **fields: Any,
    ) -> bool:
        """Change share fields (and, in the same transaction, some versions' fields), if
        the share still has the `expected` values (None: unconditionally)."""
        condition = shares.c.id == share_id
        for name, value in (expected or {}).items():
            condition = condition & (shares.c[name] == value)
        with self.engine.begin() as conn:
            changed = conn.execute(update(shares).where(condition).values(**fields)).rowcount
            if changed != 1:
                return False
            for number, changes in (versions_changes or {}).items():
                conn.execute(
                    update(versions)
                    .where((versions.c.share_id == share_id) & (versions.c.number == number))
                    .values(**changes)
                )
        if "password_hash" in fields:
            self._scrub()
        return True

    def _scrub(self) -> None:
        """After a share's plaintext metadata was deleted or replaced by sealed placeholders,
        push the old values out of SQLite's write-ahead log: the checkpoint copies the
        (zeroed, thanks to secure_delete) pages into the database and truncates the log.
        PostgreSQL needs VACUUM for the same (docs/settings.md)."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def count_view(self, share_id: str, burn_at: datetime | None = None) -> int | None:
        """Count one view; None when the share is gone or has used up its views. With
        `burn_at`, the last view also brings the share's expiry forward to then (in the
        same statement, so no reader can see it used up and still unmarked)."""
        values: dict[str, Any] = {"views": shares.c.views + 1}
        if burn_at is not None:
            last = shares.c.max_views.is_not(None) & (shares.c.views + 1 >= shares.c.max_views)
            when = literal(burn_at, shares.c.expires_at.type)
            sooner = shares.c.expires_at.is_(None) | (shares.c.expires_at > when)
            values["expires_at"] = case((last & sooner, when), else_=shares.c.expires_at)
        with self.engine.begin() as conn:
            counted = conn.execute(
                update(shares)
                .where(
                    (shares.c.id == share_id)
                    & ((shares.c.max_views.is_(None)) | (shares.c.views < shares.c.max_views))
                )
                .values(**values)
            ).rowcount
            if counted != 1:
                return None
            views: int = conn.execute(select(shares.c.views).where(shares.c.id == share_id)).scalar_one()
            return views

    def delete_version(self, share_id: str, number: int) -> bool:
        with self.engine.begin() as conn:
            deleted = (
                conn.execute(
                    delete(versions).where((versions.c.share_id == share_id) & (versions.c.number == number))
                ).rowcount
                == 1
            )
        self._scrub()
        return deleted

    def expired_ids(
        self, now: datetime, limit: int = 100, *, view_lifetime: timedelta = timedelta(0)
    ) -> list[str]:
        """Shares past their expiry, and shares past their last view whose expiry that view
        did not bring within `view_lifetime` (a burn interrupted before this was so)."""
        used_up = shares.c.max_views.is_not(None) & (shares.c.views >= shares.c.max_views)
        unmarked = shares.c.expires_at.is_(None) | (shares.c.expires_at > now + view_lifetime)
        gone = (shares.c.expires_at.is_not(None) & (shares.c.expires_at <= now)) | (used_up & unmarked)
        with self.engine.connect() as conn:
            return list(conn.execute(select(shares.c.id).where(gone).limit(limit)).scalars())

    def shares_of(self, owner_user: str, limit: int = 500) -> list[tuple[ShareRow, VersionRow]]:
        """A Hub user's shares with their current versions, newest first."""
        query = (
            _with_current_version()
            .where(shares.c.owner_user == owner_user)
            .order_by(shares.c.created_at.desc(), shares.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [(_row(ShareRow, row), _row(VersionRow, row)) for row in rows]

    def delete_share(self, share_id: str) -> bool:
        with self.engine.begin() as conn:
            conn.execute(delete(versions).where(versions.c.share_id == share_id))
            result = conn.execute(delete(shares).where(shares.c.id == share_id))
        self._scrub()  # a deleted share's title must not stay readable in the WAL
        return result.rowcount > 0

    def all_versions(self) -> list[VersionRow]:
        """Every version of every share: what the sweep keeps."""
        with self.engine.connect() as conn:
            return [_row(VersionRow, m) for m in conn.execute(select(versions)).mappings()]

    def share_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(shares.c.id)).scalars())

    def count(self) -> tuple[int, int]:
        """(shares, versions): used by tests to prove nothing half-stored remains."""
        with self.engine.connect() as conn:
            return (
                conn.execute(select(func.count()).select_from(shares)).scalar_one(),
                conn.execute(select(func.count()).select_from(versions)).scalar_one(),
            )

    def ping(self) -> None:
        """One cheap query on the shares table (the readiness check); raises if it fails. A
        SQLite file deleted under a running server is noticed too: its open connections
        would go on using the deleted file."""
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
            if not Path(database).is_file():
                raise FileNotFoundError("the SQLite database file is gone")
        with self.engine.connect() as conn:
            conn.execute(select(shares.c.id).limit(1)).all()

    def close(self) -> None:
        self.engine.dispose()


def _out_of_space(context: ExceptionContext) -> None:
    """A full disk says so (507), whichever database noticed: SQLite's SQLITE_FULL, or
    PostgreSQL's disk_full (SQLSTATE 53100). The transaction was rolled back, so nothing
    half-written stays."""
    error = context.original_exception
    if getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
        getattr(error, "sqlstate", None) == "53100"
    ):
        raise OutOfSpace() from error


def _migration_engine(url: str) -> Engine:
    """An SQLite engine whose transactions cover DDL too. Python's sqlite3 driver commits
    before every CREATE or ALTER on its own, which would leave a migration stopped half-way
    (a crash, a full disk) applied in part and unable to run again. Here the driver is told
    to manage no transactions, and SQLAlchemy's own BEGIN makes the migration one
    transaction (the recipe in SQLAlchemy's pysqlite notes, "Serializable isolation /
    Savepoints / Transactional DDL")."""
    engine = create_engine(url, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        # As SQLite's own steps for altering tables advise: a table copied by a batch
        # migration must not cascade deletes into the tables that refer to it.
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        # IMMEDIATE: two instances starting at once take turns instead of both migrating.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=FULL")  # a committed row survives power loss
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted rows leave no readable remains
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
