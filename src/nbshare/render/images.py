"""Images in long notebooks: load lazily, and reserve their space before they arrive.

An <img> with width and height attributes (and nbconvert's `max-width: 100%;
height: auto`) keeps its box while it loads, so a deep link into a notebook full of
plots lands on its heading instead of being pushed down by every image above it.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Mapping
from typing import Any

LAZY = 'loading="lazy" decoding="async"'
IMG_TAG_RE = re.compile(r"<img\b(?![^>]*\bloading\s*=)", re.IGNORECASE)


def lazy_images(html: str) -> str:
    """Add loading="lazy" decoding="async" to every <img> that does not choose already."""
    return IMG_TAG_RE.sub(f"<img {LAZY}", html)


def _png_size(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    return None


def _gif_size(head: bytes) -> tuple[int, int] | None:
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", head[6:10])
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def pixel_size(b64: str, mime: str) -> tuple[int, int] | None:
    """(width, height) read from a base64 PNG, GIF or JPEG header; None when unknown."""
    if not isinstance(b64, str):
        return None
    # A JPEG's size may sit after its EXIF block; 64 KB of base64 reaches it in practice.
    chunk = "".join(b64[: 87384 if mime == "image/jpeg" else 64].split())
    chunk = chunk[: len(chunk) - len(chunk) % 4]
    try:
        data = base64.b64decode(chunk)
    except (binascii.Error, ValueError):
        return None
    size = _jpeg_size(data) if mime == "image/jpeg" else _png_size(data) or _gif_size(data)
    if size and 0 < size[0] < 100_000 and 0 < size[1] < 100_000:
        return size
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def image_size(output: Mapping[str, Any], mime: str) -> dict[str, str]:
    """The width and height attributes for an image output: the notebook's own display
    size when it has one (retina plots, Image(width=...)), scaled to keep the aspect
    ratio when only one side is given; otherwise the pixel size from the image header."""
    metadata = output.get("metadata") or {}
    specific = metadata.get(mime)
    if not isinstance(specific, dict):
        specific = {}
    width = _number(specific.get("width", metadata.get("width")))
    height = _number(specific.get("height", metadata.get("height")))
    pixels = pixel_size(output.get("data", {}).get(mime), mime)
    if width and not height and pixels:
        height = width * pixels[1] / pixels[0]
    elif height and not width and pixels:
        width = height * pixels[0] / pixels[1]
    elif not width and not height and pixels:
        width, height = pixels
    return {name: f"{value:.0f}" for name, value in (("width", width), ("height", height)) if value}
