"""Zip archives from strangers: every trick refused whole, nothing written outside the destination."""

from __future__ import annotations

import io
import os
import unicodedata
import zipfile
from pathlib import Path

import pytest

from helpers import make_zip, with_mode
from nbshare.bundle.archive import BadArchive, Limits, Member, read_zip, safe_extract, write_zip
from nbshare.errors import NbshareError

MiB = 1024 * 1024
SMALL = Limits(max_files=5, max_total_bytes=10_000, max_file_bytes=4_000)


def refused(data: bytes, code: str, limits: Limits = SMALL) -> BadArchive:
    with pytest.raises(BadArchive) as caught:
        read_zip(data, limits)
    assert caught.value.code == code, caught.value.message
    assert 400 <= caught.value.status < 500
    return caught.value


def test_reads_regular_files():
    members = read_zip(make_zip(("a.ipynb", b"{}"), ("data/x.csv", b"1,2"), ("data/", b"")), Limits())
    assert members == [Member("a.ipynb", b"{}"), Member("data/x.csv", b"1,2")]


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../evil", "a/../../evil", "a/..", "C:\\evil", "c:evil", "a\\..\\evil", "a//b", "a\x01b",
     "a\u202eb", "x" * 300],
)  # fmt: skip
def test_unsafe_names_refuse_the_whole_archive(name):
    error = refused(make_zip(("fine.txt", b"ok"), (name, b"evil")), "archive_unsafe_path")
    assert "not allowed" in error.message


def test_unsafe_directory_entries_are_refused_too():
    refused(make_zip(("fine.txt", b"ok"), ("../up/", b"")), "archive_unsafe_path")


def test_nul_in_a_name_is_refused_although_zipfile_would_cut_it():
    data = make_zip(("fine.txt", b"ok"), ("evilXtxt", b"x")).replace(b"evilXtxt", b"evil\x00txt")
    refused(data, "archive_unsafe_path")


@pytest.mark.parametrize(
    ("mode", "code"),
    [
        (0o120777, "archive_link"),
        (0o020644, "archive_special_file"),  # character device
        (0o060644, "archive_special_file"),  # block device
        (0o010644, "archive_special_file"),  # fifo
        (0o140644, "archive_special_file"),  # socket
    ],
)
def test_links_and_special_files_are_refused(mode, code):
    refused(make_zip(("fine.txt", b"ok"), (with_mode("thing", mode), b"/etc/passwd")), code)


def test_regular_modes_and_no_mode_are_accepted():
    data = make_zip((with_mode("a.txt", 0o100755), b"a"), (with_mode("b.txt", 0), b"b"))
    assert [m.path for m in read_zip(data, SMALL)] == ["a.txt", "b.txt"]


def test_encrypted_members_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("secret.txt", b"x")
        archive.filelist[0].flag_bits |= 0x1  # written into the central directory at close
    refused(buffer.getvalue(), "archive_encrypted")


@pytest.mark.parametrize(
    "names",
    [
        (unicodedata.normalize("NFC", "café.txt"), unicodedata.normalize("NFD", "café.txt")),
        ("Data.csv", "data.csv"),
        ("STRASSE.txt", "straße.txt"),
        ("a/./b.txt", "a/b.txt"),
        ("a", "a/b.txt"),
        ("A/b.txt", "a"),
    ],
)
def test_names_that_collide_are_refused(names):
    refused(make_zip(*((name, b"x") for name in names)), "archive_duplicate")


def test_decomposed_names_come_back_composed():
    [member] = read_zip(make_zip((unicodedata.normalize("NFD", "café.txt"), b"x")), SMALL)
    assert member.path == unicodedata.normalize("NFC", "café.txt")


def test_junk_is_dropped_silently():
    data = make_zip(
        ("nb.ipynb", b"{}"), ("__MACOSX/._nb.ipynb", b"junk"), (".DS_Store", b"junk"), ("d/.DS_Store", b"j")
    )
    assert [m.path for m in read_zip(data, SMALL)] == ["nb.ipynb"]


def test_one_top_folder_is_stripped():
    data = make_zip(("analysis/", b""), ("analysis/nb.ipynb", b"{}"), ("analysis/data/x.csv", b"1"))
    assert [m.path for m in read_zip(data, SMALL)] == ["nb.ipynb", "data/x.csv"]


def test_top_folder_is_kept_beside_other_files():
    data = make_zip(("analysis/nb.ipynb", b"{}"), ("README.md", b"hi"))
    assert [m.path for m in read_zip(data, SMALL)] == ["analysis/nb.ipynb", "README.md"]


def test_too_many_files():
    error = refused(make_zip(*((f"f{i}.txt", b"x") for i in range(6))), "archive_too_many_files")
    assert error.status == 413 and "5" in error.message


def test_directories_and_junk_do_not_count_as_files():
    entries = [(f"d{i}/", b"") for i in range(10)] + [(f"f{i}.txt", b"x") for i in range(5)]
    assert len(read_zip(make_zip(*entries, ("__MACOSX/x", b"")), SMALL)) == 5


def test_one_file_too_large():
    error = refused(make_zip(("big.bin", os.urandom(5_000))), "archive_too_large")
    assert error.status == 413 and "4.9 KB" in error.message and "3.9 KB" in error.message


def test_files_too_large_together():
    error = refused(make_zip(*((f"f{i}.bin", os.urandom(3_000)) for i in range(4))), "archive_too_large")
    assert error.status == 413


def test_a_bomb_is_stopped_early_with_the_default_limits():
    # 50 MB of zeros compress to ~50 KB; reading stops a little past 1 MiB.
    info = zipfile.ZipInfo("zeros.bin")
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        with archive.open(info, "w") as stream:
            for _ in range(50):
                stream.write(bytes(MiB))
    assert len(buffer.getvalue()) < MiB
    error = refused(buffer.getvalue(), "archive_bomb", Limits())
    assert error.status == 413


def test_small_or_incompressible_members_are_not_bombs():
    data = make_zip(("blank.csv", bytes(500_000)), ("noise.bin", os.urandom(2 * MiB)))
    assert [len(m.data) for m in read_zip(data, Limits())] == [500_000, 2 * MiB]


def test_a_header_that_lies_about_the_size_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("liar.bin", bytes(50_000))
        archive.filelist[0].file_size = 10  # the central directory now claims 10 bytes
    with pytest.raises(BadArchive) as caught:
        read_zip(buffer.getvalue(), SMALL)
    assert caught.value.code in ("archive_corrupt", "archive_too_large")


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip at all", make_zip(("a.txt", b"hello" * 100))[:-30]],
    ids=["empty", "not a zip", "truncated"],  # the zip's bytes hold the time: ids must not
)
def test_not_a_zip_or_truncated(data):
    refused(data, "archive_corrupt")


def test_bad_crc_is_refused():
    data = make_zip(("a.txt", b"hello world"), compression=zipfile.ZIP_STORED).replace(b"hello", b"jello")
    error = refused(data, "archive_corrupt")
    assert "damaged" in error.message


def test_empty_archive():
    refused(make_zip(("only/", b""), ("__MACOSX/x", b"")), "archive_empty")


# ---- writing


def test_write_zip_is_deterministic_and_reads_back():
    files = [("b/x.csv", b"1,2"), ("a.ipynb", b"{}")]
    first, second = write_zip(files), write_zip(reversed(files))
    assert first == second
    assert read_zip(first, Limits()) == [Member("a.ipynb", b"{}"), Member("b/x.csv", b"1,2")]
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            assert info.compress_type == zipfile.ZIP_DEFLATED


def test_write_zip_refuses_what_read_zip_would():
    with pytest.raises(BadArchive):
        write_zip([("../x", b"")])
    with pytest.raises(BadArchive):
        write_zip([("a.txt", b""), ("A.txt", b"")])


# ---- extracting


def tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def test_safe_extract_writes_files_under_dest(tmp_path):
    dest = tmp_path / "clone"
    written = safe_extract([Member("nb.ipynb", b"{}"), Member("data/deep/x.csv", b"1")], dest)
    assert written == [dest.resolve() / "nb.ipynb", dest.resolve() / "data/deep/x.csv"]
    assert (dest / "data/deep/x.csv").read_bytes() == b"1"
    assert (dest / "nb.ipynb").stat().st_mode & 0o777 == 0o644


def test_safe_extract_does_not_write_through_a_planted_file_link(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    dest = tmp_path / "clone"
    dest.mkdir()
    (dest / "nb.ipynb").symlink_to(outside)
    (dest / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    before = tree(tmp_path)
    for name in ("nb.ipynb", "dangling.txt"):
        with pytest.raises(NbshareError) as caught:
            safe_extract([Member(name, b"evil")], dest)
        assert caught.value.code == "extract_exists" and 400 <= caught.value.status < 500
    assert outside.read_text() == "precious"
    assert tree(tmp_path) == before


def test_safe_extract_does_not_write_through_a_planted_folder_link(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dest = tmp_path / "clone"
    dest.mkdir()
    (dest / "data").symlink_to(elsewhere, target_is_directory=True)
    before = tree(tmp_path)
    with pytest.raises(BadArchive) as caught:
        safe_extract([Member("data/x.csv", b"evil")], dest)
    assert caught.value.code == "archive_unsafe_path"
    assert tree(tmp_path) == before and not list(elsewhere.iterdir())


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "a/../../evil", "a\\..\\evil", "C:evil"])
def test_safe_extract_checks_names_again_before_writing_anything(tmp_path, name):
    dest = tmp_path / "clone"
    before = tree(tmp_path)
    with pytest.raises(BadArchive):
        safe_extract([Member("fine.txt", b"ok"), Member(name, b"evil")], dest)
    assert tree(tmp_path) - before <= {"clone"}
    assert not (tmp_path / "evil").exists()


def test_safe_extract_refuses_colliding_names(tmp_path):
    with pytest.raises(BadArchive):
        safe_extract([Member("a.txt", b""), Member("A.txt", b"")], tmp_path / "clone")


def lying_bomb(declared: int | None) -> bytes:
    """110 KB of noise and 10 MB of zeros (about 10 KB deflated). With `declared`, the central
    directory claims the zeros take that many compressed bytes, so their ratio looks honest."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", bytes(10 * MiB))
        archive.writestr("noise.bin", os.urandom(110_000))  # what a claimed size can read into
        if declared is not None:
            archive.filelist[0].compress_size = declared  # written into the central directory at close
    return buffer.getvalue()


@pytest.mark.parametrize("declared", [None, 100_000, 2**31])
def test_a_bomb_is_refused_whatever_its_directory_claims_it_compressed_to(declared):
    data = lying_bomb(declared)
    assert len(data) < 130_000
    assert refused(data, "archive_bomb", Limits()).status == 413


def test_many_small_bombs_together_are_refused():
    """Each member is under the size where its ratio is checked; together they expand
    hundreds of times past what was uploaded, so the whole archive is a bomb."""
    data = make_zip(*((f"blank{n}.csv", bytes(900_000)) for n in range(100)))
    assert len(data) < 200_000
    assert refused(data, "archive_bomb", Limits()).status == 413
