"""Enumerating a feed's backfill sources over a window: one ``Found`` per source document read
(a sitemap, one page of CDX results), or its failure, so that the caller queues each as it comes
and a killed run loses at most the document in hand.

A sitemap index is followed depth first (at most ``MAX_DEPTH`` levels, each document once, at
most ``MAX_DOCUMENTS`` in all); a child whose ``lastmod`` is older than the window is not read,
since nothing in it was published since. A source that fails is reported and enumeration goes
on with the next one: one bad sitemap never hides the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.config import AUTO_SITEMAPS
from aggregator.discovery import cdx
from aggregator.discovery.candidates import Candidate, Window
from aggregator.errors import AggregatorError, InvalidURL
from aggregator.feeds.sitemaps import Sitemap, parse_sitemap
from aggregator.fetch import Fetcher
from aggregator.models import FeedSpec, Settings
from aggregator.urls import canonical_url

#: Sitemap documents may be this large decompressed (the sitemaps protocol's own limit).
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 5
MAX_DOCUMENTS = 10_000
#: CDX pages are text lines of about 100 bytes: 5,000 of them, and room to spare.
MAX_CDX_BYTES = 16 * 1024 * 1024
_SITEMAP_ACCEPT = "application/xml,text/xml;q=0.9,application/gzip;q=0.8,*/*;q=0.5"


@dataclass(frozen=True)
class Found:
    """What one source document gave: the URLs in the window that the feed's patterns admit, or
    why it could not be read (``reason``, ``error``)."""

    source: str
    origin: str  # sitemap | wayback
    candidates: tuple[Candidate, ...] = ()
    reason: str | None = None
    error: str | None = None
    warning: str | None = None


async def enumerate_sources(
    feed: FeedSpec, window: Window, *, fetcher: Fetcher, settings: Settings, skip: Collection[str] = ()
) -> AsyncGenerator[Found, None]:
    """Every source document of ``feed`` in turn: its sitemaps, then its Wayback prefixes. Sitemap
    documents named in ``skip`` (read in full by an earlier run) are not read again."""
    async for found in _sitemaps(feed, window, fetcher, skip):
        yield found
    for prefix in feed.wayback:
        async for found in _wayback(prefix, window, fetcher, settings.wayback_url):
            yield found


async def _sitemap_roots(feed: FeedSpec, fetcher: Fetcher) -> AsyncIterator[str | Found]:
    for url in feed.sitemaps:
        if url != AUTO_SITEMAPS:
            yield url
            continue
        try:
            listed = await fetcher.listed_sitemaps(feed.url)
        except AggregatorError as exc:
            yield Found(f"robots.txt of {feed.url}", "sitemap", reason=exc.reason, error=str(exc))
            continue
        if not listed:
            yield Found(
                f"robots.txt of {feed.url}",
                "sitemap",
                reason="no_sitemaps",
                error=f"sitemaps: auto: the robots.txt of {feed.url} lists no Sitemap: lines",
            )
        for listed_url in listed:
            yield listed_url


async def _sitemaps(feed: FeedSpec, window: Window, fetcher: Fetcher, skip: Collection[str]) -> AsyncIterator[Found]:
    seen: set[str] = set()
    stack: list[tuple[str, int]] = []
    async for root in _sitemap_roots(feed, fetcher):
        if isinstance(root, Found):
            yield root
        else:
            stack.append((root, 0))
    stack.reverse()  # read in the order written
    while stack and len(seen) < MAX_DOCUMENTS:
        url, depth = stack.pop()
        if url in seen:
            continue
        seen.add(url)
        if url in skip:
            continue
        try:
            response = await fetcher.get(url, max_bytes=MAX_SITEMAP_BYTES, accept=_SITEMAP_ACCEPT, background=True)
            sitemap = await asyncio.to_thread(
                parse_sitemap, response.content, url=response.final_url, max_bytes=MAX_SITEMAP_BYTES
            )
        except AggregatorError as exc:
            yield Found(url, "sitemap", reason=exc.reason, error=str(exc))
            continue
        if sitemap.kind == "index":
            children = [child for child in sitemap.urls if window.may_hold(child.lastmod)]
            if depth + 1 > MAX_DEPTH:
                yield Found(url, "sitemap", reason="too_deep", error=f"{url}: sitemap indexes nested too deep")
                continue
            stack.extend((child.loc, depth + 1) for child in reversed(children))
            continue
        yield _from_urlset(url, sitemap, window)


def _from_urlset(url: str, sitemap: Sitemap, window: Window) -> Found:
    candidates: dict[str, Candidate] = {}
    for item in sitemap.urls:
        if not window.holds(item.published, item.lastmod) or not window.wants(item.loc):
            continue
        try:
            canonical = canonical_url(item.loc)
        except InvalidURL:
            continue
        candidates.setdefault(
            canonical,
            Candidate(item.loc, canonical, "sitemap", item.published, item.lastmod, item.title),
        )
    return Found(url, "sitemap", tuple(candidates.values()), warning=sitemap.warning)


async def _wayback(prefix: str, window: Window, fetcher: Fetcher, wayback_url: str) -> AsyncIterator[Found]:
    resume: str | None = None
    for _ in range(MAX_DOCUMENTS):
        query = cdx.query_url(wayback_url, prefix, window.since, window.until, resume)
        try:
            response = await fetcher.get(query, max_bytes=MAX_CDX_BYTES, accept="text/plain", background=True)
            text = response.content.decode("utf-8", "replace")
            page = await asyncio.to_thread(cdx.parse_page, text)
        except AggregatorError as exc:
            yield Found(query, "wayback", reason=exc.reason, error=str(exc))
            return
        candidates: dict[str, Candidate] = {}
        for timestamp, original in page.captures:
            try:
                day = datetime.strptime(timestamp[:8], "%Y%m%d").replace(tzinfo=UTC).date()
                if not window.holds_day(day) or not window.wants(original):
                    continue
                canonical = canonical_url(original)
            except (InvalidURL, ValueError):  # no date (month 13), or no URL to fetch
                continue
            candidates.setdefault(canonical, Candidate(original, canonical, "wayback", capture=timestamp))
        yield Found(query, "wayback", tuple(candidates.values()))
        if page.resume_key is None or page.resume_key == resume:
            return
        resume = page.resume_key
