"""Archiving a feed's pages: each entry's page fetched, extracted, dated, rendered and stored.

One page, one fetch: entries of a feed that share a URL wait for the first one's result, and an
entry whose URL another feed is fetching at this moment waits for that fetch. Whatever goes
wrong with one page ends as that entry's recorded failure, with its backoff and, when out of
attempts, abandonment; nothing here raises for one page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aggregator.discovery import fetch_capture
from aggregator.document.article import render_article
from aggregator.document.dating import date_flag
from aggregator.errors import INTERNAL, HTTPStatusError, failure
from aggregator.fetch import PAGE_ACCEPT, Fetcher
from aggregator.models import FeedSpec, Response, Settings
from aggregator.pipeline.captures import Captures
from aggregator.pipeline.database import Database
from aggregator.pipeline.extraction import Extractor
from aggregator.pipeline.progress import Progress
from aggregator.pipeline.texts import TextFiles
from aggregator.pipeline.timing import page_retry_at
from aggregator.profiles import fallback_from, feed_profile
from aggregator.store import EntryWork, NewArticle, iso
from aggregator.urls import canonical_url, url_hash16

log = logging.getLogger("aggregator")


@dataclass(frozen=True)
class PageResult:
    status: str  # archived | duplicate | failed | abandoned
    reason: str | None = None
    error: str | None = None  # the one-line message of a failure
    text_failed: bool = False  # archived, but its text file could not be written (a later run writes it)


class Pages:
    """The page work of every feed polled by one archiver."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        fetcher: Fetcher,
        extract: Extractor,
        texts: TextFiles,
        captures: Captures,
        clock: Callable[[], datetime],
        progress: Progress,
    ) -> None:
        self.settings = settings
        self.db = db
        self.store = db.store
        self.fetcher = fetcher
        self.extract = extract
        self.texts = texts
        self.captures = captures
        self.clock = clock
        self.progress = progress
        self._slots = asyncio.Semaphore(max(1, settings.concurrency) * 2)  # pages being handled at once
        #: the page fetch under way for each canonical URL, so that entries sharing it wait for it
        self._in_flight: dict[str, asyncio.Future[PageResult]] = {}
        #: pages extracted by the fallback since the last ``take_fallbacks``, by (feed, site profile)
        self._fallbacks: Counter[tuple[str, str]] = Counter()

    def take_fallbacks(self) -> Counter[tuple[str, str]]:
        """The pages extracted by the fallback profile since the last call, by (feed id, the site
        profile that found no body), for the daemon's profile-drift metric; the tally starts again."""
        taken, self._fallbacks = self._fallbacks, Counter()
        return taken

    async def archive(self, feed: FeedSpec) -> list[PageResult]:
        """The feed's pending entries, and failed ones due for a retry; one result each."""
        work = await self.db.read(self.store.entries_to_fetch, feed.id, self.settings.max_attempts, self.clock())
        return await self.archive_work(feed, work)

    async def archive_work(self, feed: FeedSpec, work: list[EntryWork]) -> list[PageResult]:
        """These entries of ``feed``; one result each, in order."""
        self.progress.add(len(work))
        by_url: dict[str, list[EntryWork]] = {}
        for item in work:
            by_url.setdefault(item.url, []).append(item)
        groups = await asyncio.gather(*(self._archive_url(feed, items) for items in by_url.values()))
        return [result for group in groups for result in group]

    async def _archive_url(self, feed: FeedSpec, items: list[EntryWork]) -> list[PageResult]:
        """The entries of one feed that share a URL: the page is fetched for the first one only."""
        first, *rest = items
        results = [await self._archive_entry(feed, first)]
        for item in rest:
            results.append(await self._after_same_url(feed, item, results[0]))
            self.progress.advance()
        return results

    async def _archive_entry(self, feed: FeedSpec, item: EntryWork) -> PageResult:
        """One entry's page; never raises (but for cancellation)."""
        try:
            other = self._in_flight.get(item.url)
            if other is not None:
                return await self._after_same_url(feed, item, await other)
            done: asyncio.Future[PageResult] = asyncio.get_running_loop().create_future()
            self._in_flight[item.url] = done
            try:
                # Backfill pages take no slot here: their batch bounds them, and a page waiting for
                # its site's turn must not keep a live page (or another site's) waiting.
                async with self._slots if item.origin is None else contextlib.nullcontext():
                    result = await self._attempt(feed, item)
                done.set_result(result)
                return result
            finally:
                del self._in_flight[item.url]
                if not done.done():
                    done.cancel()
        finally:
            self.progress.advance()

    async def _attempt(self, feed: FeedSpec, item: EntryWork) -> PageResult:
        try:
            return await self._archive_page(feed, item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # fault isolation: one page's failure, whatever it is
            return await self._failed(feed, item, *failure(exc), exc)

    async def _after_same_url(self, feed: FeedSpec, item: EntryWork, first: PageResult) -> PageResult:
        """An entry whose URL another entry just fetched: linked to that article, or failed alike."""
        if first.status not in ("archived", "duplicate"):
            return await self._failed(feed, item, first.reason or INTERNAL, first.error or "the page failed", None)
        try:
            known = await self.db.read(self.store.article_for_url, item.url)
            if known:
                await self.db.write(self.store.link_entry, feed.id, item.key, known)
                return PageResult("duplicate")
        except Exception as exc:
            return await self._failed(feed, item, *failure(exc), exc)
        return await self._attempt(feed, item)  # not reachable by its URL after all: its own fetch

    async def _failed(
        self, feed: FeedSpec, item: EntryWork, reason: str, message: str, exc: BaseException | None
    ) -> PageResult:
        """Record a failed attempt with its backoff; when even that fails (the database), the page
        stays as it was and is tried again after the feed's own backoff."""
        if reason == INTERNAL and exc is not None:
            log.debug("page feed=%s url=%s: unexpected failure", feed.id, item.link, exc_info=exc)
        retry_at = page_retry_at(
            self.clock(), item.attempts + 1, self.settings.page_retry_delay, self.settings.max_backoff
        )
        try:
            status = await self.db.write(
                self.store.entry_failed,
                feed.id,
                item.key,
                reason=reason,
                error=message,
                max_attempts=self.settings.max_attempts,
                retry_at=retry_at,
            )
        except Exception as store_exc:
            log.error(
                "page feed=%s url=%s failed (%s) and the failure could not be recorded: %s",
                feed.id,
                item.link,
                message,
                failure(store_exc)[1],
            )
            return PageResult("failed", reason, message)
        log.warning("page feed=%s url=%s %s: %s", feed.id, item.link, status, message)
        return PageResult(status, reason, message)

    async def _archive_page(self, feed: FeedSpec, item: EntryWork) -> PageResult:
        known = await self.db.read(self.store.article_for_url, item.url)
        if known:
            await self.db.write(self.store.link_entry, feed.id, item.key, known)
            return PageResult("duplicate")
        response, fetched_via, capture_time = await self._fetch(feed, item)
        captures = await self.captures.keep_page(response)  # before the row that names them
        try:
            article = await self.extract(response, feed_profile(feed))
        except Exception:  # no article (a gallery, a challenge): what the server said is on record all the same
            await self.db.write(self.store.record_captures, "page", captures, feed_id=feed.id)
            raise
        drifted = fallback_from(article.extractor)
        if drifted is not None:  # archived all the same; the profile needs fixing, then reextract
            self._fallbacks[(feed.id, drifted)] += 1
            log.warning(
                "page feed=%s url=%s: profile %s found no body (profile_drift): extracted as %s",
                feed.id,
                item.link,
                drifted,
                article.extractor,
                extra={"event": "profile_drift", "feed": feed.id, "url": item.link, "profile": drifted},
            )
        first_seen = datetime.fromisoformat(item.first_seen)
        feed_published = datetime.fromisoformat(item.feed_published) if item.feed_published else None
        document, published, via = render_article(
            article, source=feed.source, timezone=feed.timezone, feed_published=feed_published, first_seen=first_seen
        )
        record = NewArticle(
            url=article.url,
            article_id=url_hash16(article.url),
            title=article.title,
            published=published.isoformat(),
            published_via=via,
            day=published.date().isoformat(),
            source=feed.source,
            feed_id=feed.id,
            body=article.body,
            document=document,
            extractor=article.extractor,
            fetched_at=iso(self.clock()) or "",
            # a page reached without a redirect: its canonical URL is the entry's, computed already
            aliases=(item.url, item.url if response.final_url == item.link else canonical_url(response.final_url)),
            captures=captures,
            date_flag=date_flag(article.published, feed_published),
            teaser=article.teaser,
            fetched_via=fetched_via,
            capture_time=capture_time,
            etag=response.headers.get("etag") if fetched_via == "live" else None,
            last_modified=response.headers.get("last-modified") if fetched_via == "live" else None,
        )
        saved = await self.db.write(self.store.save_article, record, (feed.id, item.key))
        if not saved.created:
            return PageResult("duplicate")
        if saved.path and saved.document is not None and self.texts.enabled:
            written = await self.texts.write(saved.article_id, saved.path, saved.document)
            return PageResult("archived", text_failed=not written)
        return PageResult("archived")

    async def _fetch(self, feed: FeedSpec, item: EntryWork) -> tuple[Response, str, str | None]:
        """The page from the live site; one it no longer serves (404, 410) from its Wayback capture
        when the entry was found there or the feed has Wayback sources. Returns the response (as
        if the live site had answered), where it came from (live, wayback) and, for a capture,
        when it was made."""
        background = item.origin is not None
        try:
            response = await self.fetcher.get(
                item.link, max_bytes=self.settings.max_page_bytes, accept=PAGE_ACCEPT, background=background
            )
            return response, "live", None
        except HTTPStatusError as exc:
            await self.captures.keep_failed_page(feed.id, exc)
            if exc.status not in (404, 410) or not (item.origin == "wayback" or feed.wayback):
                raise
            log.info("page feed=%s url=%s: HTTP %d, reading its Wayback capture", feed.id, item.link, exc.status)
        response, when = await fetch_capture(
            self.fetcher, self.settings.wayback_url, item.link, item.capture, max_bytes=self.settings.max_page_bytes
        )
        return response, "wayback", when  # response.url: the capture's own URL, kept with the page
