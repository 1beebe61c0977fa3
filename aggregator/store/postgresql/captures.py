"""Captures: where each WARC record of the archive is and what it holds. A PostgreSQL archive
never kept pages as gzip blobs (that was before WARC files): it has no ``pages`` table to move."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from aggregator.models import CaptureRef
from aggregator.store.postgresql.connection import Connection, Session, insert
from aggregator.store.records import KeptPage

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


def add_capture(session: Session, row: dict[str, Any]) -> int:
    """Record one capture; returns its id."""
    (added,) = insert(session, "captures", row, "RETURNING id")
    return int(added["id"])


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


class CaptureRows(Connection):
    def record_captures(
        self, kind: str, refs: Sequence[CaptureRef], *, feed_id: str | None = None, article_id: str | None = None
    ) -> None:
        if not refs:
            return
        with self._write() as session:
            for ref in refs:
                add_capture(session, capture_row(kind, ref, feed_id=feed_id, article_id=article_id))

    def last_feed_capture(self, feed_id: str) -> CaptureRef | None:
        row = self.reader.one(
            f"SELECT {_COLUMNS} FROM captures WHERE feed_id = %s AND kind = 'feed' ORDER BY id DESC LIMIT 1",
            [feed_id],
        )
        return capture_ref(row) if row else None

    def page_capture(self, article_id: str) -> CaptureRef | None:
        # The newest full response (a revisit holds no payload: it names a response like this one).
        row = self.reader.one(
            f"SELECT {_COLUMNS} FROM captures WHERE article_id = %s AND kind = 'page' AND record_type = 'response' "
            "AND status BETWEEN 200 AND 299 ORDER BY id DESC LIMIT 1",
            [article_id],
        )
        return capture_ref(row) if row else None

    def iter_captures(self) -> Iterator[tuple[int, CaptureRef]]:
        last = 0
        while True:
            rows = self._rows(f"SELECT id, {_COLUMNS} FROM captures WHERE id > %s ORDER BY id LIMIT 1000", [last])
            if not rows:
                return
            for row in rows:
                yield row["id"], capture_ref(row)
            last = rows[-1]["id"]

    # -- the pages kept before WARC: none here ---------------------------------------------------

    def kept_pages(self, limit: int = 100) -> list[KeptPage]:
        return []

    def kept_page(self, article_id: str) -> KeptPage | None:
        return None

    def kept_pages_left(self) -> int:
        return 0

    def pages_moved(self, moved: Sequence[tuple[str, CaptureRef]]) -> int:
        return 0

    def drop_pages_table(self) -> bool:
        return False
