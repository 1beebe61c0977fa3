"""Feed entries: each item a feed showed, its page's state (pending, archived, failed, abandoned),
its attempts and last error, and the article it links to; and the alias table that decides which
article a URL is."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from aggregator.errors import StoreError
from aggregator.store.records import EntryWork, iso, utc_now
from aggregator.store.sqlite.connection import Connection


def article_for_url(conn: sqlite3.Connection, url: str) -> str | None:
    """The article reached by ``url`` (its canonical URL or any alias), on ``conn``."""
    row = conn.execute(
        "SELECT article_id FROM article_urls WHERE url = ? UNION ALL SELECT id FROM articles WHERE url = ? LIMIT 1",
        [url, url],
    ).fetchone()
    return row[0] if row else None


def _utc(published: Any) -> str | None:
    """A feed date as the feeds table compares them: UTC, ISO 8601, whole seconds."""
    if not published:
        return None
    try:
        return iso(datetime.fromisoformat(str(published)))
    except ValueError:
        return None


class EntryRows(Connection):
    def add_entries(self, feed_id: str, entries: Iterable[dict[str, Any]]) -> tuple[int, int]:
        now = iso(utc_now())
        added = linked = 0
        newest = None
        with self._write() as conn:
            for entry in entries:
                known = conn.execute(
                    "SELECT feed_updated, article_id FROM entries WHERE feed_id = ? AND key = ?",
                    [feed_id, entry["key"]],
                ).fetchone()
                if known is not None:
                    updated = entry.get("feed_updated")
                    if updated and updated != known[0]:
                        # the feed says the story changed: its article is revisited at once (when it
                        # is archived; a first ``updated`` is only noted)
                        conn.execute(
                            "UPDATE entries SET feed_updated = ? WHERE feed_id = ? AND key = ?",
                            [updated, feed_id, entry["key"]],
                        )
                        if known[0] is not None and known[1] is not None:
                            conn.execute(
                                "UPDATE articles SET next_revisit_at = ? WHERE id = ? AND revisit_step IS NOT NULL",
                                [now, known[1]],
                            )
                    continue
                article_id = article_for_url(conn, entry["url"]) if entry.get("url") else None
                status = "archived" if article_id else entry.get("status", "pending")
                self._insert(
                    "entries",
                    {
                        **entry,
                        "feed_id": feed_id,
                        "first_seen": now,
                        "attempts": 0,
                        "status": status,
                        "article_id": article_id,
                    },
                )
                added += 1
                linked += article_id is not None
                # only a new item can be newer than every item seen before
                newest = max(newest or "", _utc(entry.get("feed_published")) or now or "")
            if newest:
                conn.execute(
                    "UPDATE feeds SET newest_item_at = ? "
                    "WHERE id = ? AND (newest_item_at IS NULL OR newest_item_at < ?)",
                    [newest, feed_id, newest],
                )
        return added, linked

    def known_entries(self, feed_id: str, keys: Iterable[str]) -> dict[str, str | None]:
        wanted = list(keys)
        known: dict[str, str | None] = {}
        try:
            for at in range(0, len(wanted), 500):
                chunk = wanted[at : at + 500]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT key, feed_updated FROM entries WHERE feed_id = ? AND key IN ({marks})"
                known.update(self.reader.execute(sql, [feed_id, *chunk]).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: query failed: {exc}") from None
        return known

    def article_for_url(self, url: str) -> str | None:
        try:
            return article_for_url(self.reader, url)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: query failed: {exc}") from None

    def link_entry(self, feed_id: str, key: str, article_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE entries SET status = 'archived', article_id = ?, last_error_reason = NULL, "
                "last_error = NULL WHERE feed_id = ? AND key = ?",
                [article_id, feed_id, key],
            )

    def entries_to_fetch(self, feed_id: str, max_attempts: int, now: datetime | None = None) -> list[EntryWork]:
        rows = self._rows(
            "SELECT feed_id, key, link, url, feed_published, first_seen, attempts FROM entries "
            "WHERE feed_id = ? AND status IN ('pending', 'failed') AND origin IS NULL AND attempts < ? "
            "AND link IS NOT NULL "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY first_seen, rowid",
            [feed_id, max_attempts, iso(now or utc_now())],
        )
        return [EntryWork(**row) for row in rows]

    def entry_failed(
        self, feed_id: str, key: str, *, reason: str, error: str, max_attempts: int, retry_at: datetime | None = None
    ) -> str:
        now = iso(utc_now())
        with self._write() as conn:
            conn.execute(
                "UPDATE entries SET attempts = attempts + 1, last_attempt_at = ?, last_error_reason = ?, "
                "last_error = ?, next_attempt_at = ?, "
                "status = CASE WHEN attempts + 1 >= ? THEN 'abandoned' ELSE 'failed' END "
                "WHERE feed_id = ? AND key = ?",
                [now, reason, error, iso(retry_at), max_attempts, feed_id, key],
            )
            row = conn.execute("SELECT status FROM entries WHERE feed_id = ? AND key = ?", [feed_id, key]).fetchone()
        return str(row[0]) if row else "failed"
