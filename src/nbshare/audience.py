"""Who may read a share when nbshare runs as a JupyterHub service with Hub login (hub_auth).

Three audiences: anyone with the link (the default, and the only one without Hub login),
every user of the Hub, or named users and groups. The uploader chooses; the share's owner
always reads their own share. Written by people as `anyone`, `hub`, or a comma-separated
list such as `bob,carol,group:physics`; stored as JSON (None for anyone).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import NbshareError

# JupyterHub lower-cases user names by default but allows most characters; these are the
# characters a name may have here, which keeps the comma-separated form unambiguous.
_NAME = re.compile(r"[^\s,:/][^\s,/]{0,254}")
MAX_NAMES = 200
GROUP = "group:"


@dataclass(frozen=True)
class HubUser:
    """A Hub user as the Hub identified them (hub.py)."""

    name: str
    groups: frozenset[str] = frozenset()


# Who a request comes from, asked only when a share needs to know: `strict` (the share is
# for Hub users, or a change needs its owner) lets a Hub that cannot answer, or a token it
# refuses, be an error; otherwise the reader is taken as signed out.
Identify = Callable[[bool], Awaitable[HubUser | None]]


@dataclass(frozen=True)
class Audience:
    hub: bool = False  # every signed-in user of the Hub
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @property
    def anyone(self) -> bool:
        return not (self.hub or self.users or self.groups)

    @classmethod
    def parse(cls, text: str | None) -> Audience:
        """`anyone` (or nothing), `hub`, or names: `bob,carol,group:physics`."""
        value = (text or "").strip()
        if value.lower() in ("", "anyone"):
            return cls()
        if value.lower() == "hub":
            return cls(hub=True)
        users: list[str] = []
        groups: list[str] = []
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            is_group = item.lower().startswith(GROUP)
            name = item[len(GROUP) :] if is_group else item
            if not _NAME.fullmatch(name):
                raise NbshareError(
                    f"{item!r} is not a Hub user or group name. Write `anyone`, `hub`, or names"
                    " separated by commas, groups as group:NAME (for example bob,group:physics).",
                    code="bad_audience",
                )
            (groups if is_group else users).append(name)
        if len(users) + len(groups) > MAX_NAMES:
            raise NbshareError(f"Name at most {MAX_NAMES} users and groups.", code="bad_audience")
        if not users and not groups:  # "," must not quietly mean anyone
            raise NbshareError(
                "Name at least one user or group, or write `anyone` or `hub`.", code="bad_audience"
            )
        return cls(users=tuple(dict.fromkeys(users)), groups=tuple(dict.fromkeys(groups)))

    def __str__(self) -> str:
        """The form `parse` reads."""
        if self.anyone:
            return "anyone"
        if self.hub:
            return "hub"
        return ",".join([*self.users, *(GROUP + g for g in self.groups)])

    def describe(self, *, names: bool = True) -> str:
        """For people: who can read it (without the names, for those who are not in it)."""
        if self.anyone:
            return "anyone with the link"
        if self.hub:
            return "users of this JupyterHub"
        if not names:
            return "named users of this JupyterHub"
        return ", ".join([*self.users, *(f"group {g}" for g in self.groups)])

    def admits(self, user: HubUser | None) -> bool:
        if self.anyone:
            return True
        if user is None:
            return False
        # JupyterHub's authenticators lower-case user names; a name written Bob still means bob.
        named = user.name.casefold() in {u.casefold() for u in self.users}
        return self.hub or named or bool(user.groups.intersection(self.groups))

    def to_json(self) -> dict[str, Any] | None:
        if self.anyone:
            return None
        if self.hub:
            return {"hub": True}
        return {"users": list(self.users), "groups": list(self.groups)}

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Audience:
        if not value:
            return cls()
        return cls(
            hub=bool(value.get("hub")),
            users=tuple(value.get("users") or ()),
            groups=tuple(value.get("groups") or ()),
        )


ANYONE = Audience()
