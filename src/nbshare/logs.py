"""Logging for `nbshare serve`: share links are secrets, so access logs never show a whole id,
and no query string value: a refused `?password=` must not land in the log it was refused to
keep out of, and a raw upload's `?title=` / `?filename=` would undo a protected share's
encryption at rest."""

from __future__ import annotations

import copy
import logging
import re

from uvicorn.config import LOGGING_CONFIG

from .security.tokens import ID_CHAR, ID_LENGTHS
from .store import keys

# A share's link (/n/ID, /api/v1/shares/ID) and its blob keys (shares/ID/...): the id's
# first 4 characters are kept (to tell lines apart), the rest hidden.
_KEPT = 4
SHARE_ID_RE = re.compile(
    f"(/n/|{keys.ROOT}/)({ID_CHAR}{{{_KEPT}}}){ID_CHAR}{{{ID_LENGTHS[0] - _KEPT},{ID_LENGTHS[1] - _KEPT}}}"
)
QUERY_RE = re.compile(r"\?[^\s\"]*")
QUERY_VALUE_RE = re.compile(r"=[^&;#]*")


def redact(text: str) -> str:
    text = QUERY_RE.sub(lambda query: QUERY_VALUE_RE.sub("=…", query.group()), text)
    return SHARE_ID_RE.sub(r"\1\2…", text)


class RedactShareIds(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def configure_logging(access_log: str = "text") -> dict:
    """uvicorn's logging config with share ids redacted from every log line. With the JSON
    access log, its lines (access.py) go to stdout bare, one JSON object each, and uvicorn's
    own access lines are not written (`nbshare serve` turns them off); other messages stay
    text on stderr."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": RedactShareIds}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    # Its lines are redacted as they are made (access.py), field by field: the filter's
    # pass over the whole line could cut a JSON string short at an escaped quote.
    config["formatters"]["bare"] = {"format": "%(message)s"}
    config["handlers"]["json_access"] = {
        "formatter": "bare",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["nbshare"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    if access_log == "json":
        access = {"handlers": ["json_access"], "level": "INFO", "propagate": False}
        config["loggers"]["nbshare.access"] = access
    return config
