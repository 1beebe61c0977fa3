"""``aggregator doctor``: the database checked against the archive folder, and repaired.

Checks: SQLite's ``PRAGMA integrity_check`` and the full-text index's own check; every article
row's text file (missing, or different from the row's ``document``); text files no row names
(orphans); temporary files left by a writer that was killed; entries linked to a missing
article. ``repair`` rewrites missing and differing files from the database (atomically) and
deletes leftover temporary files; orphans are only reported, never deleted: the database is
the record, but a document nobody can explain is for a person to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aggregator.document.textfiles import (
    TEMP_PREFIX,
    remove_stale_temp_files,
    resolve_inside,
    temp_files,
    write_document,
)
from aggregator.errors import StoreError
from aggregator.store import Store

__all__ = ["Finding", "diagnose"]


@dataclass(frozen=True)
class Finding:
    kind: str  # integrity, dangling_entry, missing_file, differs, orphan, temp_file
    subject: str  # a path relative to the archive folder, an entry, or the database
    detail: str
    repaired: bool = False

    def line(self) -> str:
        state = "repaired" if self.repaired else "problem"
        return f"{state}: {self.kind}: {self.subject}: {self.detail}"


def diagnose(store: Store, archive_dir: Path, *, repair: bool = False) -> list[Finding]:
    """Every finding, in a stable order (database first, then files by path)."""
    findings = [Finding("integrity", store.location, problem) for problem in store.integrity_problems()]
    findings += [
        Finding("dangling_entry", f"{feed_id} {key}", f"linked to missing article {article_id}")
        for feed_id, key, article_id in store.dangling_entries()
    ]
    named: set[Path] = set()
    for row in store.iter_articles(columns=("id", "path", "document")):
        try:
            target = resolve_inside(archive_dir, row["path"])
        except StoreError as exc:
            findings.append(Finding("integrity", row["id"], str(exc)))
            continue
        named.add(target)
        expected = row["document"].encode("utf-8")
        try:
            actual: bytes | None = target.read_bytes()
        except FileNotFoundError:
            actual = None
        if actual == expected:
            continue
        kind, detail = (
            ("missing_file", "no text file") if actual is None else ("differs", "text differs from the database")
        )
        if repair:
            write_document(archive_dir, row["path"], row["document"])
            store.mark_text_written(row["id"])
        findings.append(Finding(kind, row["path"], f"{detail} (article {row['id']})", repaired=repair))
    temps = set(temp_files(archive_dir))
    removed = set(remove_stale_temp_files(archive_dir)) if repair else set()
    for path in sorted(temps):
        detail = "leftover temporary file" + (", deleted" if path in removed else "")
        findings.append(Finding("temp_file", _rel(path, archive_dir), detail, repaired=path in removed))
    if archive_dir.is_dir():
        for path in sorted(archive_dir.rglob("*.txt")):
            if not path.name.startswith(TEMP_PREFIX) and path.resolve() not in named:
                findings.append(Finding("orphan", _rel(path, archive_dir), "no article row names this file (kept)"))
    return findings


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
