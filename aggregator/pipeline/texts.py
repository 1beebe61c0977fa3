"""The archive's text files, written after their rows are committed.

A row's text file is written (atomically, in a thread: its fsync holds up nothing) once the row
is committed; that it was written is recorded when the poll ends, all of a poll's files in one
transaction of their own. A crash in between only makes the next start write the same
file again (``finish``), so a text file is never missing for long and never half-written.

A folder that refuses files (permission denied, a read-only or full disk, a file where the
folder should be) loses nothing either: the rows are kept and marked "text not written", the
problem is logged once as an error naming the folder and the reason (not once per article), and
kept in ``problems`` for the caller to report (``fetch`` fails with it). The next start writes
the files; a daemon looks again every ``RETRY_EVERY`` seconds (``retry``) and writes them as
soon as the folder takes files again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from aggregator.document.textfiles import check_writable, remove_stale_temp_files, write_document
from aggregator.errors import ArchiveFolderError, failure
from aggregator.pipeline.database import Database

log = logging.getLogger("aggregator")

#: how often (seconds) ``retry`` looks whether the folders that refused text files take them now
RETRY_EVERY = 60.0


@dataclass
class FolderProblem:
    """A folder that refused text files, and how many it refused since it was found."""

    error: ArchiveFolderError
    files: int = 0


class TextFiles:
    """The text files of one archive folder, and the marks "written" not yet recorded."""

    def __init__(self, db: Database, archive_dir: Path, *, enabled: bool) -> None:
        self.db = db
        self.archive_dir = archive_dir
        self.enabled = enabled
        self._pending: list[str] = []  # ids of articles whose file is written, not yet so recorded
        #: what keeps text files from being written now, by message (one per folder and reason)
        self.problems: dict[str, FolderProblem] = {}
        self._quiet: set[str] = set()  # problems logged already, not to be logged again
        self._next_retry = 0.0

    async def finish(self) -> int:
        """Write the text files an interrupted run committed but did not write, and remove the
        temporary files a killed writer left behind; returns how many were written."""
        if not self.enabled:
            return 0
        try:
            await asyncio.to_thread(remove_stale_temp_files, self.archive_dir)
        except OSError as exc:  # a folder that cannot be listed: the writes below say more
            log.error("cannot remove leftover temporary files in %s: %s", self.archive_dir, exc)
        return await self.write_missing()

    async def write_missing(self) -> int:
        """Write the text files of every committed article that has none yet (a killed writer's)."""
        written = 0
        for article_id, path, document in await self.db.read(self.db.store.articles_without_text):
            written += await self.write(article_id, path, document)
        await self.record()
        return written

    async def write(self, article_id: str, path: str, document: str) -> bool:
        """Write one committed article's text file; False (logged, retried later) when it fails."""
        if not self.enabled:
            return False
        try:
            await asyncio.to_thread(write_document, self.archive_dir, path, document)
        except ArchiveFolderError as exc:  # the row is committed: the file is written later
            self._refused(exc, article_id)
            return False
        except Exception as exc:  # the row is committed: the next run writes the file
            log.error("article %s: text file not written, will retry next run: %s", article_id, failure(exc)[1])
            return False
        self._pending.append(article_id)
        return True

    def _refused(self, error: ArchiveFolderError, article_id: str) -> None:
        """A folder refused an article's file: logged once per folder and reason, counted always."""
        log.debug("article %s: text file not written: %s", article_id, error)
        problem = self.problems.get(str(error))
        if problem is None:
            problem = self.problems[str(error)] = FolderProblem(error)
        if str(error) not in self._quiet:
            self._quiet.add(str(error))
            log.error(
                "text files not written: %s (the articles are stored; their files are written once it takes files)",
                error,
                extra={"event": "archive_folder", "folder": str(error.folder), "error": str(error)},
            )
        problem.files += 1

    async def retry(self) -> int:
        """After folders refused text files: every RETRY_EVERY seconds, see whether they take files
        now (a probe file in each); once they all do, write every file still missing and say so.
        Returns how many were written. A problem that lasts is not logged again."""
        if not self.problems or time.monotonic() < self._next_retry:
            return 0
        self._next_retry = time.monotonic() + RETRY_EVERY
        try:
            for problem in list(self.problems.values()):
                await asyncio.to_thread(check_writable, problem.error.folder)
        except ArchiveFolderError:
            return 0  # still refused, and logged when it was found
        before, self.problems = self.problems, {}
        try:
            written = await self.write_missing()
        except Exception as exc:  # the database: the problems stand, looked at again later
            self.problems = {**before, **self.problems}
            log.error("text files not caught up: %s", failure(exc)[1])
            return 0
        for message, problem in before.items():
            if message in self.problems:  # the probe passed, the files did not: still the same problem
                self.problems[message].files += problem.files
            else:
                self._quiet.discard(message)
                log.warning("text files are written in %s again (%d files caught up)", problem.error.folder, written)
        return written

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
