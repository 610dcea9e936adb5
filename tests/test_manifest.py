"""Stored manifests load into the named types and are written back to the same JSON text:
rows and sealed meta.json blobs stored before these types existed stay readable, and
rows written now read the same to older code."""

import json

import pytest

from nbshare.manifest import Manifest

STORED_BUNDLE = {
    "files": [
        {
            "name": "data/x.csv",
            "media_type": "text/csv",
            "size": 4,
            "sha256": "5be0",
            "role": "bundle",
            "notebook": None,
            "address": "5be0",
            "key": "shares/ID/v1/files/5be0.0123456789abcdef",
        },
        {
            "name": "big.bin",
            "media_type": "application/octet-stream",
            "size": 300000,
            "sha256": "2992",
            "role": "download",
            "notebook": "one.ipynb",
            "address": "f1dd",
            "key": "shares/ID/v1/files/f1dd.0123456789abcdef.sealed",
        },
    ],
    "notebooks": [
        {
            "path": "one.ipynb",
            "page": "nb-0",
            "title": "One",
            "toc": [{"level": 1, "text": "One", "anchor": "one"}],
            "cell_count": 2,
            "kernel_name": "python3",
            "language": "python",
            "nbformat": "4.5",
            "page_key": "shares/ID/v1/pages/nb-0.html.0123456789abcdef",
        },
    ],
    "readme": {
        "path": "README.md",
        "page": "readme",
        "page_key": "shares/ID/v1/pages/readme.html.0123456789abcdef",
    },
    "env": [{"path": "requirements.txt", "kind": "requirements.txt", "description": "pip requirements"}],
}
STORED_NOTEBOOK = {
    "files": [
        {
            "name": "a.png",
            "media_type": "image/png",
            "size": 9,
            "sha256": "c783",
            "role": "attachment",
            "notebook": None,
            "address": "c783",
            "key": "shares/ID/v1/files/c783",
        },
    ]
}
BUNDLE_WITHOUT_README = {"files": [], "notebooks": [], "readme": None, "env": []}


@pytest.mark.parametrize("stored", [STORED_BUNDLE, STORED_NOTEBOOK, BUNDLE_WITHOUT_README, {"files": []}])
def test_a_stored_manifest_is_written_back_to_the_same_json(stored):
    assert json.dumps(Manifest.from_json(stored).to_json()) == json.dumps(stored)


def test_a_manifest_from_before_manifests_existed_has_no_files():
    assert Manifest.from_json({}).files == ()


def test_entries_not_yet_stored_have_no_storage_keys():
    fresh = Manifest.from_json(STORED_BUNDLE).files[0].to_json()
    del fresh["address"], fresh["key"]
    entry = Manifest.from_json({"files": [fresh]}).files[0]
    assert (entry.address, entry.key) == ("", "")
    assert entry.to_json() == fresh
