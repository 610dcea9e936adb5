"""Reading and writing zip archives without trusting them.

A zip's headers are written by whoever made it: names, types and sizes can all lie. So every
member's name and type are checked and its bytes are decompressed and counted here, before
anything is returned; one bad member refuses the whole archive, so nothing half-read is used.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import NbshareError
from ..text import human_size
from .paths import BadArchive, check_unique, is_junk, normalise, unsafe

__all__ = ["BadArchive", "Limits", "Member", "format_size", "read_zip", "safe_extract", "write_zip"]

MiB = 1024 * 1024
# zipfile reads about as many compressed bytes as it is asked to give back, so the bytes
# counted while reading a member are at most one read ahead of what its decompressor used.
# Small reads keep that margin small until enough was read for it not to matter.
SMALL_CHUNK = 4 * 1024
CHUNK = 64 * 1024
# Real data rarely compresses past 200:1; bombs reach 1000:1. Small members are let through
# whatever their ratio (a KB of blank CSV compresses well), as they cannot hurt. The ratio is
# of bytes really read from the upload, never of sizes the zip declares: per member, and
# for the whole archive (so many small members, or entries sharing data, add up).
BOMB_RATIO = 200
BOMB_FLOOR = 1 * MiB
# The earliest time a zip can hold: the same files always make the same bytes.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
ENCRYPTED = 0x1
WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{dev}{n}" for dev in ("COM", "LPT") for n in range(1, 10)]
)


@dataclass(frozen=True)
class Limits:
    max_files: int = 1000
    max_total_bytes: int = 200 * MiB
    max_file_bytes: int = 100 * MiB


@dataclass(frozen=True)
class Member:
    path: str  # normalised relative POSIX path
    data: bytes


def format_size(size: int) -> str:
    """A limit or a size in a refusal: '5 MB', '1.5 GB' (no '.0', as people write limits)."""
    return human_size(size, drop_zero_decimal=True)


def file_too_large(name: str, size: int, limits: Limits) -> BadArchive:
    return BadArchive(
        f"{name!r} is {format_size(size)}; the limit for one file is {format_size(limits.max_file_bytes)}.",
        code="archive_too_large",
        status=413,
    )


def total_too_large(limits: Limits) -> BadArchive:
    return BadArchive(
        f"The files add up to more than the limit of {format_size(limits.max_total_bytes)}.",
        code="archive_too_large",
        status=413,
    )


def too_many_files(count: int, limits: Limits) -> BadArchive:
    return BadArchive(
        f"There are {count} or more files; the limit is {limits.max_files}.",
        code="archive_too_many_files",
        status=413,
    )


# ---- reading


def read_zip(data: bytes, limits: Limits) -> list[Member]:
    """Every regular file in the zip, checked and decompressed, or BadArchive for the whole zip."""
    source = _CountingReader(data)
    try:
        with zipfile.ZipFile(source) as archive:
            entries = _entries(archive.infolist(), limits)
            members = _read_all(archive, source, entries, limits)
    except NotImplementedError as exc:
        raise BadArchive(
            f"The zip file uses a compression method nbshare cannot read ({exc}); "
            "make it again with ordinary (deflate) compression.",
            code="archive_corrupt",
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error) as exc:
        raise BadArchive(f"The zip file is damaged or is not a zip file ({exc}).") from exc
    return _strip_top_folder(members)


def _entries(infos: list[zipfile.ZipInfo], limits: Limits) -> list[tuple[zipfile.ZipInfo, str]]:
    kept = []
    for info in infos:
        raw = info.orig_filename
        # zipfile silently cuts a name at NUL; whatever follows was meant for some other reader.
        if "\x00" in raw:
            raise unsafe(raw, "it contains a NUL character")
        is_dir = raw.endswith("/")
        name = normalise(raw[:-1] if is_dir else raw)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise BadArchive(
                f"{name!r} is a symbolic link; a bundle may hold only files and folders.", code="archive_link"
            )
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise BadArchive(
                f"{name!r} is a special file (a device, pipe or socket); a bundle may hold only "
                "files and folders.",
                code="archive_special_file",
            )
        if info.flag_bits & ENCRYPTED:
            raise BadArchive(
                f"{name!r} is encrypted; zip the files again without a password.", code="archive_encrypted"
            )
        if is_dir or kind == stat.S_IFDIR or is_junk(name):
            continue
        # The declared size may lie low (it is counted again while reading), but never usefully high.
        if info.file_size > limits.max_file_bytes:
            raise file_too_large(name, info.file_size, limits)
        kept.append((info, name))
        if len(kept) > limits.max_files:
            raise too_many_files(len(kept), limits)
    if not kept:
        raise BadArchive("The zip file holds no files.", code="archive_empty")
    check_unique(name for _, name in kept)
    return kept


class _CountingReader(io.BytesIO):
    """The upload, counting every byte zipfile reads from it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.count = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.count += len(chunk)
        return chunk


def _read_all(
    archive: zipfile.ZipFile,
    source: _CountingReader,
    entries: list[tuple[zipfile.ZipInfo, str]],
    limits: Limits,
) -> list[Member]:
    members, total = [], 0
    archive_size = len(source.getbuffer())
    for info, name in entries:
        data = _read_member(archive, source, info, name, limits, room=limits.max_total_bytes - total)
        total += len(data)
        # Entries may share compressed data, so their sum is held to the upload's real size.
        if _is_bomb(total, archive_size):
            raise _bomb("The files together expand")
        members.append(Member(name, data))
    return members


def _read_member(
    archive: zipfile.ZipFile,
    source: _CountingReader,
    info: zipfile.ZipInfo,
    name: str,
    limits: Limits,
    room: int,
) -> bytes:
    chunks, size = [], 0
    start = source.count
    with archive.open(info) as stream:
        while chunk := stream.read(CHUNK if source.count - start > 16 * CHUNK else SMALL_CHUNK):
            size += len(chunk)
            if _is_bomb(size, source.count - start):
                raise _bomb(f"{name!r} expands")
            if size > limits.max_file_bytes:
                raise file_too_large(name, size, limits)
            if size > room:
                raise total_too_large(limits)
            chunks.append(chunk)
    return b"".join(chunks)


def _is_bomb(expanded: int, read: int) -> bool:
    return expanded > BOMB_FLOOR and expanded > BOMB_RATIO * max(1, read)


def _bomb(what: str) -> BadArchive:
    return BadArchive(
        f"{what} more than {BOMB_RATIO} times when unzipped, which only zip bombs do; the zip was refused.",
        code="archive_bomb",
        status=413,
    )


def _strip_top_folder(members: list[Member]) -> list[Member]:
    # Zipping a folder puts everything under its name; the bundle is what was inside it.
    tops = {member.path.split("/", 1)[0] for member in members}
    if len(tops) != 1 or not all("/" in member.path for member in members):
        return members
    return [Member(member.path.split("/", 1)[1], member.data) for member in members]


# ---- extracting


def safe_extract(members: list[Member], dest: Path) -> list[Path]:
    """Write `members` under `dest` as new files, never through a link, never outside `dest`."""
    names = [_checked_for_this_os(member.path) for member in members]
    check_unique(names)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written = []
    for member, name in zip(members, names, strict=True):
        parent = _make_parents(root, name)
        target = parent / name.rsplit("/", 1)[-1]
        if not parent.resolve().is_relative_to(root):
            raise unsafe(name, "it would be written outside the destination folder")
        _write_new(target, member.data, name)
        written.append(target)
    return written


def _checked_for_this_os(name: str) -> str:
    name = normalise(name)
    if os.name == "nt":  # names Windows would read as a device or a stream, not a file
        for part in name.split("/"):
            if part.split(".", 1)[0].upper() in WINDOWS_RESERVED or part[-1] in ". ":
                raise unsafe(name, "Windows reserves this name")
            if any(char in part for char in '<>:"|?*'):
                raise unsafe(name, 'Windows does not allow any of <>:"|?* in names')
    return name


def _make_parents(root: Path, name: str) -> Path:
    current = root
    for part in name.split("/")[:-1]:
        current = current / part
        try:
            os.mkdir(current, 0o755)
        except FileExistsError:
            # Something already there (perhaps planted) must be a real folder, not a link to elsewhere.
            if not stat.S_ISDIR(os.lstat(current).st_mode):
                raise unsafe(name, f"{current} exists and is not a folder") from None
    return current


def _write_new(target: Path, data: bytes, name: str) -> None:
    # O_EXCL refuses any existing entry, a dangling symlink included; O_NOFOLLOW is the belt to it.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        raise NbshareError(
            f"{name!r} already exists in the destination folder; clone into a new, empty folder.",
            code="extract_exists",
            status=409,
        ) from None
    with os.fdopen(fd, "wb") as file:
        file.write(data)


# ---- writing


def write_zip(files: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip of `files` that depends only on their names and bytes (not on time or this OS)."""
    entries = sorted(((normalise(name), data) for name, data in files), key=lambda entry: entry[0])
    check_unique(name for name, _ in entries)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, wherever it was made, so the mode bits mean the same
            archive.writestr(info, data)
    return buffer.getvalue()
