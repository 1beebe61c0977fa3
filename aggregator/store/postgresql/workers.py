"""Workers and their claims on feeds: many workers share one PostgreSQL database, and a claim is
taken with ``FOR UPDATE SKIP LOCKED``, so that workers claiming at once never share a feed (a
feed another worker is claiming this instant is simply not theirs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aggregator.store.postgresql.connection import Connection
from aggregator.store.records import WorkerBeat, iso


class WorkerRows(Connection):
    def beat(self, worker: WorkerBeat) -> int:
        row = asdict(worker)
        with self._write() as session:
            session.run(
                "INSERT INTO workers (id, host, pid, started_at, beat_at, expires_at, metrics) "
                "VALUES (%(id)s, %(host)s, %(pid)s, %(started_at)s, %(beat_at)s, %(expires_at)s, %(metrics)s) "
                "ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at, expires_at = excluded.expires_at, "
                "metrics = excluded.metrics",
                row,
            )
            return session.run(
                "UPDATE feeds SET claim_until = %s WHERE claimed_by = %s", [worker.expires_at, worker.id]
            )

    def leave(self, worker_id: str) -> None:
        with self._write() as session:
            session.run("UPDATE feeds SET claimed_by = NULL, claim_until = NULL WHERE claimed_by = %s", [worker_id])
            session.run("DELETE FROM workers WHERE id = %s", [worker_id])

    def live_workers(self, now: datetime) -> list[str]:
        rows = self._rows("SELECT id FROM workers WHERE expires_at > %s ORDER BY id", [iso(now)])
        return [row["id"] for row in rows]

    def claim_feeds(
        self, worker_id: str, feed_ids: Iterable[str], now: datetime, until: datetime, *, due_only: bool = True
    ) -> list[str]:
        ids = list(feed_ids)
        if not ids:
            return []
        at = iso(now)
        with self._write() as session:
            # Still due (unless any will do), and claimed by nobody else whose claim holds (a claim lapses at its time);
            # a row another worker has locked is skipped, not waited for.
            rows = session.rows(
                "UPDATE feeds SET claimed_by = %s, claim_until = %s WHERE id IN (SELECT id FROM feeds "
                "WHERE id = ANY(%s) AND enabled = 1 AND status != 'gone' "
                "AND (%s OR next_poll_at IS NULL OR next_poll_at <= %s) "
                "AND (claimed_by IS NULL OR claimed_by = %s OR claim_until <= %s) "
                "FOR UPDATE SKIP LOCKED) RETURNING id",
                [worker_id, iso(until), ids, not due_only, at, worker_id, at],
            )
        claimed = {row["id"] for row in rows}
        return [feed_id for feed_id in ids if feed_id in claimed]

    def release_feeds(self, worker_id: str, feed_ids: Iterable[str]) -> None:
        ids = list(feed_ids)
        if not ids:
            return
        with self._write() as session:
            session.run(
                "UPDATE feeds SET claimed_by = NULL, claim_until = NULL WHERE claimed_by = %s AND id = ANY(%s)",
                [worker_id, ids],
            )

    def worker_overview(self, now: datetime) -> list[dict[str, Any]]:
        at = iso(now)
        return self._rows(
            "SELECT w.id, w.host, w.pid, w.started_at, w.beat_at, w.expires_at, w.metrics, "
            "(w.expires_at > %s)::int AS live, "
            "(SELECT COUNT(*) FROM feeds f WHERE f.claimed_by = w.id AND f.claim_until > %s) AS claims, "
            "(SELECT string_agg(f.id, ' ' ORDER BY f.id) FROM feeds f WHERE f.claimed_by = w.id "
            "AND f.claim_until > %s) AS claimed "
            "FROM workers w ORDER BY w.id",
            [at, at, at],
        )
