"""A migration stopped after any statement leaves a data folder that starts (issue 10, item 13).

A real process migrates a data folder and is stopped (os._exit, as a crash or a kill would)
right after its k-th SQL statement, for every k in turn; the next start must bring the same
folder to the full schema with its rows intact. The stop comes from a SQLAlchemy event
listener that a small launcher registers: nothing in nbshare knows about it."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config

from helpers import SRC, fresh_postgres_database, minimal_notebook, nb_bytes, start_server
from nbshare.store import MetadataStore
from nbshare.store.metadata import MIGRATIONS

# The newest revision: every run, stopped or not, must end there.
HEAD = max(p.name.split("_", 1)[0] for p in (Path(MIGRATIONS) / "versions").glob("0*.py"))
# Imports once, then migrates the k-th database in a forked child stopped after statement k
# (k = 0: not stopped; it prints how many statements there were). Prints each child's status.
LAUNCHER = """
import os, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
from nbshare.store import MetadataStore

stop_after, count = 0, 0

@event.listens_for(Engine, "after_cursor_execute")
def stop(*args):
    global count
    count += 1
    if count == stop_after:
        os._exit(1)

for k, db in enumerate(sys.argv[1:], start=int(os.environ["FIRST_K"])):
    pid = os.fork()
    if pid == 0:
        stop_after = k
        MetadataStore(db if "://" in db else f"sqlite:///{db}").migrate()
        print(count, flush=True)
        os._exit(0)
    print(k, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""
NOW = datetime(2026, 6, 1, tzinfo=UTC).isoformat(sep=" ")


def migrate_in_processes(dbs: list, first_k: int, launcher: Path | None = None) -> list[str]:
    """Migrate each of `dbs` (files or URLs) in its own process, the i-th stopped after
    statement first_k + i."""
    launcher = launcher or dbs[0].parent.parent / "launch.py"
    launcher.write_text(LAUNCHER)
    done = subprocess.run(
        [sys.executable, str(launcher), *map(str, dbs)],
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(SRC), "FIRST_K": str(first_k)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")


def at_revision(db: Path, revision: str) -> None:
    """A data folder as an earlier nbshare left it, with one share in it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO shares (id, owner_token_hash, created_at, updated_at, current_version) "
            "VALUES ('s1', 'h', ?, ?, 1)",
            (NOW, NOW),
        )
        conn.execute(
            "INSERT INTO versions VALUES ('s1', 1, ?, 'a.ipynb', 'Kept title', 5, 'x', '4.5', "
            "'python3', 'python', 1, '[]', 'k1', 'k2'" + (", NULL" if revision == "0002" else "") + ")",
            (NOW,),
        )
    conn.close()


def schema(db: Path) -> list:
    conn = sqlite3.connect(db)
    try:
        tables = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        columns = {
            name: conn.execute(f"PRAGMA table_info({name})").fetchall() for _, name in tables if _ == "table"
        }
        return [tables, columns, conn.execute("SELECT version_num FROM alembic_version").fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize("start", ["fresh", "0001", "0002"])
def test_a_migration_stopped_after_any_statement_runs_again_to_the_full_schema(tmp_path, start):
    template = tmp_path / "template" / "nbshare.db"
    template.parent.mkdir()
    if start != "fresh":
        at_revision(template, start)
    reference = tmp_path / "reference" / "nbshare.db"
    shutil.copytree(template.parent, reference.parent)
    counted, status = migrate_in_processes([reference], first_k=0)[:2]
    assert status == "0 0"  # not stopped, and it went through
    statements = int(counted)
    assert statements > 3
    full = schema(reference)
    assert full[2] == [(HEAD,)]
    folders = [tmp_path / f"stopped-after-{k}" for k in range(1, statements + 1)]
    for folder in folders:
        shutil.copytree(template.parent, folder)
    lines = migrate_in_processes([folder / "nbshare.db" for folder in folders], first_k=1)
    assert [line for line in lines if line] == [f"{k} 1" for k in range(1, statements + 1)]  # each stopped
    # One of them, stopped half-way, restarted as a real `nbshare serve` that then takes and
    # serves a share; the others by the migration that start runs, which is much quicker.
    real = tmp_path / "real"
    shutil.copytree(folders[statements // 2], real / "server-data")
    server = start_server(real)
    try:
        body = httpx.post(
            f"{server.url}/api/v1/shares",
            params={"filename": "a.ipynb"},
            content=nb_bytes(minimal_notebook()),
            timeout=120,
        ).json()
        assert httpx.get(f"{body['url']}.ipynb", timeout=60).content == nb_bytes(minimal_notebook())
    finally:
        server.stop()
    assert schema(real / "server-data" / "nbshare.db") == full
    for k, folder in enumerate(folders, start=1):
        store = MetadataStore(f"sqlite:///{folder / 'nbshare.db'}")
        try:
            store.migrate()  # what the next start runs; it must not fail
            assert schema(folder / "nbshare.db") == full, f"stopped after statement {k}"
            if start != "fresh":
                found = store.get_share("s1")
                assert found is not None and found[1].title == "Kept title", f"stopped after statement {k}"
        finally:
            store.close()


def pg_schema(url: str) -> list:
    engine = sqlalchemy.create_engine(url)
    try:
        found = sqlalchemy.inspect(engine)
        tables = sorted(found.get_table_names())
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        return [
            tables,
            {t: [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(t)] for t in tables},
            {t: found.get_indexes(t) for t in tables},
            version,
        ]
    finally:
        engine.dispose()


def test_on_postgresql_a_migration_stopped_after_any_statement_runs_again(tmp_path, postgres_url):
    launcher = tmp_path / "launch.py"
    reference = fresh_postgres_database(postgres_url)
    counted, status = migrate_in_processes([reference], first_k=0, launcher=launcher)[:2]
    assert status == "0 0"
    statements = int(counted)
    full = pg_schema(reference)
    assert full[3] == [(HEAD,)]
    urls = [fresh_postgres_database(postgres_url) for _ in range(statements)]
    lines = migrate_in_processes(urls, first_k=1, launcher=launcher)
    assert [line for line in lines if line] == [f"{k} 1" for k in range(1, statements + 1)]
    for k, url in enumerate(urls, start=1):
        store = MetadataStore(url)
        try:
            store.migrate()
        finally:
            store.close()
        assert pg_schema(url) == full, f"stopped after statement {k}"


def test_an_in_memory_database_is_migrated_in_place():
    """The migration's own engine is for files; `sqlite://` must migrate the store's one
    database, not a throwaway one (a regression the separate engine first brought)."""
    store = MetadataStore("sqlite://")
    try:
        store.migrate()
        assert store.share_ids() == []
    finally:
        store.close()
