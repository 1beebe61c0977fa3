"""A refresh is one readable flow:
conditional GET -> parse -> record entries, skipping known ones -> fetch each new page ->
extract -> date -> render -> store (one transaction) -> write the text file.

Per-item failures are data: a feed or page that fails is recorded with its reason and tried
again on a later run; nothing here raises for one bad feed or entry.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from aggregator.document.dating import choose_published, date_flag
from aggregator.document.render import document_relpath, render_document, source_slug
from aggregator.document.textfiles import remove_stale_temp_files, write_document
from aggregator.errors import INTERNAL, ExtractError, FeedError, FetchError, InvalidURL, failure
from aggregator.extract.article import extract_article
from aggregator.feeds.parse import parse_feed
from aggregator.fetch.fetcher import Fetcher
from aggregator.html.charset import decode_html
from aggregator.models import Article, Entry, FeedResult, FeedSpec, Response, Settings
from aggregator.pipeline.timing import health, next_poll, page_retry_at, server_min_interval
from aggregator.profiles import Profile, feed_profile
from aggregator.store.sqlite import EntryWork, FeedState, NewArticle, PollRecord, Store, compress_page, iso, utc_now
from aggregator.urls import canonical_url, is_http_url, url_hash16, without_credentials

log = logging.getLogger("aggregator")

HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
FEED_ACCEPT = "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
#: consecutive polls that must show the same permanent redirect before the feed's URL changes
ADOPT_REDIRECT_AFTER = 3
#: publication times outside [EARLIEST_DATE, first seen + FUTURE_SLACK] are ignored (first seen wins)
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
_HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "application/xml", "text/xml")


class Progress(Protocol):
    """What a progress display is told: more work was found, one piece of work was done."""

    def add(self, count: int) -> None: ...

    def advance(self, count: int = 1) -> None: ...


class _NoProgress:
    def add(self, count: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass


@dataclass(frozen=True)
class _Poll:
    """A poll's result and what the server said that matters for the next one."""

    result: FeedResult
    etag: str | None = None  # validators to send next time (kept only from a good poll)
    last_modified: str | None = None
    server_delay: int | None = None  # <ttl>, Cache-Control max-age or Expires, in seconds
    retry_after: float | None = None
    permanent_redirect: str | None = None


@dataclass(frozen=True)
class PageResult:
    status: str  # archived | duplicate | failed | abandoned
    reason: str | None = None
    error: str | None = None  # the one-line message of a failure


def fetched_document(response: Response, *, url: str, profile: str | Profile | None) -> Article:
    """Decode and extract a fetched page (pure: no I/O)."""
    content_type = response.headers.get("content-type", "")
    if content_type and not content_type.lower().startswith(_HTML_TYPES):
        raise ExtractError(f"{url}: not an HTML page ({content_type.split(';')[0]})", reason="not_html")
    html = decode_html(response.content, content_type or None)
    return extract_article(html, response.final_url, profile=profile)


def _extract_and_compress(response: Response, *, url: str, profile: str | Profile | None,
                          keep_html: bool) -> tuple[Article, bytes | None]:
    """``fetched_document``, and the page compressed for keeping: what the extraction worker does,
    so that the gzip of the page is off the event loop's core too."""
    article = fetched_document(response, url=url, profile=profile)
    return article, compress_page(response.content) if keep_html else None


def render_article(article: Article, *, source: str, timezone: str | None,
                   feed_published: datetime | None, first_seen: datetime) -> tuple[str, datetime, str]:
    """Date and render an extracted article: (document, published, where the date came from).

    A page or feed time before 1990 or more than a day after the entry was first seen is not
    believed (a hostile or broken clock would file the article under 2150 or 1970)."""
    published, via = choose_published(_believable(article.published, first_seen), article.published_via,
                                      _believable(feed_published, first_seen), first_seen, timezone)
    document = render_document(title=article.title, published=published, source=source,
                               paragraphs=article.paragraphs, url=article.url)
    return document, published, via


def _believable(moment: datetime | None, first_seen: datetime) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment if EARLIEST_DATE <= moment <= first_seen + FUTURE_SLACK else None


class Archiver:
    """Runs refreshes against one store and one fetcher (both owned by the caller)."""

    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher,
                 progress: Progress | None = None, clock: Callable[[], datetime] = utc_now,
                 executor: Executor | None = None) -> None:
        self.settings = settings
        #: where extraction runs (a process pool the caller owns and shuts down); None: in the event loop
        self.executor = executor
        self._written: list[str] = []  # articles whose text file is written, not yet recorded so
        self.clock = clock
        self.store = store
        self.fetcher = fetcher
        self.progress: Progress = progress or _NoProgress()
        self._pages = asyncio.Semaphore(max(1, settings.concurrency) * 2)
        #: the page fetch under way for each canonical URL, so that entries sharing it wait for it
        self._in_flight: dict[str, asyncio.Future[PageResult]] = {}
        #: feeds whose last poll could not be recorded: not polled again before this time
        self._held: dict[str, datetime] = {}
        self._unrecorded: dict[str, int] = {}  # consecutive polls of a feed that could not be recorded

    async def fetch_all(self, feeds: Sequence[FeedSpec]) -> list[FeedResult]:
        """Poll the given feeds once, concurrently; one result per feed, in order."""
        self.store.sync_feeds(feeds)
        self.finish_text_files()
        self.progress.add(len(feeds))
        return list(await asyncio.gather(*(self.refresh_feed(feed) for feed in feeds)))

    def finish_text_files(self) -> int:
        """Write the text files an interrupted run committed but did not write (and remove the
        temporary files a killed writer left behind)."""
        if not self.settings.write_text:
            return 0
        try:
            remove_stale_temp_files(Path(self.settings.archive_dir))
        except OSError as exc:  # a folder that cannot be listed: the writes below say more
            log.error("cannot remove leftover temporary files in %s: %s", self.settings.archive_dir, exc)
        written = 0
        for article_id, path, document in self.store.articles_without_text():
            if self._write_text(article_id, path, document):
                written += 1
        self.record_written()
        return written

    async def refresh_feed(self, feed: FeedSpec) -> FeedResult:
        """Poll one feed, archive its new pages, retry due failed ones, and schedule the next poll.

        Never raises (but for cancellation): whatever goes wrong, expected or not, ends as this
        feed's recorded failure, with the usual backoff before its next poll."""
        started, timer = datetime.now(UTC), time.perf_counter()
        state = FeedState(feed.id, feed.url, None, None)
        try:
            state = self.store.feed_state(feed.id)
            poll = await self._poll(feed, state)
            # an unchanged feed with nothing left to fetch (most polls) has no page work to look up
            pages = await self._archive_pages(feed) if state.unfinished or poll.result.new_entries else []
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # fault isolation: one feed's failure, whatever it is
            poll, pages = _Poll(self._feed_failed(feed, exc)), []
        counts = Counter(page.status for page in pages)
        result = replace(
            poll.result, archived=counts["archived"], duplicates=poll.result.duplicates + counts["duplicate"],
            failed=counts["failed"] + counts["abandoned"], abandoned=counts["abandoned"],
            page_errors=tuple(page.reason for page in pages if page.reason),
        )
        self.record_written()
        duration_ms = round((time.perf_counter() - timer) * 1000)
        self._record_poll(feed, state, poll, result, started, duration_ms)
        if log.isEnabledFor(logging.INFO):  # the arguments alone cost more than a disabled call
            self._log_poll(feed, result, duration_ms)
        self.progress.advance()
        return result

    def _feed_failed(self, feed: FeedSpec, exc: Exception) -> FeedResult:
        """The result of a poll that raised: its reason (``internal`` when nobody anticipated it)."""
        reason, message = failure(exc)
        if reason == INTERNAL:
            log.debug("feed %s: unexpected failure", feed.id, exc_info=exc)
        return FeedResult(feed.id, "error", error_reason=reason, error=message)

    def _record_poll(self, feed: FeedSpec, state: FeedState, poll: _Poll, result: FeedResult,
                     started: datetime, duration_ms: int) -> None:
        """Record the poll and the feed's next poll time; when even that fails (the database), the
        feed is held back in memory for as long as its backoff says, so it is never hammered."""
        try:
            self.store.record_poll(result, self._schedule(feed, state, poll), started_at=started,
                                   duration_ms=duration_ms)
        except Exception as exc:
            self._unrecorded[feed.id] = self._unrecorded.get(feed.id, 0) + 1
            hold = next_poll(self.clock(), interval=feed.interval, error_count=self._unrecorded[feed.id],
                             max_backoff=self.settings.max_backoff)
            self._held[feed.id] = hold
            log.error("feed %s: the poll could not be recorded (%s); not polled again before %s",
                      feed.id, failure(exc)[1], iso(hold), exc_info=log.isEnabledFor(logging.DEBUG))
            return
        if self._held:
            self._held.pop(feed.id, None)
            self._unrecorded.pop(feed.id, None)

    def held_until(self, feed_id: str) -> datetime | None:
        """When a feed whose last poll could not be recorded may be polled again (None: not held)."""
        return self._held.get(feed_id)

    @staticmethod
    def _log_poll(feed: FeedSpec, result: FeedResult, duration_ms: int) -> None:
        log.info(
            "poll feed=%s outcome=%s status=%s entries=%d new=%d duplicates=%d failed=%d duration_ms=%d%s",
            feed.id, result.outcome, result.http_status, result.entries, result.archived, result.duplicates,
            result.failed, duration_ms, f" error={result.error}" if result.error else "",
            extra={"event": "poll", "feed": feed.id, "outcome": result.outcome, "new": result.archived,
                   "failed": result.failed, "http_status": result.http_status, "error": result.error,
                   "duration_ms": duration_ms},
        )

    def _schedule(self, feed: FeedSpec, state: FeedState, poll: _Poll) -> PollRecord:
        """The feed's next poll and health after this poll, and what to do about a permanent redirect."""
        result, now = poll.result, self.clock()
        if result.http_status == 410:
            return PollRecord(status="gone", next_poll_at=None)
        errors = 0 if result.ok else state.error_count + 1
        next_at = next_poll(now, interval=feed.interval, error_count=errors, server_delay=poll.server_delay,
                            retry_after=poll.retry_after, max_backoff=self.settings.max_backoff)
        record = PollRecord(status=health("ok", errors), next_poll_at=next_at, etag=poll.etag,
                            last_modified=poll.last_modified, server_min_interval=poll.server_delay)
        target = poll.permanent_redirect
        if not result.ok or target is None:
            return record
        seen = state.redirect_count + 1 if state.redirect_url == target else 1
        if seen >= ADOPT_REDIRECT_AFTER:
            log.warning("feed %s: permanently moved to %s (seen on %d polls): adopted", feed.id, target, seen)
            return replace(record, adopt_url=target)
        return replace(record, redirect_url=target, redirect_count=seen)

    async def _poll(self, feed: FeedSpec, state: FeedState) -> _Poll:
        """Conditional GET and parse; new entries are recorded as pending in the store."""
        try:
            response = await self.fetcher.get(
                state.url, max_bytes=self.settings.max_feed_bytes, etag=state.etag,
                last_modified=state.last_modified, accept=FEED_ACCEPT,
            )
        except FetchError as exc:
            failed = FeedResult(feed.id, "error", http_status=getattr(exc, "status", None),
                                error_reason=exc.reason, error=str(exc))
            return _Poll(failed, retry_after=getattr(exc, "retry_after", None))
        etag = response.headers.get("etag") or state.etag
        last_modified = response.headers.get("last-modified") or state.last_modified
        known = {"etag": etag, "last_modified": last_modified, "permanent_redirect": response.permanent_redirect}
        if response.not_modified:
            delay = server_min_interval(response.headers, None, self.clock())
            return _Poll(FeedResult(feed.id, "not_modified", http_status=304), server_delay=delay, **known)
        try:
            parsed = parse_feed(response.content, url=response.final_url, headers=response.headers)
        except FeedError as exc:
            return _Poll(FeedResult(feed.id, "error", http_status=response.status,
                                    error_reason=exc.reason, error=str(exc)))
        new, linked = self.store.add_entries(feed.id, _entry_rows(parsed.entries))
        if parsed.warning:
            log.warning("feed %s: %s", feed.id, parsed.warning)
        result = FeedResult(feed.id, "ok", entries=len(parsed.entries), new_entries=new,
                            duplicates=linked, http_status=response.status, warning=parsed.warning)
        delay = server_min_interval(response.headers, parsed.ttl_minutes, self.clock())
        return _Poll(result, server_delay=delay, **known)

    async def _archive_pages(self, feed: FeedSpec) -> list[PageResult]:
        work = self.store.entries_to_fetch(feed.id, self.settings.max_attempts, self.clock())
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
        """Archive one entry's page; never raises (but for cancellation). An entry whose URL
        another feed is fetching at this moment waits for that fetch instead of repeating it."""
        try:
            other = self._in_flight.get(item.url)
            if other is not None:
                return await self._after_same_url(feed, item, await other)
            done: asyncio.Future[PageResult] = asyncio.get_running_loop().create_future()
            self._in_flight[item.url] = done
            try:
                async with self._pages:
                    result = await self._attempt_page(feed, item)
                done.set_result(result)
                return result
            finally:
                del self._in_flight[item.url]
                if not done.done():
                    done.cancel()
        finally:
            self.progress.advance()

    async def _attempt_page(self, feed: FeedSpec, item: EntryWork) -> PageResult:
        try:
            return await self._archive_page(feed, item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # fault isolation: one page's failure, whatever it is
            return self._page_failed(feed, item, *failure(exc), exc)

    async def _after_same_url(self, feed: FeedSpec, item: EntryWork, first: PageResult) -> PageResult:
        """An entry whose URL another entry just fetched: linked to that article, or failed alike."""
        if first.status in ("archived", "duplicate"):
            try:
                known = self.store.article_for_url(item.url)
                if known:
                    self.store.link_entry(feed.id, item.key, known)
                    return PageResult("duplicate")
            except Exception as exc:
                return self._page_failed(feed, item, *failure(exc), exc)
            return await self._attempt_page(feed, item)  # not reachable by its URL after all: its own fetch
        return self._page_failed(feed, item, first.reason or INTERNAL, first.error or "the page failed", None)

    def _page_failed(self, feed: FeedSpec, item: EntryWork, reason: str, message: str,
                     exc: BaseException | None) -> PageResult:
        """Record a failed attempt at a page, with its backoff; when even that fails (the
        database), the page stays as it was and is tried again after the feed's own backoff."""
        if reason == INTERNAL and exc is not None:
            log.debug("page feed=%s url=%s: unexpected failure", feed.id, item.link, exc_info=exc)
        retry_at = page_retry_at(self.clock(), item.attempts + 1, self.settings.page_retry_delay,
                                 self.settings.max_backoff)
        try:
            status = self.store.entry_failed(feed.id, item.key, reason=reason, error=message,
                                             max_attempts=self.settings.max_attempts, retry_at=retry_at)
        except Exception as store_exc:
            log.error("page feed=%s url=%s failed (%s) and the failure could not be recorded: %s",
                      feed.id, item.link, message, failure(store_exc)[1])
            return PageResult("failed", reason, message)
        log.warning("page feed=%s url=%s %s: %s", feed.id, item.link, status, message)
        return PageResult(status, reason, message)

    async def _archive_page(self, feed: FeedSpec, item: EntryWork) -> PageResult:
        known = self.store.article_for_url(item.url)
        if known:
            self.store.link_entry(feed.id, item.key, known)
            return PageResult("duplicate")
        response = await self.fetcher.get(item.link, max_bytes=self.settings.max_page_bytes, accept=HTML_ACCEPT)
        article, html_gzip = await self._extract(response, url=item.link, profile=feed_profile(feed))
        first_seen = datetime.fromisoformat(item.first_seen)
        feed_published = datetime.fromisoformat(item.feed_published) if item.feed_published else None
        document, published, via = render_article(article, source=feed.source, timezone=feed.timezone,
                                                  feed_published=feed_published, first_seen=first_seen)
        record = NewArticle(
            url=article.url, article_id=url_hash16(article.url), title=article.title,
            published=published.isoformat(), published_via=via, day=published.date().isoformat(),
            source=feed.source, feed_id=feed.id, body=article.body, document=document,
            extractor=article.extractor, fetched_at=iso(utc_now()) or "",
            folder=f"{source_slug(feed.source)}/{published.date().isoformat()}",
            # a page reached without a redirect: its canonical URL is the entry's, computed already
            aliases=(item.url, item.url if response.final_url == item.link else canonical_url(response.final_url)),
            html=response.content if self.settings.keep_html else None, html_gzip=html_gzip,
            page_url=response.final_url,
            content_type=response.headers.get("content-type"),
            date_flag=date_flag(article.published, feed_published),
        )
        written, self._written = self._written, []
        try:
            saved = self.store.save_article(
                record, (feed.id, item.key),
                lambda seq: str(document_relpath(feed.source, published.date(), seq, record.article_id)),
                written=written,
            )
        except BaseException:
            self._written[:0] = written
            raise
        if not saved.created:
            return PageResult("duplicate")
        if self.settings.write_text and saved.path and saved.document is not None:
            # in a thread: the file's fsync does not hold up the other pages
            done = await asyncio.to_thread(self._write_file, saved.article_id, saved.path, saved.document)
            if done:
                self._written.append(saved.article_id)
        return PageResult("archived")

    async def _extract(self, response: Response, *, url: str,
                       profile: str | Profile | None) -> tuple[Article, bytes | None]:
        """``fetched_document``, in the executor when there is one (its errors come back pickled),
        which then also compresses the page to keep; without one the store compresses it."""
        if self.executor is not None:
            call = functools.partial(_extract_and_compress, response, url=url, profile=profile,
                                     keep_html=self.settings.keep_html)
            try:
                return await asyncio.get_running_loop().run_in_executor(self.executor, call)
            except BrokenExecutor as exc:  # a worker died: extract here from now on
                log.error("extraction workers failed (%s); extracting in the main process", exc)
                self.executor = None
        return fetched_document(response, url=url, profile=profile), None

    def _write_text(self, article_id: str, path: str, document: str) -> bool:
        """Write an article's text file (its row is committed already). That it is written is
        recorded with the next article's transaction or by ``record_written``: a crash before
        that only makes the next start write the same file again."""
        if not self._write_file(article_id, path, document):
            return False
        self._written.append(article_id)
        return True

    def _write_file(self, article_id: str, path: str, document: str) -> bool:
        """The text file alone, atomically (no database access: it may run in a thread)."""
        try:
            write_document(Path(self.settings.archive_dir), path, document)
        except Exception as exc:  # the row is committed: the next run writes the file
            log.error("article %s: text file not written, will retry next run: %s", article_id, failure(exc)[1])
            return False
        return True

    def record_written(self) -> None:
        """Record in the store the text files written and not recorded yet (one transaction)."""
        written, self._written = self._written, []
        try:
            self.store.mark_text_written(*written)
        except Exception as exc:
            self._written[:0] = written
            log.error("text files written, not yet recorded (will be rewritten next run if this lasts): %s",
                      failure(exc)[1])


def _entry_rows(entries: Iterable[Entry]) -> Iterable[dict[str, object]]:
    """Entries as store rows; one without a usable link is kept, abandoned, with its reason."""
    for entry in entries:
        link = without_credentials(entry.link) if entry.link and is_http_url(entry.link) else None
        row: dict[str, object] = {
            "key": entry.key, "link": None, "url": None, "title": entry.title,
            "feed_published": entry.published.isoformat() if entry.published else None,
        }
        if link is None:
            row.update(status="abandoned", last_error_reason="no_link", last_error="feed entry has no http(s) link")
            yield row
            continue
        row["link"] = link
        try:
            row["url"] = canonical_url(link)
        except InvalidURL as exc:
            row.update(status="abandoned", last_error_reason=exc.reason, last_error=str(exc))
        yield row
