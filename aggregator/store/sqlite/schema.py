"""The SQLite schema: versioned migrations applied on open (the only sqlite-utils user besides the
full-text query quoting). The version is ``PRAGMA user_version``; each migration runs in its own
write transaction, so several processes opening a new database at once apply each exactly once."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

from aggregator.errors import StoreError


def _migration_1(db: sqlite_utils.Database) -> None:
    db.table("feeds").create(
        {
            "id": str,
            "url": str,
            "source": str,
            "timezone": str,
            "profile": str,
            "interval": int,
            "enabled": int,
            "etag": str,
            "last_modified": str,
            "status": str,
            "last_polled_at": str,
            "last_success_at": str,
            "last_http_status": int,
            "last_error_reason": str,
            "last_error": str,
            "error_count": int,
            "next_poll_at": str,
            "server_min_interval": int,
            "redirect_url": str,
            "redirect_count": int,
            "previous_urls": str,
            "created_at": str,
        },
        pk="id",
        not_null={"url", "source"},
        defaults={"status": "new", "error_count": 0, "enabled": 1, "redirect_count": 0},
    )
    db.table("articles").create(
        {
            "id": str,
            "url": str,
            "title": str,
            "published": str,
            "published_via": str,
            "day": str,
            "source": str,
            "feed_id": str,
            "body": str,
            "document": str,
            "extractor": str,
            "fetched_at": str,
            "folder": str,
            "seq": int,
            "path": str,
            "text_written_at": str,
        },
        pk="id",
        not_null={"url", "title", "published", "source", "body", "document", "folder", "seq", "path"},
    )
    db.table("articles").create_index(["url"], unique=True)
    db.table("articles").create_index(["path"], unique=True)
    db.table("articles").create_index(["folder", "seq"], unique=True)
    db.table("articles").create_index(["published"])
    db.table("articles").create_index(["source", "published"])
    # Full-text search over title and body, kept in sync by triggers on every insert and update.
    db.table("articles").enable_fts(["title", "body"], create_triggers=True, tokenize="porter")
    db.table("pages").create(
        {"article_id": str, "url": str, "content_type": str, "fetched_at": str, "html_gzip": bytes},
        pk="article_id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db.table("article_urls").create(
        {"url": str, "article_id": str, "first_seen": str},
        pk="url",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db.table("entries").create(
        {
            "feed_id": str,
            "key": str,
            "link": str,
            "url": str,
            "title": str,
            "feed_published": str,
            "status": str,
            "attempts": int,
            "last_error_reason": str,
            "last_error": str,
            "article_id": str,
            "first_seen": str,
            "last_attempt_at": str,
            "next_attempt_at": str,
        },
        pk=("feed_id", "key"),
        not_null={"status", "first_seen"},
        defaults={"status": "pending", "attempts": 0},
        foreign_keys=[("feed_id", "feeds", "id"), ("article_id", "articles", "id")],
    )
    db.table("entries").create_index(["feed_id", "status"])
    db.table("entries").create_index(["url"])
    db.table("entries").create_index(["status", "next_attempt_at"])
    db.table("polls").create(
        {
            "id": int,
            "feed_id": str,
            "started_at": str,
            "finished_at": str,
            "duration_ms": int,
            "outcome": str,
            "http_status": int,
            "entries": int,
            "new_articles": int,
            "duplicates": int,
            "failed": int,
            "error_reason": str,
            "error": str,
        },
        pk="id",
        foreign_keys=[("feed_id", "feeds", "id")],
    )
    db.table("polls").create_index(["feed_id", "started_at"])


def _migration_2(db: sqlite_utils.Database) -> None:
    """``articles.date_flag``: set when the page's publication time is far from the feed entry's."""
    db.table("articles").add_column("date_flag", str)


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


def _migration_4(db: sqlite_utils.Database) -> None:
    """Backfill and gaps: entries found in sitemaps and the Wayback Machine (``origin``, the job
    that queued them, the capture or date they were listed with), articles that remember whether
    they came from the live site or a Wayback capture, the backfill jobs and the sources each has
    read in full (so that a killed run resumes), the feed gaps, and the ``holes`` view."""
    entries = db.table("entries")
    for column, kind in (("origin", str), ("job_id", int), ("capture", str), ("lastmod", str)):
        entries.add_column(column, kind)
    # The live poll asks for its feed's unfinished entries of the feed itself (origin NULL) on every
    # poll: this index answers that without reading the backfill entries queued beside them.
    db.execute("DROP INDEX IF EXISTS idx_entries_feed_id_status")
    entries.create_index(["feed_id", "status", "origin"])
    entries.create_index(["job_id", "status"])
    # the newest item the feed itself showed (UTC): a poll sharing nothing with it reveals a gap
    db.table("feeds").add_column("newest_item_at", str)
    db.execute(
        "UPDATE feeds SET newest_item_at = (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', "
        "MAX(julianday(COALESCE(e.feed_published, e.first_seen)))) FROM entries e WHERE e.feed_id = feeds.id)"
    )
    articles = db.table("articles")
    articles.add_column("fetched_via", str, not_null_default="live")
    articles.add_column("capture_time", str)
    db.table("backfill_jobs").create(
        {
            "id": int,
            "feed_id": str,
            "since": str,
            "until": str,
            "origin": str,  # command | gap
            "gap_id": int,
            "status": str,  # enumerating | queued
            "found": int,
            "queued": int,
            "created_at": str,
            "enumerated_at": str,
        },
        pk="id",
        not_null={"feed_id", "status", "origin"},
        defaults={"found": 0, "queued": 0},
        foreign_keys=[("feed_id", "feeds", "id")],
    )
    db.table("backfill_jobs").create_index(["status"])
    db.table("backfill_sources").create(
        {"job_id": int, "source": str, "found": int, "queued": int, "done_at": str},
        pk=("job_id", "source"),
        foreign_keys=[("job_id", "backfill_jobs", "id")],
    )
    db.table("gaps").create(
        {
            "id": int,
            "feed_id": str,
            "gap_from": str,  # the newest item the feed showed before
            "gap_to": str,  # the oldest item of the poll that shared nothing with it
            "detected_at": str,
            "status": str,  # open (no source to fill it from) | filling | filled
            "job_id": int,
            "queued": int,
            "filled_at": str,
        },
        pk="id",
        not_null={"feed_id", "detected_at", "status"},
        foreign_keys=[("feed_id", "feeds", "id")],
    )
    db.table("gaps").create_index(["feed_id", "status"])
    db.execute(HOLES_VIEW)


#: What the archive does not have, one row per missing item with the month it belongs to: every
#: entry (live or backfill) whose page never made it, and every feed gap not filled yet.
HOLES_VIEW = """
CREATE VIEW holes AS
SELECT substr(COALESCE(e.feed_published, e.lastmod,
         substr(e.capture, 1, 4) || '-' || substr(e.capture, 5, 2), e.first_seen), 1, 7) AS month,
       e.feed_id, 'page' AS kind, e.status, COALESCE(e.link, e.key) AS what,
       e.last_error_reason AS reason, e.last_error AS error, e.attempts, e.origin
FROM entries e
WHERE e.status IN ('pending', 'failed', 'abandoned')
UNION ALL
SELECT substr(g.gap_from, 1, 7) AS month, g.feed_id, 'gap' AS kind, g.status,
       g.gap_from || ' .. ' || g.gap_to AS what, NULL AS reason,
       CASE g.status WHEN 'open' THEN 'the feed has no sitemap or Wayback source to fill it from'
         ELSE 'being filled' END AS error, NULL AS attempts, NULL AS origin
FROM gaps g
WHERE g.status != 'filled'
"""


def _migration_5(db: sqlite_utils.Database) -> None:
    """Captures: every HTTP exchange kept is a record in a WARC file under the archive folder, and
    this table says where (file, offset, length of its gzip member) and what it holds. The pages
    kept as gzip blobs before stay in ``pages`` until the archiver moves them into WARC files
    (pipeline/captures.py), which then drops the table: moving them is file work, not the schema's.
    A new archive has none: its ``pages`` goes at once."""
    db.table("captures").create(
        {
            "id": int,
            "kind": str,  # page | feed
            "article_id": str,
            "feed_id": str,
            "url": str,  # WARC-Target-URI
            "record_type": str,  # response | revisit
            "status": int,
            "digest": str,  # WARC-Payload-Digest
            "content_type": str,
            "captured_at": str,  # WARC-Date (microseconds)
            "warc_file": str,
            "warc_offset": int,
            "warc_length": int,
        },
        pk="id",
        not_null={"kind", "url", "record_type", "digest", "captured_at", "warc_file", "warc_offset", "warc_length"},
        foreign_keys=[("article_id", "articles", "id"), ("feed_id", "feeds", "id")],
    )
    db.table("captures").create_index(["article_id", "id"])
    db.table("captures").create_index(["feed_id", "kind", "id"])
    db.table("captures").create_index(["warc_file", "warc_offset"], unique=True)
    if not db.execute("SELECT EXISTS (SELECT 1 FROM pages)").fetchone()[0]:
        db.execute("DROP TABLE pages")  # nothing to move (a new archive)


def _migration_6(db: sqlite_utils.Database) -> None:
    """Revisits, versions and removals. An article is fetched again on a schedule (``revisit_step``
    of its feed's delays done, the next at ``next_revisit_at``; NULL step: not scheduled yet). An
    edit of its title or body makes a new version: ``articles`` keeps the latest (``version`` is
    how many there are), ``article_versions`` every one once there are two, searchable like the
    articles. A removal or a restoration is an event; ``status`` says which holds now."""
    articles = db.table("articles")
    for column, kind, default in (
        ("version", int, 1),
        ("status", str, "live"),  # live | removed
        ("revisit_attempts", int, 0),  # failed revisits in a row
    ):
        articles.add_column(column, kind, not_null_default=default)
    for column, kind in (
        ("changed_at", str),  # when the latest version was first seen (NULL: the first one)
        ("removed_at", str),  # when it was first seen gone, while removed
        ("revisit_step", int),
        ("next_revisit_at", str),
        ("etag", str),  # validators of the last full answer, for a conditional revisit
        ("last_modified", str),
    ):
        articles.add_column(column, kind)
    articles.create_index(["next_revisit_at"])
    db.execute("CREATE INDEX idx_articles_unscheduled ON articles (revisit_step) WHERE revisit_step IS NULL")
    db.table("article_versions").create(
        {
            "article_id": str,
            "version": int,
            "seen_at": str,
            "title": str,
            "body": str,
            "document": str,
            "extractor": str,
            "published": str,
            "path": str,
            "capture_id": int,
        },
        pk=("article_id", "version"),
        not_null={"seen_at", "title", "body", "document", "path"},
        foreign_keys=[("article_id", "articles", "id"), ("capture_id", "captures", "id")],
    )
    db.table("article_versions").enable_fts(["title", "body"], create_triggers=True, tokenize="porter")
    db.table("article_events").create(
        {
            "id": int,
            "article_id": str,
            "at": str,
            "kind": str,  # edited | removed | restored
            "version": int,
            "detail": str,
            "capture_id": int,
        },
        pk="id",
        not_null={"article_id", "at", "kind"},
        foreign_keys=[("article_id", "articles", "id"), ("capture_id", "captures", "id")],
    )
    db.table("article_events").create_index(["article_id", "id"])
    db.table("article_events").create_index(["kind", "at"])
    db.table("entries").add_column("feed_updated", str)
    db.table("entries").create_index(["article_id"])  # what dated an article: asked at every revisit


def _migration_7(db: sqlite_utils.Database) -> None:
    """The last good poll's body (its SHA-256) and its <ttl>: a 200 with the same body is not parsed again."""
    db.table("feeds").add_column("body_digest", str)
    db.table("feeds").add_column("body_ttl", int)


def _migration_8(db: sqlite_utils.Database) -> None:
    """Indexes for an archive of a million articles, so that no page or search reads the articles
    table through (its rows are the size of their text): the search filters and ``export
    --source`` (the source as they compare it, case-insensitive, then the day), the days (date
    filters, per-day counts, the first and last day), the newest first (the front page, the latest
    articles), the facets of the articles list (feed, extractor), the edited and removed articles,
    the URLs of an article (its page's links), the articles of a feed (its health), and the
    newest feed items and polls first (their tables' pages)."""
    for sql in (
        "CREATE INDEX idx_articles_source_day ON articles (source COLLATE NOCASE, day)",
        "CREATE INDEX idx_articles_day_source ON articles (day DESC, source)",
        "CREATE INDEX idx_articles_newest ON articles (datetime(published))",
        "CREATE INDEX idx_articles_feed_id ON articles (feed_id)",
        "CREATE INDEX idx_articles_extractor ON articles (extractor, feed_id)",
        "CREATE INDEX idx_articles_edited ON articles (changed_at) WHERE version > 1",
        "CREATE INDEX idx_articles_removed ON articles (removed_at) WHERE status = 'removed'",
        "CREATE INDEX idx_article_urls_article_id ON article_urls (article_id)",
        "CREATE INDEX idx_entries_feed_id_article_id ON entries (feed_id, article_id)",
        "CREATE INDEX idx_entries_first_seen ON entries (first_seen)",
        "CREATE INDEX idx_polls_started_at ON polls (started_at)",
    ):
        db.execute(sql)


def _migration_9(db: sqlite_utils.Database) -> None:
    """Workers and their claims: a feed being polled is claimed by one worker until its lease
    runs out (the worker renews it with every heartbeat), so that no two workers poll it at once
    and a dead worker's feeds are taken over when its lease lapses."""
    db.execute(
        "CREATE TABLE workers (id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, "
        "started_at TEXT NOT NULL, beat_at TEXT NOT NULL, expires_at TEXT NOT NULL, metrics TEXT)"
    )
    db.table("feeds").add_column("claimed_by", str)
    db.table("feeds").add_column("claim_until", str)
    db.execute("CREATE INDEX idx_feeds_claimed_by ON feeds (claimed_by) WHERE claimed_by IS NOT NULL")


def _migration_10(db: sqlite_utils.Database) -> None:
    """``articles.teaser``: 1 for a paywalled page archived as the public teaser it shows (its body
    is all the public could read), indexed for the few such rows."""
    db.table("articles").add_column("teaser", int, not_null_default=0)
    db.execute("CREATE INDEX idx_articles_teaser ON articles (day) WHERE teaser = 1")


def _migration_11(db: sqlite_utils.Database) -> None:
    """Indexes for the reading room's stored queries on a million articles: the failed and
    abandoned feed items in the order ``failed_extractions`` lists them (the first page is read
    off the index, not sorted out of every failed item), and the polls of a feed by outcome
    (``feed_health`` counts a feed's failed polls on the index, not row by row)."""
    for sql in (
        "CREATE INDEX idx_entries_failed ON entries (last_attempt_at DESC, first_seen DESC) "
        "WHERE status IN ('failed', 'abandoned')",
        "CREATE INDEX idx_polls_feed_id_outcome ON polls (feed_id, outcome)",
    ):
        db.execute(sql)


# Version 12: counts the store keeps itself, so that the readers that show them (``aggregator
# feeds``, the stored queries ``feed_health`` and ``duplicates_merged``) read a row per feed or per
# duplicate instead of the million-row ``entries`` table:
#
# - ``feed_counts``, one row per feed that has entries or polls: its distinct articles (the articles
#   its entries point at, each once however many of its entries do), its failed and abandoned
#   entries, its backfill entries still to fetch, its polls and its failed polls;
# - ``article_counts``, one row per article at least one entry points at: how many (``items``), and
#   its publication time (kept equal to the article's by a trigger), with a partial index on the
#   duplicates (``items > 1``) in the order ``duplicates_merged`` lists them: the first page is read
#   off the index, not sorted out of every duplicate's article row.
#
# Triggers on ``entries`` and ``polls`` (and on an article's publication time) keep both exact on
# every insert, update and delete, an entry's article being set, changed (a merge) or cleared and
# its status changing included. SQLite runs a row trigger right after its row changes, so each sees
# the table as it is after exactly that row: the article of a feed is counted when the first of its
# entries points at it (no other entry of the feed already does) and uncounted when the last one
# stops, on the ``(feed_id, article_id)`` index. The migration fills both from the rows in one pass
# each.

#: What an entry counts for in ``feed_counts`` besides its article (SQL over ``{row}``, ``new`` or ``old``).
_COUNTED_FLAGS = {
    "failing": "{row}.status = 'failed'",
    "abandoned": "{row}.status = 'abandoned'",
    "backfill_queued": "({row}.status IN ('pending', 'failed') AND {row}.origin IS NOT NULL)",
}


def _counted_flags(row: str) -> list[str]:
    return [sql.format(row=row) for sql in _COUNTED_FLAGS.values()]


def _count_in(changed: str = "1") -> str:
    """The statements counting the entry ``new`` in; ``changed``: whether its feed or article differ
    from before (an update), else the article is counted already."""
    first = (
        f"({changed}) AND new.article_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entries e "
        "WHERE e.feed_id = new.feed_id AND e.article_id = new.article_id AND e.rowid != new.rowid)"
    )
    names = ", ".join(_COUNTED_FLAGS)
    return (
        f"INSERT INTO feed_counts (feed_id, articles, {names}) VALUES (new.feed_id, {first}, "
        f"{', '.join(_counted_flags('new'))}) "
        "ON CONFLICT (feed_id) DO UPDATE SET articles = articles + excluded.articles, "
        f"{', '.join(f'{name} = {name} + excluded.{name}' for name in _COUNTED_FLAGS)};\n"
        "  INSERT INTO article_counts (article_id, items, published) "
        "SELECT new.article_id, 1, (SELECT a.published FROM articles a WHERE a.id = new.article_id) "
        f"WHERE new.article_id IS NOT NULL AND ({changed}) "
        "ON CONFLICT (article_id) DO UPDATE SET items = items + 1;\n"
    )


def _count_out(changed: str = "1") -> str:
    """The statements counting the entry ``old`` out (after it changed or went)."""
    last = (
        f"(({changed}) AND old.article_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entries e "
        "WHERE e.feed_id = old.feed_id AND e.article_id = old.article_id))"
    )
    flags = ", ".join(
        f"{name} = {name} - ({sql})" for name, sql in zip(_COUNTED_FLAGS, _counted_flags("old"), strict=True)
    )
    return (
        f"UPDATE feed_counts SET articles = articles - {last}, {flags} WHERE feed_id = old.feed_id;\n"
        f"  UPDATE article_counts SET items = items - 1 WHERE article_id = old.article_id AND ({changed});\n"
        "  DELETE FROM article_counts WHERE article_id = old.article_id AND items <= 0;\n"
    )


_ENTRY_MOVED = "old.feed_id IS NOT new.feed_id OR old.article_id IS NOT new.article_id"

#: The tables, their index and the triggers of version 12.
COUNTS_SCHEMA = (
    "CREATE TABLE feed_counts (feed_id TEXT PRIMARY KEY NOT NULL REFERENCES feeds (id) ON DELETE CASCADE, "
    "articles INTEGER NOT NULL DEFAULT 0, failing INTEGER NOT NULL DEFAULT 0, abandoned INTEGER NOT NULL DEFAULT 0, "
    "backfill_queued INTEGER NOT NULL DEFAULT 0, polls INTEGER NOT NULL DEFAULT 0, "
    "failed_polls INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE article_counts (article_id TEXT PRIMARY KEY NOT NULL, items INTEGER NOT NULL, published TEXT) "
    "WITHOUT ROWID",
    "CREATE INDEX idx_article_counts_duplicates ON article_counts (items DESC, published DESC) WHERE items > 1",
    "CREATE TRIGGER articles_counted_au AFTER UPDATE OF published ON articles "
    "WHEN old.published IS NOT new.published BEGIN\n"
    "  UPDATE article_counts SET published = new.published WHERE article_id = new.id;\nEND",
    f"CREATE TRIGGER entries_counted_ai AFTER INSERT ON entries BEGIN\n  {_count_in()}END",
    f"CREATE TRIGGER entries_counted_ad AFTER DELETE ON entries BEGIN\n  {_count_out()}END",
    "CREATE TRIGGER entries_counted_au AFTER UPDATE OF feed_id, article_id, status, origin ON entries "
    f"WHEN {_ENTRY_MOVED} OR old.status IS NOT new.status OR old.origin IS NOT new.origin BEGIN\n"
    f"  {_count_out(_ENTRY_MOVED)}  {_count_in(_ENTRY_MOVED)}END",
    "CREATE TRIGGER polls_counted_ai AFTER INSERT ON polls WHEN new.feed_id IS NOT NULL BEGIN\n"
    "  INSERT INTO feed_counts (feed_id, polls, failed_polls) VALUES (new.feed_id, 1, new.outcome IS 'error') "
    "ON CONFLICT (feed_id) DO UPDATE SET polls = polls + 1, failed_polls = failed_polls + excluded.failed_polls;\n"
    "END",
    "CREATE TRIGGER polls_counted_ad AFTER DELETE ON polls WHEN old.feed_id IS NOT NULL BEGIN\n"
    "  UPDATE feed_counts SET polls = polls - 1, failed_polls = failed_polls - (old.outcome IS 'error') "
    "WHERE feed_id = old.feed_id;\nEND",
    "CREATE TRIGGER polls_counted_au AFTER UPDATE OF feed_id, outcome ON polls "
    "WHEN old.feed_id IS NOT new.feed_id OR old.outcome IS NOT new.outcome BEGIN\n"
    "  UPDATE feed_counts SET polls = polls - 1, failed_polls = failed_polls - (old.outcome IS 'error') "
    "WHERE feed_id = old.feed_id;\n"
    "  INSERT INTO feed_counts (feed_id, polls, failed_polls) SELECT new.feed_id, 1, new.outcome IS 'error' "
    "WHERE new.feed_id IS NOT NULL "
    "ON CONFLICT (feed_id) DO UPDATE SET polls = polls + 1, failed_polls = failed_polls + excluded.failed_polls;\n"
    "END",
)

#: The counts as the rows give them (the migration's one pass over each table, and what the tests
#: compare the kept counts with): ``feed_counts`` from the entries, then the polls.
_COUNTS_FROM_ENTRIES = (
    f"SELECT feed_id, COUNT(DISTINCT article_id) AS articles, "
    f"{', '.join(f'SUM({sql})' for sql in _counted_flags('entries'))} FROM entries GROUP BY feed_id"
)
_COUNTS_FROM_POLLS = (
    "SELECT feed_id, COUNT(*) AS polls, SUM(outcome IS 'error') AS failed_polls FROM polls "
    "WHERE feed_id IS NOT NULL GROUP BY feed_id"
)
_COUNTS_ITEMS = "SELECT article_id, COUNT(*) AS items FROM entries WHERE article_id IS NOT NULL GROUP BY article_id"

COUNTS_FILL = (
    f"INSERT INTO feed_counts (feed_id, articles, {', '.join(_COUNTED_FLAGS)}) {_COUNTS_FROM_ENTRIES}",
    f"INSERT INTO feed_counts (feed_id, polls, failed_polls) {_COUNTS_FROM_POLLS} "
    "ON CONFLICT (feed_id) DO UPDATE SET polls = excluded.polls, failed_polls = excluded.failed_polls",
    "INSERT INTO article_counts (article_id, items, published) "
    f"SELECT n.article_id, n.items, a.published FROM ({_COUNTS_ITEMS}) n LEFT JOIN articles a ON a.id = n.article_id",
)


def _migration_12(db: sqlite_utils.Database) -> None:
    """Counts kept by the store (above): per feed (``feed_counts``) and per article
    (``article_counts``), kept exact by triggers on ``entries``, ``polls`` and ``articles``, filled
    here from the rows in one pass each (37 s on a million articles)."""
    for sql in (*COUNTS_SCHEMA, *COUNTS_FILL):
        db.execute(sql)


#: Schema migrations, applied in order.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
    _migration_11,
    _migration_12,
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database, location: str) -> None:
    """Apply the missing migrations. The version is read again inside each transaction; an
    up-to-date database takes no write lock at all (readers open it while a writer holds one)."""
    conn = db.conn
    if schema_version(conn) == SCHEMA_VERSION:
        return
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{location}: schema version {version} is newer than this aggregator ({SCHEMA_VERSION})"
                )
            if version == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            MIGRATIONS[version](db)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise
