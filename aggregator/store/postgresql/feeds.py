"""The feeds table and the poll log: configuration synced in, each poll's outcome and next time."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aggregator.errors import StoreError
from aggregator.models import FeedResult, FeedSpec
from aggregator.store.postgresql.connection import Connection, insert, update
from aggregator.store.postgresql.schema import FEED_SYNC_LOCK
from aggregator.store.records import FeedState, PollRecord, feed_after_poll, iso, poll_row, utc_now

_CONFIGURED = ("url", "source", "timezone", "profile", "interval", "enabled")


class FeedRows(Connection):
    def sync_feeds(self, feeds: Iterable[FeedSpec]) -> None:
        now = iso(utc_now())
        with self._write() as session:
            # one sync at a time (a worker starting beside another): each sees the other's feeds
            session.value("SELECT pg_advisory_xact_lock(%s)", [FEED_SYNC_LOCK])
            stored = {
                r["id"]: r for r in session.rows(f"SELECT id, previous_urls, {', '.join(_CONFIGURED)} FROM feeds")
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
                    insert(
                        session, "feeds", {"id": feed.id, **row, "created_at": now, "status": "new", "error_count": 0}
                    )
                    stored[feed.id] = {"id": feed.id, "previous_urls": None, **row}
                    continue
                old_url, previous = existing["url"], json.loads(existing["previous_urls"] or "[]")
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
                if any(existing.get(k, object()) != v for k, v in row.items()):  # an unchanged feed costs no write
                    update(session, "feeds", feed.id, row)

    def retire_feeds(self, configured: Iterable[str]) -> list[str]:
        with self._write() as session:
            rows = session.rows(
                "UPDATE feeds SET enabled = 0, next_poll_at = NULL "
                "WHERE (enabled = 1 OR next_poll_at IS NOT NULL) AND NOT (id = ANY(%s)) RETURNING id",
                [list(configured)],
            )
        return sorted(row["id"] for row in rows)

    def due_feeds(self, now: datetime, feed_ids: Iterable[str]) -> list[tuple[str, datetime | None]]:
        ids = list(feed_ids)
        if not ids:
            return []
        rows = self._rows(
            "SELECT id, next_poll_at FROM feeds WHERE id = ANY(%s) AND enabled = 1 AND status != 'gone' "
            "AND (next_poll_at IS NULL OR next_poll_at <= %s) ORDER BY next_poll_at IS NOT NULL, next_poll_at",
            [ids, iso(now)],
        )
        return [
            (row["id"], datetime.fromisoformat(row["next_poll_at"]) if row["next_poll_at"] else None) for row in rows
        ]

    def feed_state(self, feed_id: str) -> FeedState:
        row = self.reader.one(
            "SELECT id, url, etag, last_modified, status, error_count, redirect_url, redirect_count, newest_item_at, "
            "body_digest, body_ttl, "
            "EXISTS (SELECT 1 FROM entries e WHERE e.feed_id = feeds.id AND e.status IN ('pending', 'failed') "
            "AND e.origin IS NULL) AS unfinished FROM feeds WHERE id = %s",
            [feed_id],
        )
        if row is None:
            raise StoreError(f"{self.location}: feed '{feed_id}' is not in the database")
        return FeedState(**{**row, "unfinished": bool(row["unfinished"])})

    def record_poll(self, result: FeedResult, record: PollRecord, *, started_at: datetime, duration_ms: int) -> None:
        finished = iso(datetime.now(UTC))
        with self._write() as session:
            insert(session, "polls", poll_row(result, started_at, finished, duration_ms))
            old = session.one("SELECT url, previous_urls FROM feeds WHERE id = %s FOR UPDATE", [result.feed_id])
            if old is None:
                raise StoreError(f"{self.location}: feeds: no row with id {result.feed_id!r}")
            if not result.ok:
                session.run("UPDATE feeds SET error_count = error_count + 1 WHERE id = %s", [result.feed_id])
            values = feed_after_poll(result, record, finished, (old["url"], old["previous_urls"]))
            update(session, "feeds", result.feed_id, values)

    def feed_overview(self) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT f.id, f.url, f.source, f.enabled, f.status, f.last_polled_at, f.last_success_at, "
            "f.last_http_status, f.last_error_reason, f.last_error, f.error_count, f.next_poll_at, "
            "f.previous_urls, "
            # the counts the store keeps (schema version 4, postgresql/counts.py): a row per feed
            "COALESCE(c.articles, 0) AS articles, COALESCE(c.failing, 0) AS failing, "
            "COALESCE(c.abandoned, 0) AS abandoned, COALESCE(c.backfill_queued, 0) AS backfill_queued, "
            "(SELECT COUNT(*) FROM gaps g WHERE g.feed_id = f.id AND g.status != 'filled') AS open_gaps "
            "FROM feeds f LEFT JOIN feed_counts c ON c.feed_id = f.id ORDER BY f.id"
        )
