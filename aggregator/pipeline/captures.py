"""The WARC captures of everything fetched: written in a thread of their own, recorded in the store.

Appends to a WARC file and its flushes are blocking file work: they run in one thread (one
writer, so records never interleave), in the order asked for, and the loop awaits them. A
record is written and flushed before the row naming it is committed: a crash in between leaves
a record no row names (harmless, as in any web archive), never a row naming nothing.

A page's capture is part of archiving it: when it cannot be written, the page fails with reason
``capture`` and is tried again later. A feed's capture is a record of the poll, not its purpose:
when it cannot be written the poll goes on and the error is logged. An unchanged feed (a 304, or
the same payload as its last capture) is kept as a revisit record, a few hundred bytes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from aggregator.capture import FEED_GZIP_LEVEL, GZIP_LEVEL, WarcWriter, payload_digest, read_record, recover
from aggregator.errors import CaptureError, HTTPStatusError, failure
from aggregator.models import CaptureRef, Exchange, Response, Settings
from aggregator.pipeline.database import Database, Lane
from aggregator.store import Store

log = logging.getLogger("aggregator")

#: pages moved from the database into WARC files per transaction
MOVE_BATCH = 200
#: the settings a warcinfo record names: what shaped the captures
_INFO_SETTINGS = ("user_agent", "respect_robots", "concurrency", "per_host_concurrency", "max_page_bytes")


def warc_folder(settings: Settings) -> Path:
    return Path(settings.archive_dir) / "warc"


def warc_info(settings: Settings) -> dict[str, str]:
    try:
        software = f"aggregator/{version('aggregator')}"
    except PackageNotFoundError:
        software = "aggregator"
    info = {"operator-software": software, "robots": "obey" if settings.respect_robots else "ignore"}
    info.update({f"aggregator-{name.replace('_', '-')}": str(getattr(settings, name)) for name in _INFO_SETTINGS})
    return info


class Captures:
    """The WARC files of one archive folder, as one archiver writes them."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.folder = warc_folder(settings)
        self.pages = settings.keep_html
        self.feeds = settings.capture_feeds
        self._writer = WarcWriter(self.folder, max_bytes=settings.warc_max_bytes, info=warc_info(settings))
        self._lane = Lane("warc")
        self._last_feed: dict[str, CaptureRef | None] = {}  # each feed's last capture, once looked up

    async def start(self) -> None:
        """Cut the torn records a killed writer left, and move the pages kept in the database
        before WARC into WARC files; run once, before anything is fetched."""
        await self.recover()
        try:
            if await self.db.read(self.db.store.kept_pages_left):
                await self._lane.submit(functools.partial(move_kept_pages, self.db.store, self._writer, self.folder))
        except Exception as exc:  # what was not moved stays in the database, moved on the next start
            log.error("the pages kept in the database could not all be moved into WARC files: %s", failure(exc)[1])

    async def recover(self) -> None:
        """Close the WARC files whose writer died (another worker's, or this archive's last run)."""
        if self.folder.is_dir():
            for line in await self._lane.submit(functools.partial(recover, self.folder)):
                log.warning("WARC: %s", line)

    async def keep_page(self, response: Response) -> tuple[CaptureRef, ...]:
        """The records of a page's exchanges (redirects first); () when pages are not kept."""
        if not self.pages or not response.exchanges:
            return ()
        refs: tuple[CaptureRef, ...] = await self._lane.submit(
            functools.partial(_write_all, self._writer, response.exchanges)
        )
        return refs

    async def keep_failed_page(self, feed_id: str, error: HTTPStatusError) -> tuple[CaptureRef, ...]:
        """The records of a page's error answer (a 404's "not found" page), recorded with no article;
        the failure is the page's, whatever becomes of its capture (logged when it cannot be kept)."""
        exchanges = tuple(e for e in error.exchanges if isinstance(e, Exchange))
        if not self.pages or not exchanges:
            return ()
        try:
            refs: tuple[CaptureRef, ...] = await self._lane.submit(
                functools.partial(_write_all, self._writer, exchanges)
            )
            await self.db.write(self.db.store.record_captures, "page", refs, feed_id=feed_id)
        except Exception as exc:
            log.error("page %s: the capture of its HTTP %d answer failed: %s", error.url, error.status, failure(exc)[1])
            return ()
        return refs

    async def write_again(self, exchanges: Sequence[object], last: CaptureRef | None) -> tuple[CaptureRef, ...]:
        """The records of an article's revisit (not recorded: the revisit's own transaction does
        it); an unchanged answer as a revisit of ``last``. () when pages are not kept."""
        kept = tuple(e for e in exchanges if isinstance(e, Exchange))
        if not self.pages or not kept:
            return ()
        refs: tuple[CaptureRef, ...] = await self._lane.submit(
            functools.partial(_write_answer, self._writer, kept, last)
        )
        return refs

    async def keep_feed(self, feed_id: str, response: Response) -> None:
        """The records of one poll of a feed, recorded; an unchanged feed's as a revisit."""
        if not self.feeds or not response.exchanges:
            return
        try:
            if feed_id not in self._last_feed:
                self._last_feed[feed_id] = await self.db.read(self.db.store.last_feed_capture, feed_id)
            last = self._last_feed[feed_id]
            write = functools.partial(_write_answer, self._writer, response.exchanges, last, level=FEED_GZIP_LEVEL)
            refs = await self._lane.submit(write)
            await self.db.write(self.db.store.record_captures, "feed", refs, feed_id=feed_id)
            full = [ref for ref in refs if ref.record_type == "response" and ref.status == 200]
            if full or last is None:
                self._last_feed[feed_id] = full[-1] if full else None
        except Exception as exc:  # the poll goes on: its capture is the only thing lost
            log.error("feed %s: the feed document's WARC capture failed: %s", feed_id, failure(exc)[1])

    def close(self) -> None:
        """Close the open WARC file (renamed, indexed) after the records asked for, and the thread."""
        self._lane.close()
        self._writer.close()


def _write_all(writer: WarcWriter, exchanges: Sequence[Exchange]) -> tuple[CaptureRef, ...]:
    return tuple(writer.write_exchange(exchange) for exchange in exchanges)


def _write_answer(
    writer: WarcWriter, exchanges: Sequence[Exchange], last: CaptureRef | None, *, level: int = GZIP_LEVEL
) -> tuple[CaptureRef, ...]:
    """The exchanges of a fetch again (a feed's poll, an article's revisit), compressed at ``level``;
    the answer as a revisit of ``last`` when it says the same (a 304, or a 200 whose payload has its
    digest)."""
    *hops, answer = exchanges
    refs = [writer.write_exchange(exchange, level=level) for exchange in hops]
    same = last is not None and (
        answer.status == 304 or (answer.status == 200 and payload_digest(answer.payload) == last.digest)
    )
    refs.append(
        writer.write_revisit(answer, last) if same and last is not None else writer.write_exchange(answer, level=level)
    )
    return tuple(refs)


def move_kept_pages(store: Store, writer: WarcWriter, folder: Path) -> int:
    """Move every page kept in the database into WARC response records, checking each record read
    back (its payload's digest), then drop the emptied table; returns how many were moved.
    Resumable: a page is deleted from the database in the transaction that records its capture."""
    before = store.kept_pages_left()
    moved = 0
    while batch := store.kept_pages(MOVE_BATCH):
        done = []
        for page in batch:
            headers = [("Content-Type", page.content_type)] if page.content_type else []
            headers.append(("Content-Length", str(len(page.html))))
            fetched = datetime.fromisoformat(page.fetched_at or "1970-01-01T00:00:00+00:00")
            fetched = fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)  # stored times are UTC
            ref = writer.write_response(page.url, fetched, 200, headers, page.html)
            _check(folder, ref, page.html)
            done.append((page.article_id, ref))
        moved += store.pages_moved(done)
    if store.kept_pages_left() == 0:
        store.drop_pages_table()
    if moved:
        log.info("moved %d of %d pages kept in the database into WARC files in %s", moved, before, folder)
    return moved


def _check(folder: Path, ref: CaptureRef, payload: bytes) -> None:
    record = read_record(folder, ref.file, ref.offset)
    if record.payload != payload or not record.digest_ok or ref.digest != payload_digest(payload):
        raise CaptureError(f"{folder / ref.file} at {ref.offset}: the moved page does not read back as written")
