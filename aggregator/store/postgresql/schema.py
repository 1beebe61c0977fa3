"""The PostgreSQL schema: versioned migrations applied on open, the version in ``schema_version``.

All the missing migrations run in one transaction holding ``pg_advisory_xact_lock(MIGRATION_LOCK)``,
so several workers opening a new database at once apply each exactly once (the others wait, then
find it done).

Version 1 is SQLite's version 9 whole, version 2 its 10: the same tables, columns and meaning; version
3 adds what only PostgreSQL has, the change tracking of ``export --format sqlite``; version 4 is
SQLite's 12, the counts the store keeps; version 5 (PostgreSQL only) makes keeping them cheaper.
Two decisions:

- Timestamps stay ISO 8601 UTC text (``2026-12-03T10:00:00+00:00``), exactly as SQLite keeps
  them: the code compares them as text (a due time, a claim's lease) and the read side shows them
  as stored, so both backends behave the same to the character. Typed columns would be nicer in
  psql, but identical behaviour matters more here.
- Search is a generated ``tsvector`` column (title weight A, body B, the ``english``
  configuration: a Porter stemmer like SQLite's ``porter`` tokenizer) with a GIN index, on the
  articles and on their earlier versions; a generated column cannot drift from its text.

SQLite's ``rowid`` (the order rows were added in) is an identity column ``rowid`` here, on the
tables whose order the interface promises. The ``pages`` table of archives older than WARC is
not created: a new archive has no page to move, and SQLite drops it at once too.
"""

from __future__ import annotations

from aggregator.errors import StoreError
from aggregator.store.postgresql.connection import Session

#: The advisory lock held while migrating (any constant no other code of ours takes).
MIGRATION_LOCK = 0x61676772_00000001
#: Namespaces of the two-key advisory locks the writers take (the second key: a hash of the name).
URL_LOCKS, FOLDER_LOCKS, FEED_SYNC_LOCK = 0x6167_0001, 0x6167_0002, 0x6167_0003

_SEARCHABLE = (
    "fts tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'B')) STORED"
)

#: The columns of ``articles`` as SQLite has them, in its order (``article()`` returns these).
ARTICLE_TABLE_COLUMNS = (
    "id",
    "url",
    "title",
    "published",
    "published_via",
    "day",
    "source",
    "feed_id",
    "body",
    "document",
    "extractor",
    "fetched_at",
    "folder",
    "seq",
    "path",
    "text_written_at",
    "date_flag",
    "fetched_via",
    "capture_time",
    "version",
    "status",
    "revisit_attempts",
    "changed_at",
    "removed_at",
    "revisit_step",
    "next_revisit_at",
    "etag",
    "last_modified",
    "teaser",
)

_VERSION_1 = (
    """CREATE TABLE feeds (
        id TEXT PRIMARY KEY, url TEXT NOT NULL, source TEXT NOT NULL, timezone TEXT, profile TEXT,
        interval BIGINT, enabled INTEGER DEFAULT 1, etag TEXT, last_modified TEXT, status TEXT DEFAULT 'new',
        last_polled_at TEXT, last_success_at TEXT, last_http_status INTEGER, last_error_reason TEXT,
        last_error TEXT, error_count INTEGER DEFAULT 0, next_poll_at TEXT, server_min_interval BIGINT,
        redirect_url TEXT, redirect_count INTEGER DEFAULT 0, previous_urls TEXT, created_at TEXT,
        newest_item_at TEXT, body_digest TEXT, body_ttl BIGINT, claimed_by TEXT, claim_until TEXT)""",
    f"""CREATE TABLE articles (
        rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        id TEXT PRIMARY KEY, url TEXT NOT NULL UNIQUE, title TEXT NOT NULL, published TEXT NOT NULL,
        published_via TEXT, day TEXT, source TEXT NOT NULL, feed_id TEXT, body TEXT NOT NULL,
        document TEXT NOT NULL, extractor TEXT, fetched_at TEXT, folder TEXT NOT NULL, seq BIGINT NOT NULL,
        path TEXT NOT NULL UNIQUE, text_written_at TEXT, date_flag TEXT, fetched_via TEXT NOT NULL DEFAULT 'live',
        capture_time TEXT, version INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL DEFAULT 'live',
        revisit_attempts INTEGER NOT NULL DEFAULT 0, changed_at TEXT, removed_at TEXT, revisit_step INTEGER,
        next_revisit_at TEXT, etag TEXT, last_modified TEXT,
        {_SEARCHABLE},
        UNIQUE (folder, seq))""",
    "CREATE INDEX idx_articles_fts ON articles USING GIN (fts)",
    "CREATE INDEX idx_articles_published ON articles (published)",
    "CREATE INDEX idx_articles_source_published ON articles (source, published)",
    "CREATE INDEX idx_articles_source_day ON articles (lower(source), day)",
    "CREATE INDEX idx_articles_day_source ON articles (day DESC, source)",
    "CREATE INDEX idx_articles_feed_id ON articles (feed_id)",
    "CREATE INDEX idx_articles_extractor ON articles (extractor, feed_id)",
    "CREATE INDEX idx_articles_edited ON articles (changed_at) WHERE version > 1",
    "CREATE INDEX idx_articles_removed ON articles (removed_at) WHERE status = 'removed'",
    "CREATE INDEX idx_articles_next_revisit_at ON articles (next_revisit_at)",
    "CREATE INDEX idx_articles_unscheduled ON articles (rowid) WHERE revisit_step IS NULL",
    "CREATE INDEX idx_articles_unwritten ON articles (rowid) WHERE text_written_at IS NULL",
    """CREATE TABLE article_urls (
        url TEXT PRIMARY KEY, article_id TEXT REFERENCES articles (id), first_seen TEXT)""",
    "CREATE INDEX idx_article_urls_article_id ON article_urls (article_id)",
    """CREATE TABLE entries (
        rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        feed_id TEXT NOT NULL REFERENCES feeds (id), key TEXT NOT NULL, link TEXT, url TEXT, title TEXT,
        feed_published TEXT, status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER DEFAULT 0,
        last_error_reason TEXT, last_error TEXT, article_id TEXT REFERENCES articles (id),
        first_seen TEXT NOT NULL, last_attempt_at TEXT, next_attempt_at TEXT, origin TEXT, job_id BIGINT,
        capture TEXT, lastmod TEXT, feed_updated TEXT,
        PRIMARY KEY (feed_id, key))""",
    "CREATE INDEX idx_entries_feed_id_status_origin ON entries (feed_id, status, origin)",
    "CREATE INDEX idx_entries_url ON entries (url)",
    "CREATE INDEX idx_entries_status_next_attempt_at ON entries (status, next_attempt_at)",
    "CREATE INDEX idx_entries_job_id_status ON entries (job_id, status)",
    "CREATE INDEX idx_entries_article_id ON entries (article_id)",
    "CREATE INDEX idx_entries_feed_id_article_id ON entries (feed_id, article_id)",
    "CREATE INDEX idx_entries_first_seen ON entries (first_seen)",
    """CREATE TABLE polls (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, feed_id TEXT REFERENCES feeds (id),
        started_at TEXT, finished_at TEXT, duration_ms BIGINT, outcome TEXT, http_status INTEGER,
        entries INTEGER, new_articles INTEGER, duplicates INTEGER, failed INTEGER, error_reason TEXT, error TEXT)""",
    "CREATE INDEX idx_polls_feed_id_started_at ON polls (feed_id, started_at)",
    "CREATE INDEX idx_polls_started_at ON polls (started_at)",
    """CREATE TABLE backfill_jobs (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, feed_id TEXT NOT NULL REFERENCES feeds (id),
        since TEXT, until TEXT, origin TEXT NOT NULL, gap_id BIGINT, status TEXT NOT NULL,
        found INTEGER DEFAULT 0, queued INTEGER DEFAULT 0, created_at TEXT, enumerated_at TEXT)""",
    "CREATE INDEX idx_backfill_jobs_status ON backfill_jobs (status)",
    """CREATE TABLE backfill_sources (
        job_id BIGINT REFERENCES backfill_jobs (id), source TEXT, found INTEGER, queued INTEGER, done_at TEXT,
        PRIMARY KEY (job_id, source))""",
    """CREATE TABLE gaps (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, feed_id TEXT NOT NULL REFERENCES feeds (id),
        gap_from TEXT, gap_to TEXT, detected_at TEXT NOT NULL, status TEXT NOT NULL, job_id BIGINT,
        queued INTEGER, filled_at TEXT)""",
    "CREATE INDEX idx_gaps_feed_id_status ON gaps (feed_id, status)",
    """CREATE VIEW holes AS
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
    WHERE g.status != 'filled'""",
    """CREATE TABLE captures (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, kind TEXT NOT NULL,
        article_id TEXT REFERENCES articles (id), feed_id TEXT REFERENCES feeds (id), url TEXT NOT NULL,
        record_type TEXT NOT NULL, status INTEGER, digest TEXT NOT NULL, content_type TEXT,
        captured_at TEXT NOT NULL, warc_file TEXT NOT NULL, warc_offset BIGINT NOT NULL,
        warc_length BIGINT NOT NULL, UNIQUE (warc_file, warc_offset))""",
    "CREATE INDEX idx_captures_article_id_id ON captures (article_id, id)",
    "CREATE INDEX idx_captures_feed_id_kind_id ON captures (feed_id, kind, id)",
    f"""CREATE TABLE article_versions (
        article_id TEXT NOT NULL REFERENCES articles (id), version INTEGER NOT NULL, seen_at TEXT NOT NULL,
        title TEXT NOT NULL, body TEXT NOT NULL, document TEXT NOT NULL, extractor TEXT, published TEXT,
        path TEXT NOT NULL, capture_id BIGINT REFERENCES captures (id),
        {_SEARCHABLE},
        PRIMARY KEY (article_id, version))""",
    "CREATE INDEX idx_article_versions_fts ON article_versions USING GIN (fts)",
    """CREATE TABLE article_events (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles (id),
        at TEXT NOT NULL, kind TEXT NOT NULL, version INTEGER, detail TEXT,
        capture_id BIGINT REFERENCES captures (id))""",
    "CREATE INDEX idx_article_events_article_id_id ON article_events (article_id, id)",
    "CREATE INDEX idx_article_events_kind_at ON article_events (kind, at)",
    """CREATE TABLE workers (
        id TEXT PRIMARY KEY, host TEXT NOT NULL, pid BIGINT NOT NULL, started_at TEXT NOT NULL,
        beat_at TEXT NOT NULL, expires_at TEXT NOT NULL, metrics TEXT)""",
    "CREATE INDEX idx_feeds_claimed_by ON feeds (claimed_by) WHERE claimed_by IS NOT NULL",
)


def _binary(statements: tuple[str, ...]) -> tuple[str, ...]:
    """Every text column compares byte by byte (SQLite's BINARY), whatever the database's locale:
    timestamps, ids and paths sort and compare as the SQLite backend sorts and compares them."""
    return tuple(
        sql.replace(" TEXT", ' TEXT COLLATE "C"') if sql.startswith("CREATE TABLE") else sql for sql in statements
    )


#: SQLite's version 10: ``articles.teaser``, 1 for a paywalled page archived as its public teaser.
_VERSION_2 = (
    "ALTER TABLE articles ADD COLUMN teaser INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX idx_articles_teaser ON articles (day) WHERE teaser = 1",
)

#: The tables an SQLite export copies (``store.tables.COPIED``), whose changes version 3 tracks.
TRACKED = (
    "feeds",
    "articles",
    "article_urls",
    "captures",
    "article_versions",
    "article_events",
    "entries",
    "polls",
    "backfill_jobs",
    "backfill_sources",
    "gaps",
)

#: Version 3 (PostgreSQL only: SQLite's schema does not change): ``changed_xid``, the transaction
#: that last inserted or updated the row, set by a trigger, so that ``export --format sqlite`` can
#: copy only the rows changed since its last run. A transaction the last export's snapshot did not
#: see has an id at least that snapshot's xmin, so ``changed_xid >= xmin`` misses none. Rows older
#: than this version have 0 (a constant default: no table is rewritten); every export's snapshot is
#: taken after this version committed, so each saw them.
_VERSION_3 = (
    "CREATE FUNCTION aggregator_row_changed() RETURNS trigger LANGUAGE plpgsql AS "
    "'BEGIN NEW.changed_xid := pg_current_xact_id(); RETURN NEW; END'",
    *(
        sql
        for table in TRACKED
        for sql in (
            f"ALTER TABLE {table} ADD COLUMN changed_xid xid8 NOT NULL DEFAULT '0'",
            f"CREATE INDEX idx_{table}_changed_xid ON {table} (changed_xid)",
            f"CREATE TRIGGER {table}_changed BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION aggregator_row_changed()",
        )
    ),
)

# Version 4, SQLite's 12 (``store/sqlite/schema.py``): counts the store keeps itself. ``feed_counts``
# (per feed: its distinct articles, failed and abandoned entries, backfill entries still to fetch,
# polls and failed polls) and ``article_counts`` (per article: how many entries point at it and its
# publication time, the duplicates on a partial index in the order they are listed).
#
# PostgreSQL runs a row trigger at the end of its statement, when every row of the statement has
# changed: a row-by-row "is this the feed's first entry of that article?" would be wrong for a
# statement changing several entries of one feed. So the entries' triggers are per statement, over
# the rows it changed (transition tables): each (feed, article) pair touched counts in or out by
# how many entries point at it now against how many did before the statement. Before counting, the
# statement locks the ``feed_counts`` rows of the feeds it touches (in feed order): two transactions
# writing entries of one feed count its articles one after the other, the second seeing the first's
# committed rows (READ COMMITTED: each statement of the function reads afresh). Polls only add and
# subtract, in any order: a row trigger each.

#: Counted per entry besides its article (SQL over an entry change ``d``, its ``sign`` +1 or -1).
_COUNTED_FLAGS = {
    "failing": "d.status = 'failed'",
    "abandoned": "d.status = 'abandoned'",
    "backfill_queued": "d.status IN ('pending', 'failed') AND d.origin IS NOT NULL",
}
_COUNTED_NAMES = ", ".join(_COUNTED_FLAGS)
_COUNTED_COLUMNS = "feed_id, article_id, status, origin"

_COUNTED_ANY = " OR ".join(("d.article_id IS NOT NULL", *_COUNTED_FLAGS.values()))

#: Plans made once per session: PostgreSQL would otherwise plan each statement of a trigger afresh
#: for every call (custom plans for an array parameter), most of what a counted statement cost.
_GENERIC_PLANS = "SET plan_cache_mode = force_generic_plan"

_COUNT_ENTRIES = f"""CREATE OR REPLACE FUNCTION aggregator_count_entries(changes aggregator_entry_change[]) RETURNS void
LANGUAGE plpgsql {_GENERIC_PLANS} AS $$
DECLARE
  counted text[];  -- the feeds whose counts the changes move, in order
  linked boolean;  -- a change names an article
  unlinked boolean;  -- a change takes an entry away from an article
  locked integer;
BEGIN
  SELECT array_agg(DISTINCT d.feed_id ORDER BY d.feed_id), bool_or(d.article_id IS NOT NULL),
      bool_or(d.article_id IS NOT NULL AND d.sign < 0)
    INTO counted, linked, unlinked FROM unnest(changes) d WHERE {_COUNTED_ANY};
  IF counted IS NULL THEN
    RETURN;  -- nothing counted moved (a pending entry added, say): no row is locked
  END IF;
  PERFORM 1 FROM feed_counts WHERE feed_id = ANY(counted) ORDER BY feed_id FOR UPDATE;
  GET DIAGNOSTICS locked = ROW_COUNT;
  IF locked < cardinality(counted) THEN
    INSERT INTO feed_counts (feed_id) SELECT unnest(counted) ORDER BY 1 ON CONFLICT DO NOTHING;
    PERFORM 1 FROM feed_counts WHERE feed_id = ANY(counted) ORDER BY feed_id FOR UPDATE;
  END IF;
  WITH d AS (SELECT * FROM unnest(changes)),
  pairs AS (
    SELECT d.feed_id, d.article_id, SUM(d.sign) AS net FROM d WHERE d.article_id IS NOT NULL
    GROUP BY d.feed_id, d.article_id),
  firsts AS (
    SELECT p.feed_id, SUM((n.now > 0)::int - (n.now - p.net > 0)::int) AS articles
    FROM pairs p CROSS JOIN LATERAL (
      SELECT COUNT(*) AS now FROM entries e WHERE e.feed_id = p.feed_id AND e.article_id = p.article_id) n
    GROUP BY p.feed_id),
  flags AS (
    SELECT d.feed_id, {", ".join(f"SUM(d.sign * ({sql})::int) AS {name}" for name, sql in _COUNTED_FLAGS.items())}
    FROM d WHERE d.feed_id = ANY(counted) GROUP BY d.feed_id)
  UPDATE feed_counts c SET articles = c.articles + COALESCE(f.articles, 0),
    {", ".join(f"{name} = c.{name} + g.{name}" for name in _COUNTED_FLAGS)}
  FROM flags g LEFT JOIN firsts f ON f.feed_id = g.feed_id
  WHERE c.feed_id = g.feed_id;
  IF NOT linked THEN
    RETURN;
  END IF;
  INSERT INTO article_counts (article_id, items, published)
    SELECT c.article_id, SUM(c.sign), (SELECT a.published FROM articles a WHERE a.id = c.article_id)
    FROM unnest(changes) c WHERE c.article_id IS NOT NULL
    GROUP BY c.article_id HAVING SUM(c.sign) <> 0 ORDER BY c.article_id
    ON CONFLICT (article_id) DO UPDATE SET items = article_counts.items + EXCLUDED.items;
  IF unlinked THEN
    DELETE FROM article_counts
      WHERE article_id IN (SELECT article_id FROM unnest(changes) WHERE article_id IS NOT NULL AND sign < 0)
        AND items <= 0;
  END IF;
END
$$"""


def _entry_changes(alias: str, sign: int, rows: str, where: str = "") -> str:
    """The entries of ``rows`` as changes (``alias``: the one whose columns are taken)."""
    columns = ", ".join(f"{alias}.{c}" for c in _COUNTED_COLUMNS.split(", "))
    return f"SELECT ROW({columns}, {sign})::aggregator_entry_change FROM {rows}{where}"


_ENTRY_BOTH = "old_rows o JOIN new_rows n USING (rowid)"
_ENTRY_MOVED = " WHERE ({}) IS DISTINCT FROM ({})".format(
    *(", ".join(f"{alias}.{c}" for c in _COUNTED_COLUMNS.split(", ")) for alias in "on")
)

_ENTRIES_COUNTED = f"""CREATE OR REPLACE FUNCTION aggregator_entries_counted() RETURNS trigger
LANGUAGE plpgsql {_GENERIC_PLANS} AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM aggregator_count_entries(ARRAY({_entry_changes("n", 1, "new_rows n")}));
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM aggregator_count_entries(ARRAY({_entry_changes("o", -1, "old_rows o")}));
  ELSE
    PERFORM aggregator_count_entries(ARRAY(
      {_entry_changes("o", -1, _ENTRY_BOTH, _ENTRY_MOVED)}
      UNION ALL
      {_entry_changes("n", 1, _ENTRY_BOTH, _ENTRY_MOVED)}));
  END IF;
  RETURN NULL;
END
$$"""

_ARTICLES_COUNTED = """CREATE FUNCTION aggregator_articles_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE article_counts SET published = NEW.published WHERE article_id = NEW.id;
  RETURN NULL;
END
$$"""

_POLLS_COUNTED = """CREATE FUNCTION aggregator_polls_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.feed_id IS NOT NULL THEN
    UPDATE feed_counts SET polls = polls - 1,
      failed_polls = failed_polls - (OLD.outcome IS NOT DISTINCT FROM 'error')::int WHERE feed_id = OLD.feed_id;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.feed_id IS NOT NULL THEN
    INSERT INTO feed_counts (feed_id, polls, failed_polls)
      VALUES (NEW.feed_id, 1, (NEW.outcome IS NOT DISTINCT FROM 'error')::int)
      ON CONFLICT (feed_id) DO UPDATE SET polls = feed_counts.polls + 1,
        failed_polls = feed_counts.failed_polls + EXCLUDED.failed_polls;
  END IF;
  RETURN NULL;
END
$$"""

#: Version 4: the tables, their index, the triggers, then the counts from the rows (the triggers
#: first: they lock ``entries`` and ``polls`` against writers until the migration commits).
_VERSION_4 = (
    """CREATE TABLE feed_counts (
        feed_id TEXT COLLATE "C" PRIMARY KEY REFERENCES feeds (id) ON DELETE CASCADE,
        articles BIGINT NOT NULL DEFAULT 0, failing BIGINT NOT NULL DEFAULT 0, abandoned BIGINT NOT NULL DEFAULT 0,
        backfill_queued BIGINT NOT NULL DEFAULT 0, polls BIGINT NOT NULL DEFAULT 0,
        failed_polls BIGINT NOT NULL DEFAULT 0)""",
    'CREATE TABLE article_counts (article_id TEXT COLLATE "C" PRIMARY KEY, items BIGINT NOT NULL, '
    'published TEXT COLLATE "C")',
    "CREATE INDEX idx_article_counts_duplicates ON article_counts (items DESC, published DESC) WHERE items > 1",
    _ARTICLES_COUNTED,
    "CREATE TRIGGER articles_counted AFTER UPDATE OF published ON articles "
    "FOR EACH ROW WHEN (OLD.published IS DISTINCT FROM NEW.published) EXECUTE FUNCTION aggregator_articles_counted()",
    "CREATE TYPE aggregator_entry_change AS (feed_id TEXT, article_id TEXT, status TEXT, origin TEXT, sign INTEGER)",
    _COUNT_ENTRIES,
    _ENTRIES_COUNTED,
    *(
        f"CREATE TRIGGER entries_counted_{op[:3].lower()} AFTER {op} ON entries REFERENCING {tables} "
        "FOR EACH STATEMENT EXECUTE FUNCTION aggregator_entries_counted()"
        for op, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        )
    ),
    _POLLS_COUNTED,
    "CREATE TRIGGER polls_counted AFTER INSERT OR UPDATE OF feed_id, outcome OR DELETE ON polls "
    "FOR EACH ROW EXECUTE FUNCTION aggregator_polls_counted()",
    f"""INSERT INTO feed_counts (feed_id, articles, {_COUNTED_NAMES})
        SELECT d.feed_id, COUNT(DISTINCT d.article_id),
          {", ".join(f"COUNT(*) FILTER (WHERE {sql})" for sql in _COUNTED_FLAGS.values())}
        FROM entries d GROUP BY d.feed_id""",
    """INSERT INTO feed_counts (feed_id, polls, failed_polls)
        SELECT feed_id, COUNT(*), COUNT(*) FILTER (WHERE outcome = 'error') FROM polls
        WHERE feed_id IS NOT NULL GROUP BY feed_id
        ON CONFLICT (feed_id) DO UPDATE SET polls = EXCLUDED.polls, failed_polls = EXCLUDED.failed_polls""",
    """INSERT INTO article_counts (article_id, items, published)
        SELECT n.article_id, n.items, a.published FROM (
          SELECT article_id, COUNT(*) AS items FROM entries WHERE article_id IS NOT NULL GROUP BY article_id) n
        LEFT JOIN articles a ON a.id = n.article_id""",
)

# Version 5: the entries' count functions as they are now (version 4 creates them so too; an archive
# made before gets them here). Against version 4's: a change that moves no count returns at once,
# locking nothing; the steps for articles run only when a change names one; and each statement's
# plan is made once per session, not at every call.
_VERSION_5 = (_COUNT_ENTRIES, _ENTRIES_COUNTED)

#: Schema migrations, applied in order: each is its statements.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_binary(_VERSION_1), _VERSION_2, _VERSION_3, _VERSION_4, _VERSION_5)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(session: Session) -> int:
    if session.value("SELECT to_regclass('schema_version') IS NOT NULL AS present") is not True:
        return 0
    return int(session.value("SELECT COALESCE(MAX(version), 0) FROM schema_version") or 0)


def migrate(session: Session) -> None:
    """Apply the missing migrations; an up-to-date database takes no lock at all."""
    if schema_version(session) == SCHEMA_VERSION:
        return
    with session.transaction():
        session.value("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        session.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        version = schema_version(session)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{session.location}: schema version {version} is newer than this aggregator ({SCHEMA_VERSION})"
            )
        for statements in MIGRATIONS[version:]:
            for sql in statements:
                session.run(sql)
        if version < SCHEMA_VERSION:
            session.run("DELETE FROM schema_version")
            session.run("INSERT INTO schema_version (version) VALUES (%s)", [SCHEMA_VERSION])
