"""The feeds table and the poll log: configuration synced in, each poll's outcome and next time."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aggregator.errors import StoreError
from aggregator.models import FeedResult, FeedSpec
from aggregator.store.records import FeedState, PollRecord, feed_after_poll, iso, poll_row, utc_now
from aggregator.store.sqlite.connection import Connection

_CONFIGURED = ("url", "source", "timezone", "profile", "interval", "enabled")


class FeedRows(Connection):
    def sync_feeds(self, feeds: Iterable[FeedSpec]) -> None:
        now = iso(utc_now())
        with self._write() as conn:
            stored = {
                r[0]: r[1:]
                for r in conn.execute(f"SELECT id, previous_urls, {', '.join(_CONFIGURED)} FROM feeds").fetchall()
            }
            for feed in feeds:
                row: dict[str, Any] = {
                    "url": feed.url,
                    "source": feed.source,
                    "timezone": feed.timezone,
                    "profile": feed.profile,
                    "interval": feed.interval,
                    "enabled": int(feed.enabled),
                }
                existing = stored.get(feed.id)
                if existing is None:
                    self._insert("feeds", {"id": feed.id, **row, "created_at": now, "status": "new", "error_count": 0})
                    stored[feed.id] = (None, *row.values())
                    continue
                old_url, previous = existing[1], json.loads(existing[0] or "[]")
                if feed.url in previous:
                    row["url"] = old_url  # feeds.yaml still names a URL the feed was redirected away from
                elif old_url != feed.url:  # a new URL: validators and health start afresh
                    row.update(
                        etag=None,
                        last_modified=None,
                        body_digest=None,
                        status="new",
                        error_count=0,
                        next_poll_at=None,
                        redirect_url=None,
                        redirect_count=0,
                    )
                if tuple(row.values()) != existing[1:]:  # an unchanged feed costs no write
                    self._update("feeds", feed.id, row)

    def retire_feeds(self, configured: Iterable[str]) -> list[str]:
        keep = set(configured)
        with self._write() as conn:
            stale = [
                row[0]
                for row in conn.execute("SELECT id FROM feeds WHERE enabled = 1 OR next_poll_at IS NOT NULL")
                if row[0] not in keep
            ]
            for feed_id in stale:
                conn.execute("UPDATE feeds SET enabled = 0, next_poll_at = NULL WHERE id = ?", [feed_id])
        return stale

    def due_feeds(self, now: datetime, feed_ids: Iterable[str]) -> list[tuple[str, datetime | None]]:
        ids = list(feed_ids)
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        rows = self._rows(
            f"SELECT id, next_poll_at FROM feeds WHERE id IN ({marks}) AND enabled = 1 AND status != 'gone' "
            "AND (next_poll_at IS NULL OR next_poll_at <= ?) ORDER BY next_poll_at IS NOT NULL, next_poll_at",
            [*ids, iso(now)],
        )
        return [
            (row["id"], datetime.fromisoformat(row["next_poll_at"]) if row["next_poll_at"] else None) for row in rows
        ]

    def feed_state(self, feed_id: str) -> FeedState:
        rows = self._rows(
            "SELECT id, url, etag, last_modified, status, error_count, redirect_url, redirect_count, newest_item_at, "
            "body_digest, body_ttl, "
            "EXISTS (SELECT 1 FROM entries e WHERE e.feed_id = feeds.id AND e.status IN ('pending', 'failed') "
            "AND e.origin IS NULL) "
            "AS unfinished FROM feeds WHERE id = ?",
            [feed_id],
        )
        if not rows:
            raise StoreError(f"{self.path}: feed '{feed_id}' is not in the database")
        return FeedState(**{**rows[0], "unfinished": bool(rows[0]["unfinished"])})

    def record_poll(self, result: FeedResult, record: PollRecord, *, started_at: datetime, duration_ms: int) -> None:
        finished = iso(datetime.now(UTC))
        with self._write() as conn:
            self._insert("polls", poll_row(result, started_at, finished, duration_ms))
            if not result.ok:
                conn.execute("UPDATE feeds SET error_count = error_count + 1 WHERE id = ?", [result.feed_id])
            current = None
            if record.adopt_url:
                current = conn.execute("SELECT url, previous_urls FROM feeds WHERE id = ?", [result.feed_id]).fetchone()
            update = feed_after_poll(result, record, finished, current)
            self._update("feeds", result.feed_id, update)

    def feed_overview(self) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT f.id, f.url, f.source, f.enabled, f.status, f.last_polled_at, f.last_success_at, "
            "f.last_http_status, f.last_error_reason, f.last_error, f.error_count, f.next_poll_at, "
            "f.previous_urls, "
            # the counts the store keeps (schema version 12, store/sqlite/counts.py): a row per feed,
            # not its entries counted (1.9 s for the command on a million articles)
            "COALESCE(c.articles, 0) AS articles, COALESCE(c.failing, 0) AS failing, "
            "COALESCE(c.abandoned, 0) AS abandoned, COALESCE(c.backfill_queued, 0) AS backfill_queued, "
            "(SELECT COUNT(*) FROM gaps g WHERE g.feed_id = f.id AND g.status != 'filled') AS open_gaps "
            "FROM feeds f LEFT JOIN feed_counts c ON c.feed_id = f.id ORDER BY f.id"
        )
