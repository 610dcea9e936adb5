"""UNSET: "leave this setting as it is", where None means "remove it".

One sentinel for the client (which leaves unset settings out of its PATCH) and the share
service (which changes only what was given); it imports nothing, so the CLI side stays light."""

from __future__ import annotations

import enum


class Unset(enum.Enum):
    # An enum member, not a bare object(): `value is not UNSET` then narrows a
    # `T | Unset` parameter to T for mypy, and it prints as UNSET in a traceback.
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET
