"""Prometheus metrics and the /healthz endpoint of the daemon (the only prometheus_client user).

The endpoint is a tiny threaded HTTP server from the standard library: ``/metrics`` in the
Prometheus text format, ``/healthz`` answering 200 or 503 with a one-line JSON reason.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import threading
from collections import Counter as Tally
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from aggregator.errors import AggregatorError
from aggregator.models import FeedResult

log = logging.getLogger("aggregator")

#: (healthy, details) as /healthz reports it
HealthCheck = Callable[[], tuple[bool, dict[str, object]]]


class Metrics:
    """The daemon's counters and gauges, in a registry of their own (no global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter("aggregator_polls", "Feed polls by outcome", ["feed", "outcome"], registry=self.registry)
        self.articles = Counter(
            "aggregator_articles_archived", "New articles archived", ["feed"], registry=self.registry
        )
        self.errors = Counter(
            "aggregator_fetch_errors",
            "Failed feed polls and pages by reason",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "aggregator_feed_last_success_timestamp_seconds",
            "Unix time of the feed's last successful poll",
            ["feed"],
            registry=self.registry,
        )
        self.lag = Gauge(
            "aggregator_scheduler_lag_seconds",
            "How late the most overdue feed was at the last scheduler tick",
            registry=self.registry,
        )
        self.in_flight = Gauge("aggregator_polls_in_flight", "Feed polls running now", registry=self.registry)
        self.gaps = Counter(
            "aggregator_feed_gaps",
            "Polls that shared no item with the feed's last one (items probably missed in between)",
            ["feed"],
            registry=self.registry,
        )
        self.backfill_pages = Counter(
            "aggregator_backfill_pages",
            "Backfill pages handled by the daemon, by what became of them",
            ["status"],
            registry=self.registry,
        )
        self.revisits = Counter(
            "aggregator_revisits",
            "Revisits of archived articles, by what they found (unchanged, edited, removed, restored, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.profile_fallbacks = Counter(
            "aggregator_profile_fallbacks",
            "Pages archived with the generic profile because the site's profile found no body "
            "(profile drift: a redesign; fix the profile, then run aggregator reextract)",
            ["feed", "profile"],
            registry=self.registry,
        )
        self.loop_lag = Gauge(
            "aggregator_event_loop_lag_seconds",
            "How much later than asked the event loop last ran a timer",
            registry=self.registry,
        )

    def observe(self, result: FeedResult, finished_at: float) -> None:
        self.polls.labels(result.feed_id, result.outcome).inc()
        if result.archived:
            self.articles.labels(result.feed_id).inc(result.archived)
        if result.ok:
            self.last_success.labels(result.feed_id).set(finished_at)
        else:
            self.errors.labels("feed", result.error_reason or "error").inc()
        for reason in result.page_errors:
            self.errors.labels("page", reason).inc()
        if result.gap is not None:
            self.gaps.labels(result.feed_id).inc()

    def count_fallbacks(self, fallbacks: Tally[tuple[str, str]]) -> None:
        """Add the pages the fallback extracted (by feed and site profile) to the profile-drift counter."""
        for (feed_id, profile), pages in fallbacks.items():
            self.profile_fallbacks.labels(feed_id, profile).inc(pages)

    def forget(self, feed_id: str) -> None:
        """A feed removed from feeds.yaml: its last-success gauge goes (its counters are history)."""
        with contextlib.suppress(KeyError):
            self.last_success.remove(feed_id)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def serve_metrics(metrics: Metrics, health: HealthCheck, host: str, port: int) -> ThreadingHTTPServer:
    """Start the endpoint in a background thread; ``shutdown()`` the returned server to stop it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                ok, details = health()
                body = json.dumps({"ok": ok, **details}, default=str).encode() + b"\n"
                self._send(200 if ok else 503, body, "application/json")
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet: the daemon logs its own way
            pass

    shown = f"[{host}]" if ":" in host else host
    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:  # the one line names the endpoint the daemon could not open
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise AggregatorError(f"cannot serve metrics on http://{shown}:{port}/metrics: {reason}") from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    bound = server.server_address[1]  # port 0: the system chose one
    log.info("metrics at http://%s:%d/metrics and /healthz", shown, bound, extra={"event": "metrics", "port": bound})
    return server
