"""The archive database: the only user of sqlite-utils and sqlite3.

Identity is decided here, once: an article is its canonical URL (``articles.url`` is unique,
``articles.id`` its hash), and every URL it was ever reached by is an alias in ``article_urls``.
Feed entries link to articles; polls are logged. Writes that belong together run in one
``BEGIN IMMEDIATE`` transaction, so concurrent writers (the daemon, a one-off ``fetch``) queue
on the busy timeout instead of failing, and an interrupted run never leaves half a record.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from aggregator.errors import StoreError
from aggregator.models import FeedResult, FeedSpec

BUSY_TIMEOUT_SECONDS = 60.0
#: zlib level of the kept pages: 6 (zlib's default) takes ~25 % less CPU than 9 for ~1 % more bytes
PAGE_GZIP_LEVEL = 6

#: Entry states: pending (seen, not yet tried), archived (linked to an article),
#: failed (will be retried), abandoned (max attempts reached; kept with its reason).
ENTRY_STATES = ("pending", "archived", "failed", "abandoned")


def compress_page(html: bytes) -> bytes:
    """A kept page as stored in ``pages.html_gzip`` (gzip, ``PAGE_GZIP_LEVEL``, no timestamp)."""
    return gzip.compress(html, compresslevel=PAGE_GZIP_LEVEL, mtime=0)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    """A timestamp for the database: UTC, whole seconds, so that text order is time order."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat() if moment is not None else None


@dataclass(frozen=True)
class FeedState:
    """What the store remembers about a feed between polls."""

    id: str
    url: str  # the URL polled: the configured one, or a permanent redirect's target once adopted
    etag: str | None
    last_modified: str | None
    status: str = "new"
    error_count: int = 0
    redirect_url: str | None = None  # a permanent redirect seen on the last polls
    redirect_count: int = 0  # on how many consecutive polls
    unfinished: bool = False  # entries pending or failed (to fetch now or later): False spares the query


@dataclass(frozen=True)
class PollRecord:
    """What a finished poll changes on the feed row besides the poll log."""

    status: str  # ok, backing_off, failing, gone
    next_poll_at: datetime | None  # None: never again (gone)
    etag: str | None = None
    last_modified: str | None = None
    server_min_interval: int | None = None
    redirect_url: str | None = None
    redirect_count: int = 0
    adopt_url: str | None = None  # a permanent redirect seen often enough: the feed's new URL


@dataclass(frozen=True)
class EntryWork:
    """A feed entry that still needs its article page."""

    feed_id: str
    key: str
    link: str
    url: str  # canonical form of the link
    feed_published: str | None
    first_seen: str
    attempts: int


@dataclass(frozen=True)
class NewArticle:
    """Everything the store needs to archive one article."""

    url: str
    article_id: str
    title: str
    published: str  # ISO 8601 with the offset it is rendered in
    published_via: str
    day: str  # YYYY-MM-DD of ``published``
    source: str
    feed_id: str | None
    body: str
    document: str
    extractor: str
    fetched_at: str
    folder: str  # archive sub-folder, e.g. "tass/2020-08-13"
    aliases: tuple[str, ...] = ()
    html: bytes | None = None  # the page as fetched, kept (compressed) for re-extraction
    html_gzip: bytes | None = None  # ``compress_page(html)`` when the caller compressed it already
    page_url: str | None = None  # the URL that answered with it
    content_type: str | None = None
    date_flag: str | None = None  # the page's and the feed's dates far apart (dates.date_flag)


@dataclass(frozen=True)
class Saved:
    article_id: str
    created: bool  # False: the URL was already archived (a duplicate merged)
    path: str | None  # relative path of the text file (None for duplicates)
    document: str | None


def _migration_1(db: sqlite_utils.Database) -> None:
    db["feeds"].create(
        {
            "id": str, "url": str, "source": str, "timezone": str, "profile": str,
            "interval": int, "enabled": int, "etag": str, "last_modified": str,
            "status": str, "last_polled_at": str, "last_success_at": str, "last_http_status": int,
            "last_error_reason": str, "last_error": str, "error_count": int, "next_poll_at": str,
            "server_min_interval": int, "redirect_url": str, "redirect_count": int, "previous_urls": str,
            "created_at": str,
        },
        pk="id",
        not_null={"url", "source"},
        defaults={"status": "new", "error_count": 0, "enabled": 1, "redirect_count": 0},
    )
    db["articles"].create(
        {
            "id": str, "url": str, "title": str, "published": str, "published_via": str,
            "day": str, "source": str, "feed_id": str, "body": str, "document": str,
            "extractor": str, "fetched_at": str, "folder": str, "seq": int, "path": str,
            "text_written_at": str,
        },
        pk="id",
        not_null={"url", "title", "published", "source", "body", "document", "folder", "seq", "path"},
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["path"], unique=True)
    db["articles"].create_index(["folder", "seq"], unique=True)
    db["articles"].create_index(["published"])
    db["articles"].create_index(["source", "published"])
    # Full-text search over title and body, kept in sync by triggers on every insert and update.
    db["articles"].enable_fts(["title", "body"], create_triggers=True, tokenize="porter")
    db["pages"].create(
        {"article_id": str, "url": str, "content_type": str, "fetched_at": str, "html_gzip": bytes},
        pk="article_id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_urls"].create(
        {"url": str, "article_id": str, "first_seen": str},
        pk="url",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["entries"].create(
        {
            "feed_id": str, "key": str, "link": str, "url": str, "title": str,
            "feed_published": str, "status": str, "attempts": int, "last_error_reason": str,
            "last_error": str, "article_id": str, "first_seen": str, "last_attempt_at": str,
            "next_attempt_at": str,
        },
        pk=("feed_id", "key"),
        not_null={"status", "first_seen"},
        defaults={"status": "pending", "attempts": 0},
        foreign_keys=[("feed_id", "feeds", "id"), ("article_id", "articles", "id")],
    )
    db["entries"].create_index(["feed_id", "status"])
    db["entries"].create_index(["url"])
    db["entries"].create_index(["status", "next_attempt_at"])
    db["polls"].create(
        {
            "id": int, "feed_id": str, "started_at": str, "finished_at": str, "duration_ms": int,
            "outcome": str, "http_status": int, "entries": int, "new_articles": int,
            "duplicates": int, "failed": int, "error_reason": str, "error": str,
        },
        pk="id",
        foreign_keys=[("feed_id", "feeds", "id")],
    )
    db["polls"].create_index(["feed_id", "started_at"])


def _migration_2(db: sqlite_utils.Database) -> None:
    """``articles.date_flag``: set when the page's publication time is far from the feed entry's."""
    db["articles"].add_column("date_flag", str)


def _migration_3(db: sqlite_utils.Database) -> None:
    """The full-text index follows updates of an article's title and body only: marking its text file
    written (or any other bookkeeping column) no longer deletes and re-indexes the whole body."""
    db.execute("DROP TRIGGER IF EXISTS [articles_au]")
    db.execute(
        "CREATE TRIGGER [articles_au] AFTER UPDATE OF [title], [body] ON [articles] BEGIN\n"
        "  INSERT INTO [articles_fts] ([articles_fts], rowid, [title], [body]) "
        "VALUES('delete', old.rowid, old.[title], old.[body]);\n"
        "  INSERT INTO [articles_fts] (rowid, [title], [body]) VALUES (new.rowid, new.[title], new.[body]);\n"
        "END"
    )


#: Schema migrations, applied in order; the schema version is ``PRAGMA user_version``.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1, _migration_2, _migration_3)
SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """An open archive database. Use as a context manager or call ``close()``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._sql: dict[tuple[Any, ...], str] = {}  # INSERT/UPDATE statements by table and columns
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
            self.db = sqlite_utils.Database(conn)
            self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the archive database: {exc}") from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction, taken at once so that concurrent writers queue, never deadlock."""
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot start a write: {exc}") from None
        try:
            yield self.db
        except sqlite3.Error as exc:
            self.db.rollback()
            raise StoreError(f"{self.path}: write failed: {exc}") from None
        except BaseException:
            self.db.rollback()
            raise
        try:
            if conn.in_transaction:  # as sqlite-utils' commit(), without its wrapper on every write
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self.db.rollback()
            raise StoreError(f"{self.path}: commit failed: {exc}") from None

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        """INSERT one row (plain SQL: sqlite-utils' ``insert`` reads the table's schema on every call,
        several statements per row on the hot paths)."""
        keys = tuple(row)
        sql = self._sql.get((table, keys))
        if sql is None:
            sql = self._sql[(table, keys)] = (
                f"INSERT INTO [{table}] ({', '.join(f'[{k}]' for k in keys)}) VALUES ({', '.join('?' * len(keys))})"
            )
        self.db.conn.execute(sql, list(row.values()))

    def _update(self, table: str, pk: str, values: dict[str, Any]) -> None:
        """UPDATE one row by its primary key ``pk`` (the row must exist, as with sqlite-utils' ``update``)."""
        keys = tuple(values)
        sql = self._sql.get((table, "update", keys))
        if sql is None:
            sql = self._sql[(table, "update", keys)] = (
                f"UPDATE [{table}] SET {', '.join(f'[{k}] = ?' for k in keys)} WHERE id = ?"
            )
        if self.db.conn.execute(sql, [*values.values(), pk]).rowcount != 1:
            raise sqlite_utils.db.NotFoundError(f"{table}: no row with id {pk!r}")

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        try:  # the connection itself: sqlite-utils' ``query`` wraps every read in a savepoint
            cursor = self.db.conn.execute(sql, list(params))
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: query failed: {exc}") from None

    def _migrate(self) -> None:
        """Apply the missing migrations, each in its own write transaction.

        The version is read again inside each transaction, so that several processes opening a
        new database at once apply every migration exactly once; an up-to-date database takes
        no write lock at all (readers open it while a writer holds one).
        """
        if self.schema_version == SCHEMA_VERSION:
            return
        while True:
            with self._write() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path}: schema version {version} is newer than this aggregator ({SCHEMA_VERSION})"
                    )
                if version == SCHEMA_VERSION:
                    return
                MIGRATIONS[version](db)
                db.execute(f"PRAGMA user_version = {version + 1}")

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    # -- feeds -------------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[FeedSpec]) -> None:
        """Insert or update the configured feeds.

        A changed URL starts the feed afresh (validators and health forgotten), unless it is
        a URL the feed was permanently redirected away from: the adopted URL stays.
        """
        now = iso(utc_now())
        columns = ("url", "source", "timezone", "profile", "interval", "enabled")
        with self._write() as db:
            stored = {r[0]: r[1:] for r in db.execute(
                f"SELECT id, previous_urls, {', '.join(columns)} FROM feeds").fetchall()}
            for feed in feeds:
                row: dict[str, Any] = {
                    "url": feed.url, "source": feed.source, "timezone": feed.timezone,
                    "profile": feed.profile, "interval": feed.interval, "enabled": int(feed.enabled),
                }
                existing = stored.get(feed.id)
                if existing is None:
                    self._insert("feeds", {"id": feed.id, **row, "created_at": now, "status": "new", "error_count": 0})
                    stored[feed.id] = (None, *row.values())
                    continue
                old_url, previous = existing[1], json.loads(existing[0] or "[]")
                if feed.url in previous:
                    row["url"] = old_url
                elif old_url != feed.url:
                    row.update(etag=None, last_modified=None, status="new", error_count=0, next_poll_at=None,
                               redirect_url=None, redirect_count=0)
                if tuple(row.values()) != existing[1:]:  # an unchanged feed costs no write
                    self._update("feeds", feed.id, row)

    def due_feeds(self, now: datetime, feed_ids: Iterable[str]) -> list[tuple[str, datetime | None]]:
        """Of ``feed_ids``, those enabled, not gone and due at ``now``, with the time they were due
        (None: never polled), most overdue first."""
        ids = list(feed_ids)
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        rows = self._rows(
            f"SELECT id, next_poll_at FROM feeds WHERE id IN ({marks}) AND enabled = 1 AND status != 'gone' "
            "AND (next_poll_at IS NULL OR next_poll_at <= ?) ORDER BY next_poll_at IS NOT NULL, next_poll_at",
            [*ids, iso(now)],
        )
        return [(row["id"], datetime.fromisoformat(row["next_poll_at"]) if row["next_poll_at"] else None)
                for row in rows]

    def feed_state(self, feed_id: str) -> FeedState:
        rows = self._rows(
            "SELECT id, url, etag, last_modified, status, error_count, redirect_url, redirect_count, "
            "EXISTS (SELECT 1 FROM entries e WHERE e.feed_id = feeds.id AND e.status IN ('pending', 'failed')) "
            "AS unfinished FROM feeds WHERE id = ?",
            [feed_id],
        )
        if not rows:
            raise StoreError(f"{self.path}: feed '{feed_id}' is not in the database")
        return FeedState(**{**rows[0], "unfinished": bool(rows[0]["unfinished"])})

    def record_poll(self, result: FeedResult, record: PollRecord, *, started_at: datetime,
                    duration_ms: int) -> None:
        """Log a poll and update the feed's state and schedule; validators only from a good poll."""
        finished = iso(datetime.now(UTC))
        with self._write() as db:
            self._insert(
                "polls",
                {
                    "feed_id": result.feed_id, "started_at": iso(started_at), "finished_at": finished,
                    "duration_ms": duration_ms, "outcome": result.outcome, "http_status": result.http_status,
                    "entries": result.entries, "new_articles": result.archived,
                    "duplicates": result.duplicates, "failed": result.failed,
                    "error_reason": result.error_reason, "error": result.error,
                }
            )
            update: dict[str, Any] = {
                "status": record.status, "last_polled_at": finished, "last_http_status": result.http_status,
                "next_poll_at": iso(record.next_poll_at), "server_min_interval": record.server_min_interval,
                "redirect_url": record.redirect_url, "redirect_count": record.redirect_count,
            }
            if result.ok:
                update.update(error_count=0, last_error_reason=None, last_error=None, last_success_at=finished,
                              etag=record.etag, last_modified=record.last_modified)
            else:
                update.update(last_error_reason=result.error_reason, last_error=result.error)
                db.execute("UPDATE feeds SET error_count = error_count + 1 WHERE id = ?", [result.feed_id])
            if record.adopt_url:
                old = db.execute("SELECT url, previous_urls FROM feeds WHERE id = ?", [result.feed_id]).fetchone()
                previous = [*json.loads(old[1] or "[]"), old[0]]
                update.update(url=record.adopt_url, previous_urls=json.dumps(previous), redirect_url=None,
                              redirect_count=0, etag=None, last_modified=None)
            self._update("feeds", result.feed_id, update)

    def feed_overview(self) -> list[dict[str, Any]]:
        """One row per feed: its state and how many articles and failing entries it has."""
        return self._rows(
            "SELECT f.id, f.url, f.source, f.enabled, f.status, f.last_polled_at, f.last_success_at, "
            "f.last_http_status, f.last_error_reason, f.last_error, f.error_count, f.next_poll_at, "
            "f.previous_urls, "
            "(SELECT COUNT(DISTINCT e.article_id) FROM entries e WHERE e.feed_id = f.id "
            " AND e.article_id IS NOT NULL) AS articles, "
            "(SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id AND e.status = 'failed') AS failing, "
            "(SELECT COUNT(*) FROM entries e WHERE e.feed_id = f.id AND e.status = 'abandoned') AS abandoned "
            "FROM feeds f ORDER BY f.id"
        )

    # -- entries -----------------------------------------------------------------------------

    def add_entries(self, feed_id: str, entries: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Record entries not seen before in this feed (as pending).

        Returns (new entries, of which linked at once to an article archived before).

        Each dict has key, link, url, title, feed_published (and may set status and
        last_error_reason/last_error for an entry that cannot be fetched). An entry whose URL is already
        archived is linked to that article at once: it will never be fetched again.
        """
        now = iso(utc_now())
        added = linked = 0
        with self._write() as db:
            for entry in entries:
                known = db.execute(
                    "SELECT 1 FROM entries WHERE feed_id = ? AND key = ?", [feed_id, entry["key"]]
                ).fetchone()
                if known:
                    continue
                article_id = self.article_for_url(entry["url"]) if entry.get("url") else None
                status = "archived" if article_id else entry.get("status", "pending")
                self._insert("entries", {**entry, "feed_id": feed_id, "first_seen": now, "attempts": 0,
                                         "status": status, "article_id": article_id})
                added += 1
                linked += article_id is not None
        return added, linked

    def article_for_url(self, url: str) -> str | None:
        """The article reached by ``url`` (its canonical URL or any alias), if archived."""
        row = self.db.execute(
            "SELECT article_id FROM article_urls WHERE url = ? "
            "UNION ALL SELECT id FROM articles WHERE url = ? LIMIT 1",
            [url, url],
        ).fetchone()
        return row[0] if row else None

    def link_entry(self, feed_id: str, key: str, article_id: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE entries SET status = 'archived', article_id = ?, last_error_reason = NULL, "
                "last_error = NULL WHERE feed_id = ? AND key = ?",
                [article_id, feed_id, key],
            )

    def entries_to_fetch(self, feed_id: str, max_attempts: int, now: datetime | None = None) -> list[EntryWork]:
        """Pending entries, and failed ones with attempts left whose retry time has come; oldest first."""
        rows = self._rows(
            "SELECT feed_id, key, link, url, feed_published, first_seen, attempts FROM entries "
            "WHERE feed_id = ? AND status IN ('pending', 'failed') AND attempts < ? AND link IS NOT NULL "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY first_seen, rowid",
            [feed_id, max_attempts, iso(now or utc_now())],
        )
        return [EntryWork(**row) for row in rows]

    def entry_failed(self, feed_id: str, key: str, *, reason: str, error: str, max_attempts: int,
                     retry_at: datetime | None = None) -> str:
        """Count a failed attempt; returns the new status (failed, or abandoned when out of attempts)."""
        now = iso(utc_now())
        with self._write() as db:
            db.execute(
                "UPDATE entries SET attempts = attempts + 1, last_attempt_at = ?, last_error_reason = ?, "
                "last_error = ?, next_attempt_at = ?, "
                "status = CASE WHEN attempts + 1 >= ? THEN 'abandoned' ELSE 'failed' END "
                "WHERE feed_id = ? AND key = ?",
                [now, reason, error, iso(retry_at), max_attempts, feed_id, key],
            )
            row = db.execute(
                "SELECT status FROM entries WHERE feed_id = ? AND key = ?", [feed_id, key]
            ).fetchone()
        return str(row[0]) if row else "failed"

    # -- articles ----------------------------------------------------------------------------

    def save_article(self, article: NewArticle, entry: tuple[str, str] | None, name: Callable[[int], str],
                     written: Sequence[str] = ()) -> Saved:
        """Archive an article and link the entry (feed_id, key) to it, in one transaction.

        ``name(seq)`` gives the text file's path for running number ``seq`` in the article's
        folder. If the URL (or an alias) is already archived, nothing new is stored: the entry
        is linked to the existing article and ``created`` is False. ``written``: articles whose
        text files were written since, marked so in the same transaction (``mark_text_written``).
        """
        now = iso(utc_now())
        urls = dict.fromkeys((article.url, *article.aliases))
        with self._write() as db:
            self._mark_written(written)
            existing = next(filter(None, (self.article_for_url(u) for u in urls)), None)
            if existing is None:
                seq = db.execute(
                    "SELECT COALESCE(MAX(seq) + 1, 0) FROM articles WHERE folder = ?", [article.folder]
                ).fetchone()[0]
                path = name(seq)
                record = asdict(article)
                for key in ("aliases", "article_id", "html", "html_gzip", "page_url", "content_type"):
                    del record[key]
                self._insert("articles", {**record, "id": article.article_id, "seq": seq, "path": path})
                if article.html is not None:
                    packed = article.html_gzip if article.html_gzip is not None else compress_page(article.html)
                    self._insert("pages", {
                        "article_id": article.article_id, "url": article.page_url or article.url,
                        "content_type": article.content_type, "fetched_at": article.fetched_at, "html_gzip": packed,
                    })
                article_id = article.article_id
            else:
                article_id, path = existing, None
            for url in urls:
                db.execute(
                    "INSERT OR IGNORE INTO article_urls (url, article_id, first_seen) VALUES (?, ?, ?)",
                    [url, article_id, now],
                )
            if entry is not None:
                db.execute(
                    "UPDATE entries SET status = 'archived', article_id = ?, attempts = attempts + 1, "
                    "last_attempt_at = ?, last_error_reason = NULL, last_error = NULL "
                    "WHERE feed_id = ? AND key = ?",
                    [article_id, now, *entry],
                )
        return Saved(article_id, existing is None, path, article.document if existing is None else None)

    def page_html(self, article_id: str) -> tuple[str, str | None, bytes] | None:
        """The kept page of an article: (final URL, content type, raw bytes), if it was kept."""
        rows = self._rows("SELECT url, content_type, html_gzip FROM pages WHERE article_id = ?", [article_id])
        if not rows:
            return None
        return rows[0]["url"], rows[0]["content_type"], gzip.decompress(rows[0]["html_gzip"])

    def mark_text_written(self, *article_ids: str) -> None:
        """Record that these articles' text files are written (one transaction)."""
        if article_ids:
            with self._write():
                self._mark_written(article_ids)

    def _mark_written(self, article_ids: Sequence[str]) -> None:
        now = iso(utc_now())
        for start in range(0, len(article_ids), 500):
            chunk = list(article_ids[start : start + 500])
            self.db.execute(f"UPDATE articles SET text_written_at = ? WHERE id IN ({', '.join('?' * len(chunk))})",
                            [now, *chunk])

    def articles_without_text(self) -> list[tuple[str, str, str]]:
        """(id, path, document) of articles whose text file was never confirmed written."""
        rows = self._rows("SELECT id, path, document FROM articles WHERE text_written_at IS NULL ORDER BY rowid")
        return [(r["id"], r["path"], r["document"]) for r in rows]

    def article(self, article_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM articles WHERE id = ?", [article_id])
        return rows[0] if rows else None

    def count(self, table: str, where: str = "", params: Iterable[Any] = ()) -> int:
        if table not in ("feeds", "articles", "article_urls", "entries", "polls", "pages"):
            raise StoreError(f"unknown table {table!r}")
        sql = f"SELECT COUNT(*) AS n FROM {table}" + (f" WHERE {where}" if where else "")
        return int(self._rows(sql, params)[0]["n"])

    # -- reading: search and export ---------------------------------------------------------

    def iter_articles(self, *, source: str | None = None, since: str | None = None, until: str | None = None,
                      columns: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """Articles in the order they were archived, one row at a time (never all in memory).

        ``source`` matches the source name (case-insensitive); ``since``/``until`` are ISO dates
        (YYYY-MM-DD), both inclusive, compared with the publication day in the publisher's zone."""
        columns = tuple(columns or ARTICLE_COLUMNS)
        unknown = [c for c in columns if c not in ARTICLE_COLUMNS]
        if unknown:
            raise StoreError(f"unknown article column {unknown[0]!r}")
        where, params = _article_filter(source, since, until)
        sql = f"SELECT {', '.join(f'a.{c}' for c in columns)} FROM articles a WHERE {where} ORDER BY a.rowid"
        try:
            cursor = self.db.conn.execute(sql, params)
            for row in cursor:
                yield dict(zip(columns, row, strict=True))
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: query failed: {exc}") from None

    def search(self, query: str, *, source: str | None = None, since: str | None = None,
               until: str | None = None, limit: int = 20, marks: tuple[str, str] = ("[", "]")
               ) -> list[dict[str, Any]]:
        """Full-text search over title and body, best match first.

        Every word of ``query`` must occur (words are quoted, so ``OR``/``NOT`` are plain words).
        Rows have the article's columns plus ``snippet``: the best passage, the matches between ``marks``."""
        match = self.db.quote_fts(query)
        if not match:
            raise StoreError("the search query has no words")
        where, params = _article_filter(source, since, until)
        start, end = marks
        return self._rows(
            f"SELECT {', '.join(f'a.{c}' for c in ARTICLE_COLUMNS)}, "
            "replace(replace(snippet(articles_fts, -1, ?, ?, '…', 24), char(10) || char(10), ' '), char(10), ' ') "
            "AS snippet "
            "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
            f"WHERE articles_fts MATCH ? AND {where} ORDER BY articles_fts.rank, a.published DESC LIMIT ?",
            [start, end, match, *params, limit],
        )

    def rebuild_fts(self) -> int:
        """Rebuild the full-text index from the articles table; returns the number of articles indexed."""
        with self._write() as db:
            db.execute("INSERT INTO articles_fts(articles_fts) VALUES('rebuild')")
            db.execute("INSERT INTO articles_fts(articles_fts) VALUES('optimize')")
        return self.count("articles")

    def articles_to_reextract(self, since: str | None = None) -> list[dict[str, Any]]:
        """Articles published on or after ``since`` (YYYY-MM-DD), oldest first, with the time their
        first feed entry gave and when it was first seen (what the pipeline dated them with)."""
        return self._rows(
            "SELECT a.id, a.url, a.title, a.body, a.document, a.extractor, a.published, a.published_via, "
            "a.source, a.feed_id, a.fetched_at, a.path, "
            "(SELECT e.feed_published FROM entries e WHERE e.article_id = a.id ORDER BY e.first_seen LIMIT 1) "
            "AS feed_published, "
            "(SELECT MIN(e.first_seen) FROM entries e WHERE e.article_id = a.id) AS first_seen "
            "FROM articles a WHERE ? IS NULL OR a.day >= ? ORDER BY a.rowid",
            [since, since],
        )

    def update_extraction(self, article_id: str, fields: dict[str, Any]) -> None:
        """Replace an article's extracted fields (title, body, document, extractor, published,
        published_via, date_flag) in one transaction; its path, day and running number stay. The
        text file is marked unwritten until the caller has rewritten it."""
        allowed = ("title", "body", "document", "extractor", "published", "published_via", "date_flag")
        values = {name: fields[name] for name in allowed if name in fields}
        with self._write() as db:
            db["articles"].update(article_id, {**values, "text_written_at": None})

    # -- checks (aggregator doctor) ----------------------------------------------------------

    def integrity_problems(self) -> list[str]:
        """What ``PRAGMA integrity_check`` and the full-text index's own check report; [] when sound."""
        problems = [str(row[0]) for row in self.db.execute("PRAGMA integrity_check").fetchall()]
        problems = [] if problems == ["ok"] else problems
        try:
            self.db.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")
        except sqlite3.Error as exc:
            problems.append(f"full-text index: {exc} (run `aggregator fts-rebuild`)")
        return problems

    def dangling_entries(self) -> list[tuple[str, str, str]]:
        """(feed id, entry key, article id) of entries linked to an article that does not exist."""
        rows = self._rows("SELECT feed_id, key, article_id FROM entries WHERE article_id IS NOT NULL "
                          "AND article_id NOT IN (SELECT id FROM articles) ORDER BY feed_id, key")
        return [(r["feed_id"], r["key"], r["article_id"]) for r in rows]


#: The article columns the read side exposes (everything but the bookkeeping ones).
ARTICLE_COLUMNS = ("id", "url", "title", "published", "published_via", "day", "source", "feed_id",
                   "extractor", "fetched_at", "path", "body", "document")


def _article_filter(source: str | None, since: str | None, until: str | None) -> tuple[str, list[Any]]:
    """SQL conditions on ``articles a`` for a source and an inclusive range of publication days."""
    clauses, params = ["1"], []
    for clause, value in (("a.source = ? COLLATE NOCASE", source), ("a.day >= ?", since), ("a.day <= ?", until)):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return " AND ".join(clauses), params
