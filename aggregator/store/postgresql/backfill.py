"""Backfill and gaps: the jobs that enumerate a feed's sitemaps and Wayback captures, the sources
each has read in full, the entries they queued, and the gaps found between polls (the SQLite
backend's semantics: see aggregator/store/sqlite/backfill.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from aggregator.store.postgresql.connection import Connection, insert
from aggregator.store.postgresql.entries import article_for_url
from aggregator.store.records import BackfillJob, EntryWork, iso, utc_now

_JOB_COLUMNS = "id, feed_id, since, until, origin, status, gap_id"
_WORK_COLUMNS = "feed_id, key, link, url, feed_published, first_seen, attempts, origin, capture"


def _job(row: dict[str, Any]) -> BackfillJob:
    return BackfillJob(**row)


class BackfillRows(Connection):
    # -- jobs ----------------------------------------------------------------------------------

    def start_backfill(
        self, feed_id: str, since: str, until: str | None, *, origin: str = "command", gap_id: int | None = None
    ) -> BackfillJob:
        with self._write() as session:
            # the feed's row locked: two runs starting the same job at once start one
            session.run("SELECT 1 FROM feeds WHERE id = %s FOR UPDATE", [feed_id])
            row = session.one(
                f"SELECT {_JOB_COLUMNS} FROM backfill_jobs WHERE feed_id = %s AND since = %s "
                "AND until IS NOT DISTINCT FROM %s::text AND status = 'enumerating' ORDER BY id LIMIT 1",
                [feed_id, since, until],
            )
            if row is None:
                (row,) = insert(
                    session,
                    "backfill_jobs",
                    {
                        "feed_id": feed_id,
                        "since": since,
                        "until": until,
                        "origin": origin,
                        "gap_id": gap_id,
                        "status": "enumerating",
                        "created_at": iso(utc_now()),
                    },
                    f"RETURNING {_JOB_COLUMNS}",
                )
                if gap_id is not None:
                    session.run("UPDATE gaps SET status = 'filling', job_id = %s WHERE id = %s", [row["id"], gap_id])
        return _job(row)

    def open_backfills(self, feed_ids: Iterable[str]) -> list[BackfillJob]:
        ids = list(feed_ids)
        if not ids:
            return []
        rows = self._rows(
            f"SELECT {_JOB_COLUMNS} FROM backfill_jobs WHERE status = 'enumerating' AND feed_id = ANY(%s) ORDER BY id",
            [ids],
        )
        return [_job(row) for row in rows]

    def sources_done(self, job_id: int) -> set[str]:
        rows = self._rows("SELECT source FROM backfill_sources WHERE job_id = %s", [job_id])
        return {row["source"] for row in rows}

    def queue_backfill(
        self, job: BackfillJob, source: str, entries: Sequence[dict[str, Any]], *, done: bool = True
    ) -> int:
        now = iso(utc_now())
        queued = 0
        with self._write() as session:
            for entry in entries:
                known = session.one(
                    "SELECT 1 FROM entries WHERE feed_id = %s AND (key = %s OR url = %s) LIMIT 1",
                    [job.feed_id, entry["key"], entry["url"]],
                )
                if known or article_for_url(session, entry["url"]):
                    continue
                row = {**entry, "feed_id": job.feed_id, "job_id": job.id, "first_seen": now, "status": "pending"}
                queued += bool(insert(session, "entries", row, "ON CONFLICT DO NOTHING RETURNING 1"))
            session.run(
                "UPDATE backfill_jobs SET found = found + %s, queued = queued + %s WHERE id = %s",
                [len(entries), queued, job.id],
            )
            if done:
                session.run(
                    "INSERT INTO backfill_sources (job_id, source, found, queued, done_at) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (job_id, source) DO UPDATE SET found = excluded.found, queued = excluded.queued, "
                    "done_at = excluded.done_at",
                    [job.id, source, len(entries), queued, now],
                )
        return queued

    def finish_enumeration(self, job_id: int) -> None:
        with self._write() as session:
            session.run(
                "UPDATE backfill_jobs SET status = 'queued', enumerated_at = %s WHERE id = %s",
                [iso(utc_now()), job_id],
            )
            session.run(
                "UPDATE gaps SET queued = (SELECT queued FROM backfill_jobs WHERE id = %s) WHERE job_id = %s",
                [job_id, job_id],
            )

    def unknown_urls(self, feed_id: str, urls: Iterable[str]) -> list[str]:
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return []
        known = self._rows(
            "SELECT u FROM unnest(%s::text[]) AS u WHERE EXISTS (SELECT 1 FROM entries e WHERE e.feed_id = %s "
            "AND e.url = u) OR EXISTS (SELECT 1 FROM article_urls au WHERE au.url = u) "
            "OR EXISTS (SELECT 1 FROM articles a WHERE a.url = u)",
            [wanted, feed_id],
        )
        seen = {row["u"] for row in known}
        return [url for url in wanted if url not in seen]

    # -- the work ------------------------------------------------------------------------------

    def backfill_work(
        self, feed_ids: Iterable[str], max_attempts: int, now: datetime | None = None, limit: int = 100
    ) -> list[EntryWork]:
        ids = list(feed_ids)
        if not ids:
            return []
        # Round robin over the feeds (each is mostly one site), as the SQLite backend takes them.
        rows = self._rows(
            f"SELECT {_WORK_COLUMNS} FROM (SELECT {_WORK_COLUMNS}, ROW_NUMBER() OVER "
            "(PARTITION BY feed_id ORDER BY attempts, rowid) AS turn FROM entries "
            "WHERE feed_id = ANY(%s) "
            "AND status IN ('pending', 'failed') AND origin IS NOT NULL AND attempts < %s AND link IS NOT NULL "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= %s)) AS due ORDER BY turn, feed_id LIMIT %s",
            [ids, max_attempts, iso(now or utc_now()), limit],
        )
        return [EntryWork(**row) for row in rows]

    def backfill_left(self, feed_ids: Iterable[str]) -> int:
        ids = list(feed_ids)
        if not ids:
            return 0
        return int(
            self.reader.value(
                "SELECT COUNT(*) FROM entries WHERE feed_id = ANY(%s) "
                "AND status IN ('pending', 'failed') AND origin IS NOT NULL",
                [ids],
            )
        )

    # -- gaps ----------------------------------------------------------------------------------

    def record_gap(self, feed_id: str, gap_from: str, gap_to: str, *, fillable: bool) -> int:
        with self._write() as session:
            gap_id = session.value(
                "INSERT INTO gaps (feed_id, gap_from, gap_to, detected_at, status, queued) "
                "VALUES (%s, %s, %s, %s, %s, 0) RETURNING id",
                [feed_id, gap_from, gap_to, iso(utc_now()), "filling" if fillable else "open"],
            )
        return int(gap_id)

    def settle_gaps(self) -> int:
        with self._write() as session:
            return session.run(
                "UPDATE gaps SET status = 'filled', filled_at = %s WHERE status = 'filling' AND job_id IN "
                "(SELECT id FROM backfill_jobs WHERE status = 'queued') AND NOT EXISTS (SELECT 1 FROM entries e "
                "WHERE e.job_id = gaps.job_id AND e.status = 'pending')",
                [iso(utc_now())],
            )

    def unfilled_gaps(self, feed_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = list(feed_ids)
        if not ids:
            return []
        return self._rows(
            "SELECT id, feed_id, gap_from, gap_to, status, job_id FROM gaps WHERE status != 'filled' "
            "AND feed_id = ANY(%s) ORDER BY id",
            [ids],
        )
