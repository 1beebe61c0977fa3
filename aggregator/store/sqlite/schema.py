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


#: Schema migrations, applied in order.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1, _migration_2, _migration_3)
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
