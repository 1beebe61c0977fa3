"""Does the daemon's memory stay flat over many poll cycles?

Runs the daemon's refresh path (the same ``Archiver.refresh_feed`` the scheduler calls) against a
local site whose feeds gain new articles every cycle, and prints the process's resident memory
after 1, 10, 50 and 100 cycles. Run:

    .venv/bin/python benchmarks/daemon_memory.py [--feeds 5] [--cycles 100]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aggregator.fetch.fetcher import Fetcher
from aggregator.models import FeedSpec, Settings
from aggregator.pipeline import Archiver
from aggregator.store import open_store

PAGE = """<html><head><title>Story {n} - TASS</title>
<link rel="canonical" href="https://tass.com/world/{n}"></head><body><div class="news">
<h1 class="news-header__title">Story number {n}</h1>
<dateformat time="{t}" mode="abs"></dateformat>
<div class="text-content"><div class="text-block">{paragraphs}</div></div></div></body></html>"""


class Site:
    """Feeds that gain ``per_cycle`` new items each cycle; every page is generated on request."""

    def __init__(self, feeds: int, per_cycle: int) -> None:
        self.feeds, self.per_cycle, self.cycle = feeds, per_cycle, 0
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site.answer(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml" if "rss" in self.path else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> bytes:
        if path.startswith("/rss/"):
            feed = int(path.rsplit("/", 1)[1])
            newest = (self.cycle + 1) * self.per_cycle
            items = "".join(
                f"<item><title>Story {feed}-{n}</title><link>http://127.0.0.1:{self.server.server_port}"
                f"/world/{feed * 1_000_000 + n}</link></item>"
                for n in range(max(0, newest - 50), newest)
            )
            return f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>".encode()
        n = int(path.rsplit("/", 1)[1])
        paragraphs = "".join(
            f"<p>Paragraph {i} of story {n}, with enough words to be a paragraph.</p>" for i in range(12)
        )
        return PAGE.format(n=n, t=1597267560 + n, paragraphs=paragraphs).encode()


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4096 / 1e6


async def main(feeds: int, cycles: int, per_cycle: int) -> None:
    site = Site(feeds, per_cycle)
    port = site.server.server_port
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database=Path(tmp) / "a.db", archive_dir=Path(tmp) / "archive", allow_private_networks=True)
        specs = [
            FeedSpec(id=f"f{i}", url=f"http://127.0.0.1:{port}/rss/{i}", source="TASS", timezone="Europe/Moscow")
            for i in range(feeds)
        ]
        clock_now = [datetime(2026, 1, 1, tzinfo=UTC)]
        print(f"{feeds} feeds, {per_cycle} new articles per feed per cycle")
        print("| cycles | articles | RSS MB |\n|---|---|---|")
        with open_store(settings.database) as store:
            async with Fetcher(settings) as fetcher:
                archiver = Archiver(settings, store, fetcher, clock=lambda: clock_now[0])
                store.sync_feeds(specs)
                for cycle in range(1, cycles + 1):
                    site.cycle = cycle
                    await asyncio.gather(*(archiver.refresh_feed(spec) for spec in specs))
                    clock_now[0] += timedelta(hours=1)
                    if cycle in (1, 10, 50, 100, 200, 500) or cycle == cycles:
                        print(f"| {cycle} | {store.count('articles')} | {rss_mb():.1f} |", flush=True)
    site.server.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--per-cycle", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.feeds, args.cycles, args.per_cycle))
