"""Revisits, versions and removals: which archived articles are due to be fetched again, and what
a revisit found, recorded in one transaction (its captures, a new version, a removal or a
restoration, the next revisit); and an article's history."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

from aggregator.document.render import version_relpath
from aggregator.models import CaptureRef
from aggregator.store.records import Revisited, RevisitOutcome, RevisitWork, first_version
from aggregator.store.sqlite.captures import capture_ref, capture_row
from aggregator.store.sqlite.connection import Connection

#: the RevisitWork fields ``due_revisits`` selects by name (its capture is built from the c_ columns)
_WORK_FIELDS = tuple(f.name for f in fields(RevisitWork) if f.name != "capture")
#: the articles columns a new version replaces
_VERSIONED = ("title", "body", "document", "extractor", "published", "published_via", "date_flag")


def _full(ref: CaptureRef) -> bool:
    return ref.record_type == "response" and ref.status is not None and 200 <= ref.status < 300


class RevisitRows(Connection):
    def unscheduled_revisits(self, limit: int = 1000) -> list[tuple[str, str | None, str]]:
        rows = self._rows(
            "SELECT id, feed_id, fetched_at FROM articles WHERE revisit_step IS NULL ORDER BY rowid LIMIT ?", [limit]
        )
        return [(r["id"], r["feed_id"], r["fetched_at"]) for r in rows]

    def schedule_revisits(self, plans: Sequence[tuple[str, int, str | None]]) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE articles SET revisit_step = ?, next_revisit_at = ? WHERE id = ?",
                [(step, next_at, article_id) for article_id, step, next_at in plans],
            )

    def due_revisits(self, feed_ids: Iterable[str], now: str, limit: int = 100) -> list[RevisitWork]:
        ids = list(feed_ids)
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = self._rows(
            # named as RevisitWork's fields, the capture's columns prefixed c_
            "SELECT a.id AS article_id, a.url, a.feed_id, a.source, a.title, a.body, a.version, a.status, "
            "a.fetched_at, COALESCE(a.revisit_step, 0) AS step, a.revisit_attempts AS attempts, a.etag, "
            "a.last_modified, a.path, "
            "(SELECT e.feed_published FROM entries e WHERE e.article_id = a.id ORDER BY e.first_seen LIMIT 1) "
            "AS feed_published, (SELECT MIN(e.first_seen) FROM entries e WHERE e.article_id = a.id) AS first_seen, "
            "c.url AS c_url, c.record_type AS c_record_type, c.status AS c_status, c.digest AS c_digest, "
            "c.content_type AS c_content_type, c.captured_at AS c_captured_at, c.warc_file AS c_warc_file, "
            "c.warc_offset AS c_warc_offset, c.warc_length AS c_warc_length "
            "FROM articles a LEFT JOIN captures c ON c.id = (SELECT MAX(id) FROM captures WHERE article_id = a.id "
            "AND kind = 'page' AND record_type = 'response' AND status BETWEEN 200 AND 299) "
            # an article read from a Wayback capture is gone from the live site already: nothing to revisit
            f"WHERE a.next_revisit_at <= ? AND a.feed_id IN ({marks}) AND a.fetched_via = 'live' "
            "ORDER BY a.next_revisit_at LIMIT ?",
            [now, *ids, limit],
        )
        return [_work(row) for row in rows]

    def revisit_soon(self, article_ids: Sequence[str], at: str) -> None:
        """Bring the next revisit of these articles forward to ``at`` (their feed says they changed)."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE articles SET next_revisit_at = ? "
                "WHERE id = ? AND (next_revisit_at IS NULL OR next_revisit_at > ?)",
                [(at, article_id, at) for article_id in article_ids],
            )

    def record_revisit(self, revisit: Revisited) -> RevisitOutcome:
        with self._write() as conn:
            row = conn.execute(
                "SELECT version, status, path, fetched_at, revisit_attempts, title, body, document, extractor, "
                "published FROM articles WHERE id = ?",
                [revisit.article_id],
            ).fetchone()
            if row is None:  # deleted meanwhile (by hand): nothing to record it on
                return RevisitOutcome("failed")
            version, status, path, fetched_at, attempts, *current = row
            capture_id = None
            for ref in revisit.captures:
                self._insert("captures", capture_row("page", ref, article_id=revisit.article_id))
                capture_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            full_id = capture_id if revisit.captures and _full(revisit.captures[-1]) else None
            values: dict[str, Any] = {
                "revisit_attempts": 0 if revisit.failure is None else attempts + 1,  # failures in a row
                "next_revisit_at": revisit.next_at,
            }
            if revisit.step is not None:
                values["revisit_step"] = revisit.step
            if revisit.etag is not None or revisit.last_modified is not None:
                values.update(etag=revisit.etag, last_modified=revisit.last_modified)
            outcome = RevisitOutcome("failed" if revisit.failure is not None else "unchanged")
            if revisit.gone is True and status == "live":
                values.update(status="removed", removed_at=revisit.seen_at)
                self._event(revisit, "removed", version, revisit.detail, capture_id)
                outcome = RevisitOutcome("removed")
            elif revisit.gone is False:
                if status == "removed":
                    values.update(status="live", removed_at=None)
                    self._event(revisit, "restored", version, None, capture_id)
                    outcome = RevisitOutcome("restored")
                if revisit.version is not None:
                    outcome = self._new_version(
                        conn, revisit, version, path, fetched_at, current, full_id, values, outcome
                    )
            self._update("articles", revisit.article_id, values)
        return outcome

    def _new_version(
        self,
        conn: sqlite3.Connection,
        revisit: Revisited,
        version: int,
        path: str,
        fetched_at: str,
        current: list[Any],
        capture_id: int | None,
        values: dict[str, Any],
        outcome: RevisitOutcome,
    ) -> RevisitOutcome:
        """Version ``version + 1`` of the article (the first kept as a version of its own first)."""
        new = revisit.version
        assert new is not None
        article_id = revisit.article_id
        first_path = path
        if version == 1:
            first = conn.execute(
                "SELECT MIN(id) FROM captures WHERE article_id = ? AND kind = 'page' AND record_type = 'response' "
                "AND status BETWEEN 200 AND 299",
                [article_id],
            ).fetchone()[0]
            title, body, document, extractor, published = current
            self._insert(
                "article_versions",
                {
                    "article_id": article_id,
                    "version": 1,
                    "seen_at": fetched_at,
                    "title": title,
                    "body": body,
                    "document": document,
                    "extractor": extractor,
                    "published": published,
                    "path": path,
                    "capture_id": first,
                },
            )
        else:
            first_path = conn.execute(
                "SELECT path FROM article_versions WHERE article_id = ? AND version = 1", [article_id]
            ).fetchone()[0]
        number = version + 1
        new_path = str(version_relpath(first_path, number))
        self._insert(
            "article_versions",
            {
                "article_id": article_id,
                "version": number,
                "seen_at": revisit.seen_at,
                "title": new.title,
                "body": new.body,
                "document": new.document,
                "extractor": new.extractor,
                "published": new.published,
                "path": new_path,
                "capture_id": capture_id,
            },
        )
        changed = [name for name, old in (("title", current[0]), ("body", current[1])) if getattr(new, name) != old]
        self._event(revisit, "edited", number, ", ".join(changed) or None, capture_id)
        values.update({name: getattr(new, name) for name in _VERSIONED}, teaser=int(new.teaser))
        values.update(version=number, changed_at=revisit.seen_at, path=new_path, text_written_at=None)
        kind = "edited" if outcome.outcome == "unchanged" else outcome.outcome
        return RevisitOutcome(kind, number, new_path, new.document)

    def _event(self, revisit: Revisited, kind: str, version: int, detail: str | None, capture_id: int | None) -> None:
        self._insert(
            "article_events",
            {
                "article_id": revisit.article_id,
                "at": revisit.seen_at,
                "kind": kind,
                "version": version,
                "detail": detail,
                "capture_id": capture_id,
            },
        )

    def article_history(self, article_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT id, url, source, title, body, document, path, version, status, fetched_at, changed_at, "
            "removed_at FROM articles WHERE id = ?",
            [article_id],
        )
        if not rows:
            return None
        article = rows[0]
        versions = self._rows(
            "SELECT v.version, v.seen_at, v.title, v.body, v.document, v.path, c.url AS capture_url, "
            "c.captured_at, c.warc_file, c.warc_offset FROM article_versions v "
            "LEFT JOIN captures c ON c.id = v.capture_id WHERE v.article_id = ? ORDER BY v.version",
            [article_id],
        )
        versions = versions or [first_version(article)]
        events = self._rows(
            "SELECT at, kind, version, detail FROM article_events WHERE article_id = ? ORDER BY id", [article_id]
        )
        return {**article, "versions": versions, "events": events}

    def version_files(self) -> list[tuple[str, int, str, str]]:
        """(article id, version, path, document) of every version but each article's latest (its
        row's own), for doctor."""
        rows = self._rows(
            "SELECT v.article_id, v.version, v.path, v.document FROM article_versions v "
            "JOIN articles a ON a.id = v.article_id WHERE v.version < a.version ORDER BY v.article_id, v.version"
        )
        return [(r["article_id"], r["version"], r["path"], r["document"]) for r in rows]


def _work(row: dict[str, Any]) -> RevisitWork:
    capture = capture_ref(row, "c_") if row["c_warc_file"] is not None else None
    return RevisitWork(**{name: row[name] for name in _WORK_FIELDS}, capture=capture)
