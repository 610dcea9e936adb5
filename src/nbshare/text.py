"""Sizes and times as people read them, for the command line and the service's pages.

The callers grew slightly different habits, kept here as parameters so that no output
changes: the pages go up to GB, the CLI's tables stop at MB, and the bundle's limit
messages drop a trailing ".0" ("5 MB", not "5.0 MB")."""

from __future__ import annotations

from datetime import UTC, datetime

SIZE_UNITS = ("bytes", "KB", "MB", "GB")
MINUTE, DAY = 60, 86400


def human_size(size: int, *, largest: str = "GB", drop_zero_decimal: bool = False) -> str:
    """'812 bytes', '1.5 KB', '12.3 MB': one decimal above bytes, never past `largest`."""
    amount = float(size)
    for unit in SIZE_UNITS[: SIZE_UNITS.index(largest) + 1]:
        if amount < 1024 or unit == largest:
            break
        amount /= 1024
    if unit == "bytes":
        return f"{amount:.0f} bytes"
    number = f"{amount:.1f}"
    return f"{number.removesuffix('.0') if drop_zero_decimal else number} {unit}"


def human_time(timestamp: str) -> str:
    """An ISO timestamp as '2026-11-22 10:00' (UTC); anything else as it came."""
    try:
        return datetime.fromisoformat(timestamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return timestamp


def expiry_text(timestamp: str, *, short: bool = False, now: datetime | None = None) -> str:
    """'2026-11-22 11:00 UTC (in 59m)'; within two days the relative part alone when short."""
    try:
        moment = datetime.fromisoformat(timestamp).astimezone(UTC)
    except (TypeError, ValueError):
        return str(timestamp)
    left = (moment - (now or datetime.now(UTC))).total_seconds()
    absolute = moment.strftime("%Y-%m-%d %H:%M") + ("" if short else " UTC")
    if left <= 0:
        return "expired"
    if left >= 2 * DAY:
        return absolute
    minutes = int(left // MINUTE)
    relative = f"in {minutes}m" if minutes < 60 else f"in {minutes // 60}h{minutes % 60:02d}m"
    if minutes < 1:
        relative = "in <1m"
    return relative if short else f"{absolute} ({relative})"
