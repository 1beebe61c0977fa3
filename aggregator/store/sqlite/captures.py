"""Captures: where each WARC record of the archive is and what it holds, and the move of the pages
kept as gzip blobs before (the ``pages`` table) into WARC files."""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from aggregator.errors import StoreError
from aggregator.models import CaptureRef
from aggregator.store.records import KeptPage
from aggregator.store.sqlite.connection import Connection

_COLUMNS = "url, record_type, status, digest, content_type, captured_at, warc_file, warc_offset, warc_length"


def capture_row(
    kind: str, ref: CaptureRef, *, article_id: str | None = None, feed_id: str | None = None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "article_id": article_id,
        "feed_id": feed_id,
        "url": ref.url,
        "record_type": ref.record_type,
        "status": ref.status,
        "digest": ref.digest,
        "content_type": ref.content_type,
        "captured_at": ref.date,
        "warc_file": ref.file,
        "warc_offset": ref.offset,
        "warc_length": ref.length,
    }


def capture_ref(row: dict[str, Any], prefix: str = "") -> CaptureRef:
    """The CaptureRef of a ``captures`` row (its columns named ``prefix`` + name, as in a join)."""
    return CaptureRef(
        file=row[f"{prefix}warc_file"],
        offset=row[f"{prefix}warc_offset"],
        length=row[f"{prefix}warc_length"],
        record_type=row[f"{prefix}record_type"],
        url=row[f"{prefix}url"],
        date=row[f"{prefix}captured_at"],
        status=row[f"{prefix}status"],
        digest=row[f"{prefix}digest"],
        content_type=row[f"{prefix}content_type"],
    )


def _kept(row: dict[str, Any]) -> KeptPage:
    return KeptPage(
        row["article_id"], row["url"], row["content_type"], row["fetched_at"], gzip.decompress(row["html_gzip"])
    )


class CaptureRows(Connection):
    def record_captures(
        self, kind: str, refs: Sequence[CaptureRef], *, feed_id: str | None = None, article_id: str | None = None
    ) -> None:
        if not refs:
            return
        with self._write():
            for ref in refs:
                self._insert("captures", capture_row(kind, ref, feed_id=feed_id, article_id=article_id))

    def last_feed_capture(self, feed_id: str) -> CaptureRef | None:
        rows = self._rows(
            f"SELECT {_COLUMNS} FROM captures WHERE feed_id = ? AND kind = 'feed' ORDER BY id DESC LIMIT 1", [feed_id]
        )
        return capture_ref(rows[0]) if rows else None

    def page_capture(self, article_id: str) -> CaptureRef | None:
        # The newest full response (a revisit holds no payload: it names a response like this one).
        rows = self._rows(
            f"SELECT {_COLUMNS} FROM captures WHERE article_id = ? AND kind = 'page' AND record_type = 'response' "
            "AND status BETWEEN 200 AND 299 ORDER BY id DESC LIMIT 1",
            [article_id],
        )
        return capture_ref(rows[0]) if rows else None

    def iter_captures(self) -> Iterator[tuple[int, CaptureRef]]:
        last = 0
        while True:
            rows = self._rows(f"SELECT id, {_COLUMNS} FROM captures WHERE id > ? ORDER BY id LIMIT 1000", [last])
            if not rows:
                return
            for row in rows:
                yield row["id"], capture_ref(row)
            last = rows[-1]["id"]

    # -- the pages kept before WARC --------------------------------------------------------------

    def _has_pages_table(self) -> bool:
        return bool(self._rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pages'"))

    def kept_pages(self, limit: int = 100) -> list[KeptPage]:
        if not self._has_pages_table():
            return []
        rows = self._rows(
            "SELECT article_id, url, content_type, fetched_at, html_gzip FROM pages ORDER BY rowid LIMIT ?", [limit]
        )
        return [_kept(row) for row in rows]

    def kept_page(self, article_id: str) -> KeptPage | None:
        if not self._has_pages_table():
            return None
        rows = self._rows(
            "SELECT article_id, url, content_type, fetched_at, html_gzip FROM pages WHERE article_id = ?", [article_id]
        )
        return _kept(rows[0]) if rows else None

    def kept_pages_left(self) -> int:
        if not self._has_pages_table():
            return 0
        return int(self._rows("SELECT COUNT(*) AS n FROM pages")[0]["n"])

    def pages_moved(self, moved: Sequence[tuple[str, CaptureRef]]) -> int:
        """Record the captures of moved pages and delete their blobs, in one transaction; a page
        another process moved meanwhile is skipped (its capture is recorded once). Returns how many."""
        done = 0
        with self._write() as conn:
            for article_id, ref in moved:
                if conn.execute("DELETE FROM pages WHERE article_id = ?", [article_id]).rowcount == 1:
                    self._insert("captures", capture_row("page", ref, article_id=article_id))
                    done += 1
        return done

    def drop_pages_table(self) -> bool:
        """Drop ``pages`` once empty, and give its space back to the file system; True when dropped."""
        if not self._has_pages_table():
            return False
        with self._write() as conn:
            if conn.execute("SELECT COUNT(*) FROM pages").fetchone()[0]:
                return False
            conn.execute("DROP TABLE pages")
        try:
            self.conn.execute("VACUUM")
        except sqlite3.Error as exc:  # another connection reading: the space is reused, not returned
            raise StoreError(f"{self.path}: pages moved, but VACUUM failed: {exc}") from None
        return True
