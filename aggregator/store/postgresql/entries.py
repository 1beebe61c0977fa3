"""Feed entries: each item a feed showed, its page's state (pending, archived, failed, abandoned),
its attempts and last error, and the article it links to; and the alias table that decides which
article a URL is."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from aggregator.store.postgresql.connection import Connection, Session, insert
from aggregator.store.records import EntryWork, iso, utc_now


def article_for_url(session: Session, url: str) -> str | None:
    """The article reached by ``url`` (its canonical URL or any alias), on ``session``."""
    value = session.value(
        "SELECT article_id FROM article_urls WHERE url = %s UNION ALL SELECT id FROM articles WHERE url = %s LIMIT 1",
        [url, url],
    )
    return str(value) if value is not None else None


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
        with self._write() as session:
            for entry in entries:
                known = session.one(
                    "SELECT feed_updated, article_id FROM entries WHERE feed_id = %s AND key = %s",
                    [feed_id, entry["key"]],
                )
                if known is not None:
                    updated = entry.get("feed_updated")
                    if updated and updated != known["feed_updated"]:
                        # the feed says the story changed: its article is revisited at once (when it
                        # is archived; a first ``updated`` is only noted)
                        session.run(
                            "UPDATE entries SET feed_updated = %s WHERE feed_id = %s AND key = %s",
                            [updated, feed_id, entry["key"]],
                        )
                        if known["feed_updated"] is not None and known["article_id"] is not None:
                            session.run(
                                "UPDATE articles SET next_revisit_at = %s WHERE id = %s AND revisit_step IS NOT NULL",
                                [now, known["article_id"]],
                            )
                    continue
                article_id = article_for_url(session, entry["url"]) if entry.get("url") else None
                status = "archived" if article_id else entry.get("status", "pending")
                row = {**entry, "feed_id": feed_id, "first_seen": now, "attempts": 0, "status": status}
                # another writer adding the same entry meanwhile: it is theirs, and not counted here
                if not insert(
                    session, "entries", {**row, "article_id": article_id}, "ON CONFLICT DO NOTHING RETURNING 1"
                ):
                    continue
                added += 1
                linked += article_id is not None
                # only a new item can be newer than every item seen before
                newest = max(newest or "", _utc(entry.get("feed_published")) or now or "")
            if newest:
                session.run(
                    "UPDATE feeds SET newest_item_at = %s "
                    "WHERE id = %s AND (newest_item_at IS NULL OR newest_item_at < %s)",
                    [newest, feed_id, newest],
                )
        return added, linked

    def known_entries(self, feed_id: str, keys: Iterable[str]) -> dict[str, str | None]:
        rows = self._rows(
            "SELECT key, feed_updated FROM entries WHERE feed_id = %s AND key = ANY(%s)", [feed_id, list(keys)]
        )
        return {row["key"]: row["feed_updated"] for row in rows}

    def article_for_url(self, url: str) -> str | None:
        return article_for_url(self.reader, url)

    def link_entry(self, feed_id: str, key: str, article_id: str) -> None:
        with self._write() as session:
            session.run(
                "UPDATE entries SET status = 'archived', article_id = %s, last_error_reason = NULL, "
                "last_error = NULL WHERE feed_id = %s AND key = %s",
                [article_id, feed_id, key],
            )

    def entries_to_fetch(self, feed_id: str, max_attempts: int, now: datetime | None = None) -> list[EntryWork]:
        rows = self._rows(
            "SELECT feed_id, key, link, url, feed_published, first_seen, attempts FROM entries "
            "WHERE feed_id = %s AND status IN ('pending', 'failed') AND origin IS NULL AND attempts < %s "
            "AND link IS NOT NULL "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= %s) ORDER BY first_seen, rowid",
            [feed_id, max_attempts, iso(now or utc_now())],
        )
        return [EntryWork(**row) for row in rows]

    def entry_failed(
        self, feed_id: str, key: str, *, reason: str, error: str, max_attempts: int, retry_at: datetime | None = None
    ) -> str:
        now = iso(utc_now())
        with self._write() as session:
            status = session.value(
                "UPDATE entries SET attempts = attempts + 1, last_attempt_at = %s, last_error_reason = %s, "
                "last_error = %s, next_attempt_at = %s, "
                "status = CASE WHEN attempts + 1 >= %s THEN 'abandoned' ELSE 'failed' END "
                "WHERE feed_id = %s AND key = %s RETURNING status",
                [now, reason, error, iso(retry_at), max_attempts, feed_id, key],
            )
        return str(status) if status is not None else "failed"
