"""The storage contract, run against every backend, and crash-safety of share creation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from obstore.store import LocalStore

from helpers import fixture_bytes, fresh_postgres_database, publish, share_rows, stored_state
from nbshare.store import FileBlobStore, MetadataStore, ObjectBlobStore
from nbshare.store.blobs import check_key


@pytest.fixture(params=["file", "obstore-memory", "obstore-local", "obstore-s3"])
def blobs(request, tmp_path):
    if request.param == "file":
        return FileBlobStore(tmp_path / "blobs")
    if request.param == "obstore-memory":
        return ObjectBlobStore.memory()
    if request.param == "obstore-s3":
        return ObjectBlobStore.from_url(request.getfixturevalue("s3_bucket") + "/some/prefix")
    (tmp_path / "local").mkdir()
    return ObjectBlobStore(LocalStore(str(tmp_path / "local")))


def test_put_get_roundtrip_exact_bytes(blobs):
    data = bytes(range(256)) * 1000
    blobs.put("shares/abc/v1/original.ipynb", data)
    assert blobs.get("shares/abc/v1/original.ipynb") == data
    blobs.put("shares/abc/v1/original.ipynb", b"replaced")
    assert blobs.get("shares/abc/v1/original.ipynb") == b"replaced"


def test_check_answers_and_leaves_nothing_behind(blobs):
    """The readiness check's call works on every backend, and writes nothing."""
    blobs.check()
    assert list(blobs.keys()) == []


def test_missing_key_raises_keyerror(blobs):
    with pytest.raises(KeyError):
        blobs.get("shares/nope/v1/page.html")


def test_delete_prefix_removes_only_that_share(blobs):
    for key in ("shares/a/v1/x", "shares/a/v2/y", "shares/ab/v1/x", "shares/b/v1/x"):
        blobs.put(key, b"1")
    assert blobs.delete_prefix("shares/a") == 2
    assert sorted(blobs.keys()) == ["shares/ab/v1/x", "shares/b/v1/x"]
    assert blobs.delete_prefix("shares/a") == 0  # idempotent


def test_delete_one_blob_is_idempotent(blobs):
    blobs.put("shares/a/v1/x", b"1")
    blobs.put("shares/a/v1/y", b"2")
    blobs.delete("shares/a/v1/x")
    blobs.delete("shares/a/v1/x")
    assert list(blobs.keys()) == ["shares/a/v1/y"]


def test_keys_lists_by_prefix(blobs):
    blobs.put("shares/a/v1/x", b"1")
    blobs.put("shares/b/v1/x", b"1")
    assert list(blobs.keys("shares/a")) == ["shares/a/v1/x"]
    assert sorted(blobs.keys()) == ["shares/a/v1/x", "shares/b/v1/x"]


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../b", "a//b", "", "a/.hidden", "a\\b", "a b"])
def test_unsafe_keys_are_refused(blobs, key):
    with pytest.raises(ValueError):
        check_key(key)
    with pytest.raises(ValueError):
        blobs.put(key, b"x")


def test_file_store_leaves_no_temporary_files(tmp_path):
    store = FileBlobStore(tmp_path)
    store.put("shares/a/v1/x", b"data")
    assert [p.name for p in (tmp_path / "shares/a/v1").iterdir()] == ["x"]


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata(request, tmp_path):
    """A migrated, empty metadata store on each database nbshare supports."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'meta.db'}"
    else:
        url = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    store = MetadataStore(url)
    store.migrate()
    yield store
    store.close()


def test_metadata_roundtrip_and_delete(metadata):
    metadata.migrate()  # running migrations twice is harmless
    share, version = share_rows()
    metadata.add_share(share, version)
    got_share, got_version = metadata.get_share(share.id)
    assert got_share == share and got_version == version  # datetimes come back as aware UTC
    assert got_share.created_at.tzinfo is UTC
    assert [v.number for v in metadata.list_versions(share.id)] == [1]
    assert metadata.count_view(share.id) == 1 and metadata.get_share(share.id)[0].views == 1
    assert metadata.delete_share(share.id) is True
    assert metadata.get_share(share.id) is None and metadata.count() == (0, 0)
    assert metadata.delete_share(share.id) is False


def test_a_share_id_is_unique(metadata):
    metadata.add_share(*share_rows())
    with pytest.raises(Exception):  # noqa: B017 - each driver names its integrity error
        metadata.add_share(*share_rows())
    assert metadata.count() == (1, 1)


def test_versions_move_only_from_the_expected_current_one(metadata):
    share, version = share_rows()
    metadata.add_share(share, version)
    second = replace(version, number=2, title="B")
    now = datetime.now(UTC)
    assert metadata.add_version(second, expected_current=1, expected_epoch=0, updated_at=now)
    # A racing update that still believes version 1 is current loses, and writes nothing.
    assert not metadata.add_version(
        replace(version, number=3), expected_current=1, expected_epoch=0, updated_at=now
    )
    got_share, got_version = metadata.get_share(share.id)
    assert got_share.current_version == 2 and got_version.title == "B"
    assert [v.number for v in metadata.list_versions(share.id)] == [1, 2]
    assert metadata.get_version(share.id, 1).title == "A"
    assert metadata.delete_version(share.id, 1) and metadata.get_version(share.id, 1) is None


def test_conditional_updates_and_expiry(metadata):
    share, version = share_rows(expires_at=datetime(2026, 6, 1, tzinfo=UTC))
    metadata.add_share(share, version)
    metadata.add_share(*share_rows("t" * 24))
    assert not metadata.update_share(share.id, expected={"access_epoch": 5}, max_views=3)
    assert metadata.update_share(
        share.id, {1: {"title": "Sealed"}}, expected={"access_epoch": 0}, max_views=3, access_epoch=1
    )
    got_share, got_version = metadata.get_share(share.id)
    assert (got_share.max_views, got_share.access_epoch, got_version.title) == (3, 1, "Sealed")
    assert metadata.expired_ids(datetime(2026, 5, 31, 23, 59, tzinfo=UTC)) == []
    assert metadata.expired_ids(datetime(2026, 6, 1, tzinfo=UTC)) == [share.id]  # at the boundary


def test_views_are_counted_exactly_under_concurrency(metadata):
    """Several app instances counting at once: each view counted once, none past the limit."""
    from concurrent.futures import ThreadPoolExecutor

    share, version = share_rows(max_views=25)
    metadata.add_share(share, version)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: metadata.count_view(share.id), range(40)))
    counted = sorted(a for a in answers if a is not None)
    assert counted == list(range(1, 26)) and answers.count(None) == 15
    assert metadata.get_share(share.id)[0].views == 25
    assert metadata.expired_ids(datetime.now(UTC)) == [share.id]  # used up: the purge takes it


class FailingMetadata(MetadataStore):
    def add_share(self, share, version):
        raise RuntimeError("database went away")


def test_failed_row_insert_removes_the_blobs(settings, renderer, tmp_path):
    from fastapi.testclient import TestClient

    from nbshare.app import create_app

    app = create_app(settings, renderer=renderer, metadata=FailingMetadata(settings.database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = publish(client, fixture_bytes("headings.ipynb"))
    assert r.status_code == 500
    assert stored_state(app) == ((0, 0), [])


class FailingBlobs(FileBlobStore):
    def put(self, key, data):
        if "/page.html" in key:
            raise OSError("disk full")
        super().put(key, data)


def test_failed_blob_write_stores_no_row(settings, renderer):
    from fastapi.testclient import TestClient

    from nbshare.app import create_app

    app = create_app(settings, renderer=renderer, blobs=FailingBlobs(settings.blob_dir))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = publish(client, fixture_bytes("headings.ipynb"))
    assert r.status_code == 500
    assert stored_state(app) == ((0, 0), [])


def test_blob_is_written_before_the_row(settings, renderer):
    """The row must never point at a blob that is not there yet."""
    from fastapi.testclient import TestClient

    from nbshare.app import create_app

    seen = []

    class Watching(MetadataStore):
        def add_share(self, share, version):
            seen.append((blobs.get(version.original_key), blobs.get(version.page_key)))
            super().add_share(share, version)

    blobs = FileBlobStore(settings.blob_dir)
    app = create_app(settings, renderer=renderer, blobs=blobs, metadata=Watching(settings.database_url))
    with TestClient(app) as client:
        assert publish(client, fixture_bytes("headings.ipynb")).status_code == 201
    assert seen and seen[0][0] == fixture_bytes("headings.ipynb")


def test_modified_tells_when_each_blob_was_written(blobs):
    from datetime import timedelta

    before = datetime.now(UTC)
    blobs.put("shares/a/v1/x", b"1")
    blobs.put("shares/b/v1/y", b"2")
    found = dict(blobs.modified("shares/a"))
    assert list(found) == ["shares/a/v1/x"]
    # Generous: a file system's timestamps may be coarse, and the S3 server's clock is its own.
    assert before - timedelta(minutes=5) <= found["shares/a/v1/x"] <= datetime.now(UTC) + timedelta(minutes=5)
    assert found["shares/a/v1/x"].utcoffset() == timedelta(0)
    assert sorted(dict(blobs.modified())) == ["shares/a/v1/x", "shares/b/v1/y"]


def test_sweeping_unfinished_writes_never_removes_a_blob(blobs):
    from datetime import timedelta

    blobs.put("shares/a/v1/x", b"1")
    assert blobs.sweep_unfinished(datetime.now(UTC) + timedelta(days=1)) == 0
    assert list(blobs.keys()) == ["shares/a/v1/x"]


def test_file_store_sweeps_old_temporary_files_and_keeps_young_ones(tmp_path):
    import os
    from datetime import timedelta

    store = FileBlobStore(tmp_path)
    store.put("shares/live/v1/x", b"data")
    crashed = tmp_path / "shares/crashed/v1/.tmp-abc"
    crashed.parent.mkdir(parents=True)
    crashed.write_bytes(b"half")
    writing = tmp_path / "shares/writing/v1/.tmp-def"
    writing.parent.mkdir(parents=True)
    writing.write_bytes(b"in progress")
    now = datetime.now(UTC)
    hour_ago = (now - timedelta(hours=2)).timestamp()
    os.utime(crashed, (hour_ago, hour_ago))
    assert store.sweep_unfinished(now - timedelta(hours=1)) == 1
    assert not (tmp_path / "shares/crashed").exists()  # the folders it alone kept go too
    assert writing.exists() and store.get("shares/live/v1/x") == b"data"


def test_file_store_sweeps_old_empty_folders_and_keeps_young_ones(tmp_path):
    """Puts run several at once: a crash can come after one made its folder and before its
    temporary file existed (found by the crash test under load). Such a folder goes once
    old; a young one may belong to a put about to write into it."""
    import os
    from datetime import timedelta

    store = FileBlobStore(tmp_path)
    store.put("shares/live/v1/x", b"data")
    old, young = tmp_path / "shares/crashed/v1/pages", tmp_path / "shares/writing/v1/pages"
    old.mkdir(parents=True)
    young.mkdir(parents=True)
    now = datetime.now(UTC)
    two_hours_ago = (now - timedelta(hours=2)).timestamp()
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert store.sweep_unfinished(now - timedelta(hours=1)) == 1
    assert not (tmp_path / "shares/crashed").exists()  # and the folders only it kept
    assert young.is_dir() and store.get("shares/live/v1/x") == b"data"
