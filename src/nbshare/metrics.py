"""Prometheus metrics, off by default (the `metrics` setting): uploads by outcome, render
times and failures, views, and responses by status class.

Each app has its own registry (no import-time state), and each `nbshare serve` process
counts only what it served: Prometheus scrapes every instance and sums. The share service
reports through `NoMetrics`'s methods, so with metrics off it calls no-ops and
prometheus_client is not even imported.
"""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import Iterator

from starlette.requests import Request

from .errors import NbshareError
from .settings import Settings

# Renders take from a tenth of a second (a small notebook on a warm worker) to the render
# timeout (60 s by default).
RENDER_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
# The outcome of an upload or render that failed with something other than an NbshareError
# (a bug, a storage error): its 500 is in the server log with the traceback.
UNEXPECTED = "unexpected"
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
# Headers a reverse proxy adds: a request that carries one came through a proxy, so its
# loopback address says nothing about who sent it.
FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


class NoMetrics:
    """What the service reports, when nobody collects it."""

    @contextlib.contextmanager
    def upload(self) -> Iterator[None]:
        """Around one upload (a new share or a new version): its outcome."""
        yield

    @contextlib.contextmanager
    def render(self) -> Iterator[None]:
        """Around one notebook's render: its time, and its error code if it fails."""
        yield

    def view(self) -> None:
        """A view was counted (as the owner sees views counted)."""

    def response(self, status: int) -> None:
        """An HTTP response went out with `status`."""


class Metrics(NoMetrics):
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.uploads = Counter(
            "nbshare_uploads",
            "Uploads (new shares and new versions) by outcome: stored, or the error code"
            " they were refused with.",
            ["outcome"],
            registry=self.registry,
        )
        self.render_seconds = Histogram(
            "nbshare_render_seconds",
            "Seconds each notebook's render took, failed or not (a bundle renders each notebook).",
            buckets=RENDER_BUCKETS,
            registry=self.registry,
        )
        self.render_failures = Counter(
            "nbshare_render_failures",
            "Renders that failed, by error code (render_timeout, render_crashed, invalid_notebook...).",
            ["code"],
            registry=self.registry,
        )
        self.views = Counter("nbshare_views", "Views of shares counted.", registry=self.registry)
        self.responses = Counter(
            "nbshare_http_responses",
            "HTTP responses by status class (2xx, 4xx, 5xx...).",
            ["status_class"],
            registry=self.registry,
        )
        self.uploads.labels(outcome="stored")
        for status_class in STATUS_CLASSES:  # present at 0, so rates work from the start
            self.responses.labels(status_class=status_class)

    @contextlib.contextmanager
    def upload(self) -> Iterator[None]:
        try:
            yield
        except NbshareError as exc:
            self.uploads.labels(outcome=exc.code).inc()
            raise
        except Exception:
            self.uploads.labels(outcome=UNEXPECTED).inc()
            raise
        self.uploads.labels(outcome="stored").inc()

    @contextlib.contextmanager
    def render(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except NbshareError as exc:
            self.render_failures.labels(code=exc.code).inc()
            raise
        except Exception:
            self.render_failures.labels(code=UNEXPECTED).inc()
            raise
        finally:
            self.render_seconds.observe(time.perf_counter() - started)

    def view(self) -> None:
        self.views.inc()

    def response(self, status: int) -> None:
        self.responses.labels(status_class=f"{status // 100}xx").inc()

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def refusal(request: Request, settings: Settings) -> int | None:
    """Who may read /metrics: None if this request may, else the status to answer. With a
    token, anyone who presents it (401 otherwise); without one, only a loopback request no
    proxy forwarded (404 for everyone else, as if metrics were off)."""
    if settings.metrics_token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = settings.metrics_token.encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected):
            return None
        return 401
    forwarded = any(name in FORWARDED for name, _ in request.scope["headers"])
    host = request.client.host if request.client else ""
    return None if _loopback(host) and not forwarded else 404


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
