"""Share lifetimes: '30m', '12h', '7d', '4w', a date, a date and time, or 'never'."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from .errors import NbshareError

DURATION_RE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$", re.IGNORECASE)
UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
NEVER = ("", "never", "none")


# Past this, dates stop being representable (year 9999) and nobody means it anyway.
LONGEST = timedelta(days=365 * 1000)


class BadExpiry(NbshareError):
    status = 400
    code = "bad_expiry"


class TooFar(ValueError):
    """A duration longer than LONGEST."""


def parse_duration(text: str) -> timedelta | None:
    """'7d' -> 7 days; 'never' -> None. Raises ValueError for anything else."""
    if text.strip().lower() in NEVER:
        return None
    match = DURATION_RE.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h, 7d or 4w (or 'never')")
    duration = int(match.group(1)) * UNITS[match.group(2).lower()]
    if duration > LONGEST:
        raise TooFar(f"{text!r} is more than 1000 years; use 'never' for a share that never expires")
    return duration


def parse_expiry(text: str | None, now: datetime) -> datetime | None:
    """When a share chosen to live `text` expires. A bare date means the end of that day, UTC."""
    if text is None or text.strip().lower() in NEVER:
        return None
    text = text.strip()
    try:
        duration = parse_duration(text)
        return None if duration is None else now + duration
    except TooFar as exc:
        raise BadExpiry(f"Cannot use the expiry {exc}.") from None
    except ValueError:
        pass
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(days=1)
        else:
            moment = datetime.fromisoformat(text)
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        if moment - now > LONGEST:
            raise BadExpiry(
                f"The expiry {text!r} is more than 1000 years away; use 'never' for a share "
                "that never expires."
            )
        return moment
    except OverflowError:  # the day after 9999-12-31, or a time zone pushing past it
        raise BadExpiry(
            f"The expiry {text!r} is too far in the future; use 'never' for a share that never expires."
        ) from None
    except ValueError:
        raise BadExpiry(
            f"Cannot read the expiry {text!r}: use a duration like 1h, 7d or 4w, a date like "
            "2026-12-31, or 'never'."
        ) from None


def choose_expiry(text: str | None, now: datetime, *, default: str, maximum: str) -> datetime | None:
    """The expiry for a request, applying the operator's default and maximum lifetime."""
    longest = parse_duration(maximum)
    if text is None or not text.strip():
        # No choice made: the operator's default, capped by the maximum.
        text = maximum if parse_duration(default) is None and longest is not None else default
    expires = parse_expiry(text, now)
    if expires is not None and expires <= now:
        raise BadExpiry("That expiry is in the past; choose a time in the future.")
    if longest is not None:
        if expires is None:
            raise BadExpiry(f"Shares on this server must expire within {describe(longest)}.")
        if expires > now + longest:
            raise BadExpiry(f"Shares on this server may live at most {describe(longest)}.")
    return expires


def describe(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"
