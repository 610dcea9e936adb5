"""Share metadata in any SQLAlchemy database (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, delete, event, func, select
from sqlalchemy.engine import Engine

from .tables import shares, versions

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class ShareRow:
    id: str
    owner_token_hash: str
    created_at: datetime
    updated_at: datetime
    current_version: int


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
    toc: list
    original_key: str
    page_key: str


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(cls, mapping):
    values = {f.name: mapping[f.name] for f in fields(cls)}
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = _utc(value)
    return cls(**values)


class MetadataStore:
    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def migrate(self) -> None:
        """Bring the schema up to date (safe to run on every start)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def add_share(self, share: ShareRow, version: VersionRow) -> None:
        with self.engine.begin() as conn:
            conn.execute(shares.insert().values(**asdict(share)))
            conn.execute(versions.insert().values(**asdict(version)))

    def get_share(self, share_id: str) -> tuple[ShareRow, VersionRow] | None:
        """The share and its current version, or None."""
        query = (
            select(shares, versions)
            .join(versions, (versions.c.share_id == shares.c.id)
                  & (versions.c.number == shares.c.current_version))
            .where(shares.c.id == share_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return _row(ShareRow, row), _row(VersionRow, row)

    def version_keys(self, share_id: str) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(versions.c.original_key, versions.c.page_key)
                .where(versions.c.share_id == share_id)
            ).all()
        return [key for row in rows for key in row]

    def delete_share(self, share_id: str) -> bool:
        with self.engine.begin() as conn:
            conn.execute(delete(versions).where(versions.c.share_id == share_id))
            result = conn.execute(delete(shares).where(shares.c.id == share_id))
        return result.rowcount > 0

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

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=FULL")  # a committed row survives power loss
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
