"""The storage contract, run against every backend, and crash-safety of share creation."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from obstore.store import LocalStore

from conftest import fixture_bytes, publish, stored_state
from nbshare.store import FileBlobStore, MetadataStore, ObjectBlobStore, ShareRow, VersionRow
from nbshare.store.blobs import check_key


@pytest.fixture(params=["file", "obstore-memory", "obstore-local"])
def blobs(request, tmp_path):
    if request.param == "file":
        return FileBlobStore(tmp_path / "blobs")
    if request.param == "obstore-memory":
        return ObjectBlobStore.memory()
    (tmp_path / "local").mkdir()
    return ObjectBlobStore(LocalStore(str(tmp_path / "local")))


def test_put_get_roundtrip_exact_bytes(blobs):
    data = bytes(range(256)) * 1000
    blobs.put("shares/abc/v1/original.ipynb", data)
    assert blobs.get("shares/abc/v1/original.ipynb") == data
    blobs.put("shares/abc/v1/original.ipynb", b"replaced")
    assert blobs.get("shares/abc/v1/original.ipynb") == b"replaced"


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


def _rows(share_id="s" * 24):
    now = datetime.now(UTC)
    share = ShareRow(share_id, "h" * 64, now, now, 1)
    version = VersionRow(share_id, 1, now, "a.ipynb", "A", 10, "0" * 64, "4.5", "Python 3", "python",
                         1, [{"level": 1, "text": "A", "anchor": "a"}], "k1", "k2")
    return share, version


def metadata_urls(tmp_path):
    urls = [f"sqlite:///{tmp_path / 'meta.db'}"]
    if os.environ.get("NBSHARE_TEST_POSTGRES_URL"):
        urls.append(os.environ["NBSHARE_TEST_POSTGRES_URL"])
    return urls


def test_metadata_roundtrip_and_delete(tmp_path):
    for url in metadata_urls(tmp_path):
        store = MetadataStore(url)
        store.migrate()
        store.migrate()  # running migrations twice is harmless
        share, version = _rows()
        store.add_share(share, version)
        got_share, got_version = store.get_share(share.id)
        assert got_share == share and got_version == version  # datetimes come back as aware UTC
        assert [v.number for v in store.list_versions(share.id)] == [1]
        assert store.count_view(share.id) == 1 and store.get_share(share.id)[0].views == 1
        assert store.delete_share(share.id) is True
        assert store.get_share(share.id) is None and store.count() == (0, 0)
        store.close()


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
        if key.endswith("page.html"):
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
