"""Workers and their claims on feeds (one SQLite file has one daemon, but the rows are the same
as where many share a database, so that ``aggregator workers`` reads alike everywhere)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aggregator.store.records import WorkerBeat, iso
from aggregator.store.sqlite.connection import Connection


class WorkerRows(Connection):
    def beat(self, worker: WorkerBeat) -> int:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO workers (id, host, pid, started_at, beat_at, expires_at, metrics) "
                "VALUES (:id, :host, :pid, :started_at, :beat_at, :expires_at, :metrics) "
                "ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at, expires_at = excluded.expires_at, "
                "metrics = excluded.metrics",
                asdict(worker),
            )
            cursor = conn.execute(
                "UPDATE feeds SET claim_until = ? WHERE claimed_by = ?", [worker.expires_at, worker.id]
            )
        return int(cursor.rowcount)

    def leave(self, worker_id: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE feeds SET claimed_by = NULL, claim_until = NULL WHERE claimed_by = ?", [worker_id])
            conn.execute("DELETE FROM workers WHERE id = ?", [worker_id])

    def live_workers(self, now: datetime) -> list[str]:
        rows = self._rows("SELECT id FROM workers WHERE expires_at > ? ORDER BY id", [iso(now)])
        return [row["id"] for row in rows]

    def claim_feeds(
        self, worker_id: str, feed_ids: Iterable[str], now: datetime, until: datetime, *, due_only: bool = True
    ) -> list[str]:
        ids = list(feed_ids)
        if not ids:
            return []
        at = iso(now)
        with self._write() as conn:
            # Still due (unless any will do), and claimed by nobody else whose claim holds: a claim lapses at its time.
            cursor = conn.execute(
                "UPDATE feeds SET claimed_by = ?, claim_until = ? "
                f"WHERE id IN ({', '.join('?' * len(ids))}) AND enabled = 1 AND status != 'gone' "
                "AND (? OR next_poll_at IS NULL OR next_poll_at <= ?) "
                "AND (claimed_by IS NULL OR claimed_by = ? OR claim_until <= ?) RETURNING id",
                [worker_id, iso(until), *ids, int(not due_only), at, worker_id, at],
            )
            claimed = {row[0] for row in cursor.fetchall()}
        return [feed_id for feed_id in ids if feed_id in claimed]

    def release_feeds(self, worker_id: str, feed_ids: Iterable[str]) -> None:
        ids = list(feed_ids)
        if not ids:
            return
        with self._write() as conn:
            conn.execute(
                "UPDATE feeds SET claimed_by = NULL, claim_until = NULL "
                f"WHERE claimed_by = ? AND id IN ({', '.join('?' * len(ids))})",
                [worker_id, *ids],
            )

    def worker_overview(self, now: datetime) -> list[dict[str, Any]]:
        at = iso(now)
        return self._rows(
            "SELECT w.id, w.host, w.pid, w.started_at, w.beat_at, w.expires_at, w.metrics, "
            "w.expires_at > ? AS live, "
            "(SELECT COUNT(*) FROM feeds f WHERE f.claimed_by = w.id AND f.claim_until > ?) AS claims, "
            "(SELECT group_concat(f.id, ' ') FROM (SELECT id FROM feeds WHERE claimed_by = w.id "
            "AND claim_until > ? ORDER BY id) f) AS claimed "
            "FROM workers w ORDER BY w.id",
            [at, at, at],
        )
