"""What the pipeline, the daemon and the read side need from storage: exactly this, and nothing
of how a backend keeps it.

Identity is the store's to decide, once: an article is its canonical URL (unique), its id the
hash of it, and every URL it was reached by is an alias. Writes that belong together are one
transaction: a concurrent writer (the daemon beside a one-off ``fetch``) waits for it, and an
interrupted run never leaves half a record. Methods are synchronous; the async pipeline calls
them off its event loop (``aggregator.pipeline.database``). Every failure is a ``StoreError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from aggregator.models import CaptureRef, FeedResult, FeedSpec
from aggregator.store.records import (
    BackfillJob,
    EntryWork,
    FeedState,
    KeptPage,
    NewArticle,
    PollRecord,
    Revisited,
    RevisitOutcome,
    RevisitWork,
    Saved,
    WorkerBeat,
)


class Store(Protocol):
    """An open archive. Use as a context manager or call ``close()``."""

    #: where the archive is, as messages name it (a file path, a database URL)
    location: str

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...

    # -- feeds ---------------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[FeedSpec]) -> None:
        """Insert or update the configured feeds (a changed URL starts a feed afresh, unless it is
        one the feed was permanently redirected away from)."""
        ...

    def retire_feeds(self, configured: Iterable[str]) -> list[str]:
        """Feeds no longer in feeds.yaml: disabled, with no next poll (their history stays); returns
        their ids. Listed again, a feed is enabled by ``sync_feeds`` and due at once."""
        ...

    def due_feeds(self, now: datetime, feed_ids: Iterable[str]) -> list[tuple[str, datetime | None]]:
        """Of ``feed_ids``, those enabled, not gone and due at ``now``, with the time they were due
        (None: never polled), most overdue first."""
        ...

    def feed_state(self, feed_id: str) -> FeedState: ...

    def record_poll(self, result: FeedResult, record: PollRecord, *, started_at: datetime, duration_ms: int) -> None:
        """Log a poll and update the feed's state and schedule (validators only from a good poll)."""
        ...

    def feed_overview(self) -> list[dict[str, Any]]:
        """One row per feed: its state, and how many articles and failing entries it has."""
        ...

    def profile_drift(self) -> dict[str, dict[str, int]]:
        """feed id -> {site profile that found no body: articles archived through the fallback}."""
        ...

    # -- entries -------------------------------------------------------------------------------

    def add_entries(self, feed_id: str, entries: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Record entries not seen before in this feed, as pending; one whose URL is archived
        already is linked to that article at once. Returns (new entries, of which linked)."""
        ...

    def known_entries(self, feed_id: str, keys: Iterable[str]) -> dict[str, str | None]:
        """Of ``keys``, those of entries this feed has shown before, each with its stored ``updated`` text."""
        ...

    def entries_to_fetch(self, feed_id: str, max_attempts: int, now: datetime | None = None) -> list[EntryWork]:
        """Pending entries, and failed ones with attempts left whose retry time has come; oldest first."""
        ...

    def entry_failed(
        self, feed_id: str, key: str, *, reason: str, error: str, max_attempts: int, retry_at: datetime | None = None
    ) -> str:
        """Count a failed attempt; returns the new status (failed, or abandoned when out of attempts)."""
        ...

    def link_entry(self, feed_id: str, key: str, article_id: str) -> None: ...

    # -- backfill and gaps ---------------------------------------------------------------------

    def start_backfill(
        self, feed_id: str, since: str, until: str | None, *, origin: str = "command", gap_id: int | None = None
    ) -> BackfillJob:
        """A job enumerating the feed's sources over [since, until] (days): the unfinished one for the
        same feed and window when there is one (a killed run resumes it), else a new one."""
        ...

    def open_backfills(self, feed_ids: Iterable[str]) -> list[BackfillJob]:
        """Jobs of these feeds still enumerating, oldest first."""
        ...

    def sources_done(self, job_id: int) -> set[str]:
        """The sources (sitemap documents, CDX pages) whose URLs the job has all queued."""
        ...

    def queue_backfill(
        self, job: BackfillJob, source: str, entries: Sequence[dict[str, Any]], *, done: bool = True
    ) -> int:
        """Queue the URLs of one source as pending entries of the job's feed (those not archived and
        not already entries of it), and mark the source done, in one transaction; returns how many."""
        ...

    def finish_enumeration(self, job_id: int) -> None: ...

    def unknown_urls(self, feed_id: str, urls: Iterable[str]) -> list[str]:
        """Of these canonical URLs, those neither archived nor already entries of the feed."""
        ...

    def backfill_work(
        self, feed_ids: Iterable[str], max_attempts: int, now: datetime | None = None, limit: int = 100
    ) -> list[EntryWork]:
        """Queued backfill entries of these feeds due for a (first or next) attempt, taken round robin
        over the feeds (fewest attempts first within each)."""
        ...

    def backfill_left(self, feed_ids: Iterable[str]) -> int:
        """Backfill entries of these feeds still pending or failed (with attempts left or not yet due)."""
        ...

    def record_gap(self, feed_id: str, gap_from: str, gap_to: str, *, fillable: bool) -> int: ...

    def settle_gaps(self) -> int:
        """Mark filled the gaps whose job has queued everything and tried every page at least once
        (a page that failed stays a hole of its own, retried after its backoff)."""
        ...

    def unfilled_gaps(self, feed_ids: Iterable[str]) -> list[dict[str, Any]]: ...

    # -- articles ------------------------------------------------------------------------------

    def article_for_url(self, url: str) -> str | None:
        """The article reached by ``url`` (its canonical URL or any alias), if archived."""
        ...

    def save_article(self, article: NewArticle, entry: tuple[str, str] | None) -> Saved:
        """Archive an article and link the entry (feed_id, key) to it, in one transaction; a URL
        (or alias) archived already only links the entry (``created`` False)."""
        ...

    def articles_without_text(self) -> list[tuple[str, str, str]]:
        """(id, path, document) of articles whose text file was never confirmed written."""
        ...

    def mark_text_written(self, *article_ids: str) -> None: ...

    def article(self, article_id: str) -> dict[str, Any] | None: ...

    # -- captures (WARC records) -------------------------------------------------------------------

    def record_captures(
        self, kind: str, refs: Sequence[CaptureRef], *, feed_id: str | None = None, article_id: str | None = None
    ) -> None:
        """Record WARC records: of a feed's poll (``feed``), or of a page (``page``; one no article
        came of, such as a gallery, with no ``article_id``)."""
        ...

    def last_feed_capture(self, feed_id: str) -> CaptureRef | None: ...

    def page_capture(self, article_id: str) -> CaptureRef | None:
        """The newest full (2xx response) capture of an article's page: what re-extraction reads."""
        ...

    def iter_captures(self) -> Iterator[tuple[int, CaptureRef]]:
        """Every capture the database names, in the order recorded (a thousand rows at a time)."""
        ...

    def kept_pages(self, limit: int = 100) -> list[KeptPage]:
        """Pages kept in the database before the archive wrote WARC files, oldest first."""
        ...

    def kept_page(self, article_id: str) -> KeptPage | None:
        """An article's page kept in the database before WARC, not moved yet."""
        ...

    def kept_pages_left(self) -> int: ...

    def pages_moved(self, moved: Sequence[tuple[str, CaptureRef]]) -> int:
        """Record the captures of moved pages (article id, capture) and delete what they replace."""
        ...

    def drop_pages_table(self) -> bool:
        """Once every kept page is moved: drop their table and give its space back."""
        ...

    def articles_to_reextract(
        self, *, source: str | None = None, since: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        """Articles selected as ``iter_articles`` selects them (a source, case-insensitive; publication
        days ``since``/``until``, YYYY-MM-DD, inclusive), oldest first, with what dated them."""
        ...

    def update_extraction(self, article_id: str, fields: dict[str, Any]) -> None:
        """Replace an article's extracted fields; its path stays; its text file is marked unwritten."""
        ...

    # -- revisits, versions, removals -------------------------------------------------------------

    def unscheduled_revisits(self, limit: int = 1000) -> list[tuple[str, str | None, str]]:
        """(id, feed id, first archived at) of articles whose revisits are not scheduled yet."""
        ...

    def schedule_revisits(self, plans: Sequence[tuple[str, int, str | None]]) -> None:
        """(article id, revisits done, next revisit or None) for each article."""
        ...

    def due_revisits(self, feed_ids: Iterable[str], now: str, limit: int = 100) -> list[RevisitWork]:
        """Articles of these feeds whose next revisit is due at ``now`` (ISO 8601), soonest first."""
        ...

    def revisit_soon(self, article_ids: Sequence[str], at: str) -> None: ...

    def record_revisit(self, revisit: Revisited) -> RevisitOutcome:
        """Record what a revisit found, in one transaction: its captures, a new version (the text
        file's name given here), a removal or restoration, the next revisit."""
        ...

    def article_history(self, article_id: str) -> dict[str, Any] | None:
        """The article with its ``versions`` (oldest first) and ``events`` (edited, removed, restored)."""
        ...

    def version_files(self) -> list[tuple[str, int, str, str]]:
        """(article id, version, path, document) of every version that is not its article's latest."""
        ...

    # -- workers and their claims ---------------------------------------------------------------

    def beat(self, worker: WorkerBeat) -> int:
        """Record a worker's heartbeat (registering it the first time) and extend its claims to its
        new expiry; returns how many feeds it holds."""
        ...

    def leave(self, worker_id: str) -> None:
        """A worker stops: its row goes and its claims are released at once."""
        ...

    def live_workers(self, now: datetime) -> list[str]:
        """The ids of the workers whose lease holds at ``now``, sorted."""
        ...

    def claim_feeds(
        self, worker_id: str, feed_ids: Iterable[str], now: datetime, until: datetime, *, due_only: bool = True
    ) -> list[str]:
        """Of ``feed_ids``, claim for ``worker_id`` until ``until`` those still due at ``now`` (due
        or not: ``due_only=False``, a one-off ``fetch``) that no other worker holds (a claim past
        its time holds nothing), atomically: two workers asking at once never both get a feed.
        Returns the claimed ids, in the order given."""
        ...

    def release_feeds(self, worker_id: str, feed_ids: Iterable[str]) -> None:
        """The worker's polls of these feeds are over: their claims end (another worker's stay)."""
        ...

    def worker_overview(self, now: datetime) -> list[dict[str, Any]]:
        """One row per registered worker: its heartbeat, whether it is live at ``now``, and the
        feeds it holds (``claims``, and their ids space-separated in ``claimed``)."""
        ...

    # -- the read side -------------------------------------------------------------------------

    def count(self, table: str) -> int: ...

    def iter_articles(
        self,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Articles in the order they were archived, one row at a time (never all in memory)."""
        ...

    def search(
        self,
        query: str,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 20,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[dict[str, Any]]:
        """Full-text search over title and body, best match first, with a ``snippet``."""
        ...

    def count_matches(
        self,
        query: str,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        at_most: int | None = None,
    ) -> int:
        """How many articles ``search`` would find with no limit; with ``at_most``, counted to
        ``at_most + 1`` at most (more than ``at_most`` match: how many more is not counted)."""
        ...

    def rebuild_fts(self) -> int: ...

    def integrity_problems(self) -> list[str]:
        """What the database's own checks report (the full-text index included); [] when sound."""
        ...

    def dangling_entries(self) -> list[tuple[str, str, str]]:
        """(feed id, entry key, article id) of entries linked to an article that does not exist."""
        ...
