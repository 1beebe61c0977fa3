"""The real pipeline over httpx.MockTransport: routes keyed by URL, no socket, no DNS, no sleeping.

``Harness`` keeps its routes, counts the requests per URL and can run several times over one
database (with a frozen clock, when it is given one); ``run`` is one run of it, as most tests
want it: results and a connection to the database.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from aggregator.fetch.fetcher import Fetcher
from aggregator.models import FeedResult, FeedSpec, Settings
from aggregator.pipeline.archiver import Archiver
from aggregator.pipeline.revisits import Revisits, RevisitTally
from aggregator.store import Store, open_store
from tests.helpers.site import FIXTURES

#: The reference TASS page, as served.
REFERENCE_PAGE = (FIXTURES / "tass" / "politics-1189047.html").read_bytes()
PROFILES = FIXTURES / "profiles"
FEED_URL = "https://tass.com/rss/v2.xml"
TASS = FeedSpec(id="tass", url=FEED_URL, source="TASS", timezone="Europe/Moscow")

#: URL without its query -> the response, or a function of the request that gives it.
Routes = dict[str, httpx.Response | Callable[[httpx.Request], httpx.Response]]


def rss(*links: str, pub_date: str = "Wed, 12 Aug 2020 21:26:00 +0000") -> bytes:
    """A feed with one item per link, every item dated ``pub_date``."""
    items = "".join(f"<item><title>t</title><link>{link}</link><pubDate>{pub_date}</pubDate></item>" for link in links)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>TASS</title>'
        f"<link>https://tass.com</link>{items}</channel></rss>"
    ).encode()


def html(body: bytes | str, status: int = 200, content_type: str = "text/html; charset=utf-8") -> httpx.Response:
    """A response with ``body`` (a page by default; give ``content_type`` for a feed)."""
    return httpx.Response(
        status, content=body.encode() if isinstance(body, str) else body, headers={"content-type": content_type}
    )


async def public_dns(host: str) -> list[str]:
    """Every host name resolves to a public address (the SSRF guard lets it through)."""
    return ["93.184.216.34"]


async def no_sleep(seconds: float) -> None:
    """Retry backoffs take no time."""


class Harness:
    """The pipeline over ``routes``: settings from ``**settings`` (database and archive in
    ``tmp_path``), extraction in ``executor`` when given one, ``clock`` injected when given one;
    ``hits`` counts the requests per URL (without query)."""

    def __init__(
        self,
        tmp_path: Path,
        routes: Routes | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        executor: Executor | None = None,
        **settings: Any,
    ) -> None:
        self.settings = Settings(database=tmp_path / "a.db", archive_dir=tmp_path / "archive", **settings)
        self.routes: Routes = routes if routes is not None else {}
        self.hits: dict[str, int] = {}
        self.clock = clock
        self.executor = executor

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url.copy_with(query=None))
        self.hits[url] = self.hits.get(url, 0) + 1
        answer = self.routes.get(url)
        if answer is None:
            return httpx.Response(404, text="not found")
        return answer(request) if callable(answer) else answer

    def fetcher(self) -> Fetcher:
        """A fetcher whose every request goes to ``handler``."""
        return Fetcher(self.settings, transport=httpx.MockTransport(self.handler), resolver=public_dns, sleep=no_sleep)

    def archiver(self, store: Store, fetcher: Fetcher) -> Archiver:
        options: dict[str, Any] = {"executor": self.executor}
        if self.clock is not None:
            options["clock"] = self.clock
        return Archiver(self.settings, store, fetcher, **options)

    def run(self, feeds: tuple[FeedSpec, ...] = (TASS,)) -> list[FeedResult]:
        """One ``fetch`` run of ``feeds``: a result per feed."""

        async def main() -> list[FeedResult]:
            with open_store(self.settings.database) as store:
                async with self.fetcher() as fetcher:
                    archiver = self.archiver(store, fetcher)
                    try:
                        return await archiver.fetch_all(feeds)
                    finally:
                        archiver.close()

        return asyncio.run(main())

    def revisit(self, feeds: tuple[FeedSpec, ...] = (TASS,)) -> dict[str, int]:
        """The revisits of ``feeds`` due now, as the daemon's background runs them: outcome -> articles."""

        async def main() -> RevisitTally:
            tally = RevisitTally()
            with open_store(self.settings.database) as store:
                async with self.fetcher() as fetcher:
                    archiver = self.archiver(store, fetcher)
                    try:
                        await archiver.start(feeds)
                        await Revisits(archiver).run(feeds, tally)
                    finally:
                        archiver.close()
            return tally

        return dict(asyncio.run(main()).total)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.settings.database) as db:
            return db.execute(sql).fetchall()


def run(
    tmp_path: Path,
    routes: Routes,
    feeds: tuple[FeedSpec, ...] = (TASS,),
    *,
    executor: Executor | None = None,
    **settings: Any,
) -> tuple[list[FeedResult], sqlite3.Connection]:
    """One ``fetch`` run over ``routes`` (one retry, not waited for); returns results and the db."""
    harness = Harness(tmp_path, routes, executor=executor, **{"retries": 1, **settings})
    results = harness.run(feeds)
    return results, sqlite3.connect(harness.settings.database)


# -- a feed without a profile, with selectors in its config ---------------------------------------

#: A page of a site without a profile, for INLINE_FEED (tests/test_profiles.py extracts it too).
INLINE_PAGE = """<html><head><title>Rain expected - Example News</title>
<meta property="article:published_time" content="2024-03-01T09:30:00+00:00"></head><body>
<nav><p>Home World Business Sport and a long navigation line that is not the article body.</p></nav>
<div class="story"><h1 class="story-title">Rain expected over the weekend</h1>
<div class="related-links"><p>Read also: sunshine returns, and other stories from the same desk.</p></div>
<div class="story-body"><p>LONDON (Reuters) - Forecasters expect heavy rain across the south on Saturday.</p>
<p>The wet spell should clear by Monday, they said in a statement on Friday.</p></div></div>
<aside><p>Most read: a long list of unrelated stories that no extractor should keep as body text.</p></aside>
</body></html>"""

INLINE_FEED = FeedSpec(
    id="example",
    url="https://news.example.org/rss",
    source="Example News",
    timezone="Europe/London",
    selectors=(
        ("body", ".story-body"),
        ("container", "div.story"),
        ("datelines", ("reuters",)),
        ("min_body_chars", 50),
    ),
)
