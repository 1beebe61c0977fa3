"""A refresh is one readable flow:
conditional GET -> parse -> record entries, skipping known ones -> fetch each new page ->
extract -> date -> render -> store (one transaction) -> write the text file -> record the poll
and the feed's next poll time.

Per-item failures are data: a feed or page that fails, in a way anyone foresaw or not, is
recorded with its reason and tried again after its backoff; nothing here raises for one bad feed
or entry. Every store call runs off the event loop (``database.Database``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aggregator.document.render import source_slug
from aggregator.document.textfiles import check_writable
from aggregator.errors import INTERNAL, failure
from aggregator.fetch import Fetcher
from aggregator.models import FeedResult, FeedSpec, Settings
from aggregator.pipeline.captures import Captures, warc_folder
from aggregator.pipeline.database import Database
from aggregator.pipeline.extraction import Extractor
from aggregator.pipeline.pages import Pages
from aggregator.pipeline.polling import Poll, poll_feed
from aggregator.pipeline.progress import NoProgress, Progress
from aggregator.pipeline.texts import TextFiles
from aggregator.pipeline.timing import health, next_poll
from aggregator.store import FeedState, PollRecord, Store, iso, utc_now

log = logging.getLogger("aggregator")

#: consecutive polls that must show the same permanent redirect before the feed's URL changes
ADOPT_REDIRECT_AFTER = 3


class Archiver:
    """Runs refreshes against one store and one fetcher (both owned by the caller; ``close()``
    stops the archiver's database threads). ``executor``: where extraction runs (a process pool
    the caller owns and shuts down); None: in the event loop's process."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        fetcher: Fetcher,
        progress: Progress | None = None,
        clock: Callable[[], datetime] = utc_now,
        executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.fetcher = fetcher
        self.progress: Progress = progress or NoProgress()
        self.db = Database(store)
        self.texts = TextFiles(self.db, Path(settings.archive_dir), enabled=settings.write_text)
        self.captures = Captures(settings, self.db)
        self.pages = Pages(
            settings, self.db, fetcher, Extractor(executor), self.texts, self.captures, clock, self.progress
        )
        self._started = False
        self._synced: list[FeedSpec] | None = None  # the feeds last recorded
        #: feeds whose last poll could not be recorded: not polled again before this time
        self._held: dict[str, datetime] = {}
        self._unrecorded: dict[str, int] = {}  # consecutive polls of a feed that could not be recorded

    def close(self) -> None:
        """Close the open WARC file and stop the database threads (after the work asked for)."""
        try:
            self.captures.close()
        finally:
            self.db.close()

    async def start(self, feeds: Sequence[FeedSpec]) -> None:
        """Record the feeds, and finish what a killed run left: text files not written, torn WARC
        records, pages kept in the database before WARC. Once per archiver, before any poll, and
        only once the archive's folders are seen to take files (else ArchiveFolderError: nothing
        is done)."""
        if not self._started:
            await asyncio.to_thread(self._check_folders, feeds)
        if list(feeds) != self._synced:  # recorded already (a fetch beside workers starts, then polls)
            await self.db.write(self.db.store.sync_feeds, feeds)
            self._synced = list(feeds)
        if self._started:
            return
        self._started = True
        await self.texts.finish()
        await self.captures.start()

    def _check_folders(self, feeds: Sequence[FeedSpec]) -> None:
        """Every folder this archiver will write in takes a file (a probe file, removed at once):
        the archive folder and the feeds' source folders for text files, the WARC folder."""
        settings, folders = self.settings, []
        if settings.write_text:
            archive = Path(settings.archive_dir)
            folders += [archive, *(archive / source_slug(feed.source) for feed in feeds)]
        if settings.keep_html or settings.capture_feeds:
            folders.append(warc_folder(settings))
        for folder in dict.fromkeys(folders):
            check_writable(folder)

    async def fetch_all(self, feeds: Sequence[FeedSpec]) -> list[FeedResult]:
        """Poll the given feeds once, concurrently; one result per feed, in order."""
        await self.start(feeds)
        self.progress.add(len(feeds))
        return list(await asyncio.gather(*(self.refresh_feed(feed) for feed in feeds)))

    async def refresh_feed(self, feed: FeedSpec) -> FeedResult:
        """Poll one feed, archive its new pages, retry due failed ones, and schedule the next poll.

        Never raises (but for cancellation): whatever goes wrong ends as this feed's recorded
        failure, with the usual backoff before its next poll."""
        started, timer = datetime.now(UTC), time.perf_counter()
        state = FeedState(feed.id, feed.url, None, None)
        try:
            state = await self.db.read(self.db.store.feed_state, feed.id)
            poll = await poll_feed(
                feed,
                state,
                settings=self.settings,
                fetcher=self.fetcher,
                db=self.db,
                captures=self.captures,
                clock=self.clock,
            )
            # page work exists only if entries were left pending or failed before this poll, or it
            # added some not linked to an article already archived (those are recorded archived): an
            # unchanged feed, or one whose new items another feed brought, has none to look up
            fetchable = poll.result.new_entries > poll.result.duplicates
            pages = await self.pages.archive(feed) if state.unfinished or fetchable else []
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # fault isolation: one feed's failure, whatever it is
            poll, pages = Poll(self._feed_failed(feed, exc)), []
        counts = Counter(page.status for page in pages)
        result = replace(
            poll.result,
            archived=counts["archived"],
            duplicates=poll.result.duplicates + counts["duplicate"],
            failed=counts["failed"] + counts["abandoned"],
            abandoned=counts["abandoned"],
            page_errors=tuple(page.reason for page in pages if page.reason),
            texts_failed=sum(page.text_failed for page in pages),
        )
        await self.texts.record()
        duration_ms = round((time.perf_counter() - timer) * 1000)
        await self._record_poll(feed, state, poll, result, started, duration_ms)
        level = logging.INFO if result.ok else logging.WARNING  # a failed poll shows without -v
        if log.isEnabledFor(level):  # the arguments alone cost more than a disabled call
            _log_poll(feed, result, duration_ms, level)
        self.progress.advance()
        return result

    @staticmethod
    def _feed_failed(feed: FeedSpec, exc: Exception) -> FeedResult:
        """The result of a poll that raised: its reason (``internal`` when nobody anticipated it)."""
        reason, message = failure(exc)
        if reason == INTERNAL:
            log.debug("feed %s: unexpected failure", feed.id, exc_info=exc)
        return FeedResult(feed.id, "error", error_reason=reason, error=message)

    async def _record_poll(
        self, feed: FeedSpec, state: FeedState, poll: Poll, result: FeedResult, started: datetime, duration_ms: int
    ) -> None:
        """Record the poll and the feed's next poll time; when even that fails (the database), the
        feed is held back in memory for as long as its backoff says, so it is never hammered."""
        try:
            record = self._schedule(feed, state, poll)
            await self.db.write(self.db.store.record_poll, result, record, started_at=started, duration_ms=duration_ms)
        except Exception as exc:
            self._unrecorded[feed.id] = self._unrecorded.get(feed.id, 0) + 1
            hold = next_poll(
                self.clock(),
                interval=feed.interval,
                error_count=self._unrecorded[feed.id],
                max_backoff=self.settings.max_backoff,
            )
            self._held[feed.id] = hold
            log.error(
                "feed %s: the poll could not be recorded (%s); not polled again before %s",
                feed.id,
                failure(exc)[1],
                iso(hold),
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return
        if self._held:
            self._held.pop(feed.id, None)
            self._unrecorded.pop(feed.id, None)

    def held_until(self, feed_id: str) -> datetime | None:
        """When a feed whose last poll could not be recorded may be polled again (None: not held)."""
        return self._held.get(feed_id)

    def _schedule(self, feed: FeedSpec, state: FeedState, poll: Poll) -> PollRecord:
        """The feed's next poll and health after this poll, and what to do about a permanent redirect."""
        result, now = poll.result, self.clock()
        if result.http_status == 410:
            return PollRecord(status="gone", next_poll_at=None)
        errors = 0 if result.ok else state.error_count + 1
        next_at = next_poll(
            now,
            interval=feed.interval,
            error_count=errors,
            server_delay=poll.server_delay,
            retry_after=poll.retry_after,
            max_backoff=self.settings.max_backoff,
        )
        record = PollRecord(
            status=health(errors),
            next_poll_at=next_at,
            etag=poll.etag,
            last_modified=poll.last_modified,
            server_min_interval=poll.server_delay,
            body_digest=poll.body_digest,
            body_ttl=poll.body_ttl,
        )
        target = poll.permanent_redirect
        if not result.ok or target is None:
            return record
        seen = state.redirect_count + 1 if state.redirect_url == target else 1
        if seen >= ADOPT_REDIRECT_AFTER:
            log.warning("feed %s: permanently moved to %s (seen on %d polls): adopted", feed.id, target, seen)
            return replace(record, adopt_url=target)
        return replace(record, redirect_url=target, redirect_count=seen)


def _log_poll(feed: FeedSpec, result: FeedResult, duration_ms: int, level: int) -> None:
    log.log(
        level,
        "poll feed=%s outcome=%s status=%s entries=%d new=%d duplicates=%d failed=%d duration_ms=%d%s",
        feed.id,
        result.outcome,
        result.http_status,
        result.entries,
        result.archived,
        result.duplicates,
        result.failed,
        duration_ms,
        (f" error={result.error}" if result.error else "")
        + (f" texts_failed={result.texts_failed}" if result.texts_failed else ""),
        extra={
            "event": "poll",
            "feed": feed.id,
            "outcome": result.outcome,
            "new": result.archived,
            "failed": result.failed,
            "http_status": result.http_status,
            "error": result.error,
            "texts_failed": result.texts_failed,
            "duration_ms": duration_ms,
        },
    )
