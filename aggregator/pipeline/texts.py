"""The archive's text files, written after their rows are committed.

A row's text file is written (atomically, in a thread: its fsync holds up nothing) once the row
is committed; that it was written is recorded when the poll ends, all of a poll's files in one
transaction of their own. A crash in between only makes the next start write the same
file again (``finish``), so a text file is never missing for long and never half-written.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aggregator.document.textfiles import remove_stale_temp_files, write_document
from aggregator.errors import failure
from aggregator.pipeline.database import Database

log = logging.getLogger("aggregator")


class TextFiles:
    """The text files of one archive folder, and the marks "written" not yet recorded."""

    def __init__(self, db: Database, archive_dir: Path, *, enabled: bool) -> None:
        self.db = db
        self.archive_dir = archive_dir
        self.enabled = enabled
        self._pending: list[str] = []  # ids of articles whose file is written, not yet so recorded

    async def finish(self) -> int:
        """Write the text files an interrupted run committed but did not write, and remove the
        temporary files a killed writer left behind; returns how many were written."""
        if not self.enabled:
            return 0
        try:
            await asyncio.to_thread(remove_stale_temp_files, self.archive_dir)
        except OSError as exc:  # a folder that cannot be listed: the writes below say more
            log.error("cannot remove leftover temporary files in %s: %s", self.archive_dir, exc)
        written = 0
        for article_id, path, document in await self.db.read(self.db.store.articles_without_text):
            written += await self.write(article_id, path, document)
        await self.record()
        return written

    async def write(self, article_id: str, path: str, document: str) -> bool:
        """Write one committed article's text file; False (logged, retried next run) when it fails."""
        if not self.enabled:
            return False
        try:
            await asyncio.to_thread(write_document, self.archive_dir, path, document)
        except Exception as exc:  # the row is committed: the next run writes the file
            log.error("article %s: text file not written, will retry next run: %s", article_id, failure(exc)[1])
            return False
        self._pending.append(article_id)
        return True

    async def record(self) -> None:
        """Record the files written since the last call (one transaction); kept for later on failure."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            await self.db.write(self.db.store.mark_text_written, *pending)
        except Exception as exc:
            self._pending[:0] = pending
            log.error(
                "text files written, not yet recorded (will be rewritten next run if this lasts): %s", failure(exc)[1]
            )
