"""Backfill and gaps: the jobs that enumerate a feed's sitemaps and Wayback captures, the sources
each has read in full, the entries they queued, and the gaps found between polls.

A job is resumable: an unfinished job for the same feed and window is taken up again, and a
source (one sitemap document, one page of CDX results) whose URLs were all queued is never read
again by that job. Queued URLs are entries like a feed's (``origin`` sitemap or wayback), so that
dedup, retries and abandonment are the ones every page has.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from aggregator.store.records import BackfillJob, EntryWork, iso, utc_now
from aggregator.store.sqlite.connection import Connection
from aggregator.store.sqlite.entries import article_for_url

_JOB_COLUMNS = "id, feed_id, since, until, origin, status, gap_id"
_WORK_COLUMNS = "feed_id, key, link, url, feed_published, first_seen, attempts, origin, capture"


class BackfillRows(Connection):
    # -- jobs ----------------------------------------------------------------------------------

    def start_backfill(
        self, feed_id: str, since: str, until: str | None, *, origin: str = "command", gap_id: int | None = None
    ) -> BackfillJob:
        with self._write() as conn:
            row = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM backfill_jobs WHERE feed_id = ? AND since = ? AND until IS ? "
                "AND status = 'enumerating' ORDER BY id LIMIT 1",
                [feed_id, since, until],
            ).fetchone()
            if row is None:
                cursor = conn.execute(
                    "INSERT INTO backfill_jobs (feed_id, since, until, origin, gap_id, status, created_at) "
                    "VALUES (?, ?, ?, ?, ?, 'enumerating', ?)",
                    [feed_id, since, until, origin, gap_id, iso(utc_now())],
                )
                row = (cursor.lastrowid, feed_id, since, until, origin, "enumerating", gap_id)
                if gap_id is not None:
                    conn.execute("UPDATE gaps SET status = 'filling', job_id = ? WHERE id = ?", [row[0], gap_id])
        return BackfillJob(*row)

    def open_backfills(self, feed_ids: Iterable[str]) -> list[BackfillJob]:
        ids = list(feed_ids)
        if not ids:
            return []
        rows = self.reader.execute(
            f"SELECT {_JOB_COLUMNS} FROM backfill_jobs WHERE status = 'enumerating' "
            f"AND feed_id IN ({', '.join('?' * len(ids))}) ORDER BY id",
            ids,
        ).fetchall()
        return [BackfillJob(*row) for row in rows]

    def sources_done(self, job_id: int) -> set[str]:
        rows = self._rows("SELECT source FROM backfill_sources WHERE job_id = ?", [job_id])
        return {row["source"] for row in rows}

    def queue_backfill(
        self, job: BackfillJob, source: str, entries: Sequence[dict[str, Any]], *, done: bool = True
    ) -> int:
        now = iso(utc_now())
        queued = 0
        with self._write() as conn:
            for entry in entries:
                known = conn.execute(
                    "SELECT 1 FROM entries WHERE feed_id = ? AND (key = ? OR url = ?) LIMIT 1",
                    [job.feed_id, entry["key"], entry["url"]],
                ).fetchone()
                if known or article_for_url(conn, entry["url"]):
                    continue
                self._insert(
                    "entries",
                    {**entry, "feed_id": job.feed_id, "job_id": job.id, "first_seen": now, "status": "pending"},
                )
                queued += 1
            conn.execute(
                "UPDATE backfill_jobs SET found = found + ?, queued = queued + ? WHERE id = ?",
                [len(entries), queued, job.id],
            )
            if done:
                conn.execute(
                    "INSERT OR REPLACE INTO backfill_sources (job_id, source, found, queued, done_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [job.id, source, len(entries), queued, now],
                )
        return queued

    def finish_enumeration(self, job_id: int) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE backfill_jobs SET status = 'queued', enumerated_at = ? WHERE id = ?", [iso(utc_now()), job_id]
            )
            conn.execute(
                "UPDATE gaps SET queued = (SELECT queued FROM backfill_jobs WHERE id = ?) WHERE job_id = ?",
                [job_id, job_id],
            )

    def unknown_urls(self, feed_id: str, urls: Iterable[str]) -> list[str]:
        conn = self.reader
        return [
            url
            for url in dict.fromkeys(urls)
            if not conn.execute(
                "SELECT 1 FROM entries WHERE feed_id = ? AND url = ? LIMIT 1", [feed_id, url]
            ).fetchone()
            and not article_for_url(conn, url)
        ]

    # -- the work ------------------------------------------------------------------------------

    def backfill_work(
        self, feed_ids: Iterable[str], max_attempts: int, now: datetime | None = None, limit: int = 100
    ) -> list[EntryWork]:
        ids = list(feed_ids)
        if not ids:
            return []
        # Round robin over the feeds (each is mostly one site): a batch holds a few URLs of every
        # site, so that every site's turn comes in the batch, not one site's whole queue.
        rows = self._rows(
            f"SELECT {_WORK_COLUMNS} FROM (SELECT {_WORK_COLUMNS}, ROW_NUMBER() OVER "
            "(PARTITION BY feed_id ORDER BY attempts, rowid) AS turn FROM entries "
            f"WHERE feed_id IN ({', '.join('?' * len(ids))}) "
            "AND status IN ('pending', 'failed') AND origin IS NOT NULL AND attempts < ? AND link IS NOT NULL "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)) ORDER BY turn, feed_id LIMIT ?",
            [*ids, max_attempts, iso(now or utc_now()), limit],
        )
        return [EntryWork(**row) for row in rows]

    def backfill_left(self, feed_ids: Iterable[str]) -> int:
        ids = list(feed_ids)
        if not ids:
            return 0
        row = self.reader.execute(
            f"SELECT COUNT(*) FROM entries WHERE feed_id IN ({', '.join('?' * len(ids))}) "
            "AND status IN ('pending', 'failed') AND origin IS NOT NULL",
            ids,
        ).fetchone()
        return int(row[0])

    # -- gaps ----------------------------------------------------------------------------------

    def record_gap(self, feed_id: str, gap_from: str, gap_to: str, *, fillable: bool) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO gaps (feed_id, gap_from, gap_to, detected_at, status, queued) VALUES (?, ?, ?, ?, ?, 0)",
                [feed_id, gap_from, gap_to, iso(utc_now()), "filling" if fillable else "open"],
            )
        return int(cursor.lastrowid or 0)

    def settle_gaps(self) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE gaps SET status = 'filled', filled_at = ? WHERE status = 'filling' AND job_id IN "
                "(SELECT id FROM backfill_jobs WHERE status = 'queued') AND NOT EXISTS (SELECT 1 FROM entries e "
                "WHERE e.job_id = gaps.job_id AND e.status = 'pending')",
                [iso(utc_now())],
            )
        return cursor.rowcount

    def unfilled_gaps(self, feed_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = list(feed_ids)
        if not ids:
            return []
        return self._rows(
            f"SELECT id, feed_id, gap_from, gap_to, status, job_id FROM gaps WHERE status != 'filled' "
            f"AND feed_id IN ({', '.join('?' * len(ids))}) ORDER BY id",
            ids,
        )
