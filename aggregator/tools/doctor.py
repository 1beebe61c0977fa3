"""``aggregator doctor``: the database checked against the archive folder, and repaired.

Checks: SQLite's ``PRAGMA integrity_check`` and the full-text indexes' own checks; every article
version's text file (missing, or different from its ``document``); text files no row names
(orphans); temporary files left by a writer that was killed (documents', WARC indexes',
exports'); entries linked to a missing article; every capture the database names (its WARC
record readable where named, of the URL named, its payload's digest right); WARC files a killed
writer left open; pages still kept in the database from before WARC. ``repair`` rewrites missing
and differing files from the database (atomically), deletes the temporary files that are surely
nobody's write in progress (their writer's pid is gone, or they are ``TEMP_MAX_AGE`` old: a
running daemon's are kept), closes the WARC files left open (cut after their last whole record)
and moves the kept pages into WARC; orphans and unreadable captures are only reported, never
deleted: the database is the record, but what nobody can explain is for a person to look at.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

from aggregator.capture import WarcWriter, abandoned, read_record, recover
from aggregator.document.textfiles import (
    TEMP_MAX_AGE,
    TEMP_PREFIX,
    resolve_inside,
    temp_files,
    write_document,
    writer_gone,
)
from aggregator.errors import CaptureError, StoreError
from aggregator.models import Settings
from aggregator.pipeline.captures import move_kept_pages, warc_folder, warc_info
from aggregator.store import Store

__all__ = ["Finding", "diagnose"]

#: temporary files named one per line; the rest are counted on one line
TEMP_SHOWN = 10
#: what doctor --repair does with a temporary file, said with every one it reports
TEMP_RULE = (
    f"doctor --repair deletes a temporary file once its writer is gone or it is {TEMP_MAX_AGE // 60} minutes old"
)


@dataclass(frozen=True)
class Finding:
    kind: str  # integrity, dangling_entry, missing_file, differs, orphan, temp_file, capture, warc_open, kept_pages
    subject: str  # a path relative to the archive folder, an entry, or the database
    detail: str
    repaired: bool = False
    count: int = 1  # the findings this line stands for (the temporary files not listed one by one)

    def line(self) -> str:
        state = "repaired" if self.repaired else "problem"
        return f"{state}: {self.kind}: {self.subject}: {self.detail}"


def diagnose(store: Store, settings: Settings, *, repair: bool = False) -> list[Finding]:
    """Every finding, in a stable order (database first, then captures, then files by path)."""
    archive_dir = Path(settings.archive_dir)
    findings = [Finding("integrity", store.location, problem) for problem in store.integrity_problems()]
    findings += [
        Finding("dangling_entry", f"{feed_id} {key}", f"linked to missing article {article_id}")
        for feed_id, key, article_id in store.dangling_entries()
    ]
    findings += _captures(store, settings, repair)
    named: set[Path] = set()
    # every article's latest version (its row), and each earlier version of an edited one
    documents = (
        (row["id"], row["path"], row["document"], True)
        for row in store.iter_articles(columns=("id", "path", "document"))
    )
    earlier = ((article_id, path, document, False) for article_id, _, path, document in store.version_files())
    for article_id, path, document, latest in itertools.chain(documents, earlier):
        try:
            target = resolve_inside(archive_dir, path)
        except StoreError as exc:
            findings.append(Finding("integrity", article_id, str(exc)))
            continue
        named.add(target)
        try:
            actual: bytes | None = target.read_bytes()
        except FileNotFoundError:
            actual = None
        if actual == document.encode("utf-8"):
            continue
        kind, detail = (
            ("missing_file", "no text file") if actual is None else ("differs", "text differs from the database")
        )
        if repair:
            write_document(archive_dir, path, document)
            if latest:
                store.mark_text_written(article_id)
        findings.append(Finding(kind, path, f"{detail} (article {article_id})", repaired=repair))
    findings += _temp_files(archive_dir, repair)
    if archive_dir.is_dir():
        for path in sorted(archive_dir.rglob("*.txt")):
            if not path.name.startswith(TEMP_PREFIX) and path.resolve() not in named:
                findings.append(Finding("orphan", _rel(path, archive_dir), "no article row names this file (kept)"))
    return findings


def _temp_files(archive_dir: Path, repair: bool) -> list[Finding]:
    """The temporary files in the archive folder: a killed writer's are problems (deleted by
    ``repair``); one perhaps still being written (a running daemon's) is a problem ``repair``
    leaves alone. The first TEMP_SHOWN are named, the rest counted on one line."""
    now = time.time()
    findings: list[Finding] = []
    rest = {True: 0, False: 0}  # the files not named: deleted, left
    for index, path in enumerate(temp_files(archive_dir)):
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:  # a write that was under way, and is over
            continue
        stale = writer_gone(path) or age >= TEMP_MAX_AGE
        if stale and repair:
            path.unlink(missing_ok=True)
        if index >= TEMP_SHOWN:
            rest[stale and repair] += 1
        elif stale and repair:
            findings.append(Finding("temp_file", _rel(path, archive_dir), "leftover temporary file, deleted", True))
        elif stale:
            findings.append(Finding("temp_file", _rel(path, archive_dir), f"leftover temporary file ({TEMP_RULE})"))
        else:
            kept = ", kept" if repair else ""
            detail = f"temporary file changed {_ago(age)}, perhaps still being written{kept} ({TEMP_RULE})"
            findings.append(Finding("temp_file", _rel(path, archive_dir), detail))
    for deleted, count in rest.items():
        if count:
            what = f"{count} more temporary file{'s' if count != 1 else ''}, not listed"
            detail = "deleted" if deleted else TEMP_RULE
            findings.append(Finding("temp_file", what, detail, repaired=deleted, count=count))
    return findings


def _ago(seconds: float) -> str:
    minutes = int(max(seconds, 0) // 60)
    return "under a minute ago" if minutes < 1 else f"{minutes} minute{'s' if minutes != 1 else ''} ago"


def _captures(store: Store, settings: Settings, repair: bool) -> list[Finding]:
    """The WARC side: files left open by a killed writer, pages not moved yet, every capture named."""
    folder = warc_folder(settings)
    findings: list[Finding] = []
    left_open = abandoned(folder)  # a live writer's file (the daemon's) is not a problem
    if left_open and repair:
        recover(folder)
    for path in left_open:
        closed = not path.exists()
        detail = "closed after its last whole record" if closed else "left open by a writer that was killed"
        findings.append(Finding("warc_open", _rel(path, Path(settings.archive_dir)), detail, repaired=closed))
    kept = store.kept_pages_left()
    if kept:
        moved = 0
        if repair:
            with WarcWriter(folder, max_bytes=settings.warc_max_bytes, info=warc_info(settings)) as writer:
                moved = move_kept_pages(store, writer, folder)
        findings.append(
            Finding(
                "kept_pages",
                store.location,
                f"{kept} pages kept in the database, not yet in WARC files"
                + (f" ({moved} moved)" if repair else " (moved by the next fetch, run or doctor --repair)"),
                repaired=repair and moved == kept,
            )
        )
    for capture_id, ref in store.iter_captures():
        where = f"{ref.file} at {ref.offset}"
        try:
            record = read_record(folder, ref.file, ref.offset)
        except CaptureError as exc:
            findings.append(Finding("capture", where, f"capture {capture_id} ({ref.url}): {exc}"))
            continue
        if record.url != ref.url or record.record_type != ref.record_type:
            findings.append(
                Finding("capture", where, f"capture {capture_id}: the record is a {record.record_type} of {record.url}")
            )
        elif not record.digest_ok:
            findings.append(Finding("capture", where, f"capture {capture_id} ({ref.url}): payload digest wrong"))
    return findings


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
