"""The read side: documents, JSON Lines and CSV out of the archive database, and search results.

Everything streams from ``Store.iter_articles`` one row at a time, so memory stays flat however
large the archive is. Text export writes each article's ``document`` at its ``path`` (the same
names and places as the live archive, byte for byte), atomically.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from aggregator.document.textfiles import resolve_inside, write_document
from aggregator.errors import StoreError
from aggregator.store import ARTICLE_COLUMNS, Store

FORMATS = ("text", "jsonl", "csv")
#: The columns of a search result, in the order ``--format json`` gives them.
SEARCH_COLUMNS = ("id", "published", "source", "title", "url", "path", "snippet")
#: Matches in a ``--format json`` snippet are marked like Markdown bold.
JSON_MARKS = ("**", "**")


@dataclass(frozen=True)
class Filters:
    """Which articles: a source name (case-insensitive) and an inclusive range of publication
    days (YYYY-MM-DD, the publisher's own calendar day, as in the document's date line)."""

    source: str | None = None
    since: str | None = None
    until: str | None = None

    def query(self) -> dict[str, str | None]:
        return {"source": self.source, "since": self.since, "until": self.until}


@dataclass(frozen=True)
class TextExport:
    written: int  # files created or corrected
    unchanged: int  # files already there, byte-identical


def export_text(store: Store, root: Path, filters: Filters = Filters()) -> TextExport:
    """Write every selected article's document under ``root`` at its archive path.

    A file already holding exactly the document is left alone; any other is (re)written atomically."""
    written = unchanged = 0
    for row in store.iter_articles(columns=("path", "document"), **filters.query()):
        data = row["document"].encode("utf-8")
        target = resolve_inside(root, row["path"])
        if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
            unchanged += 1
            continue
        write_document(root, row["path"], row["document"])
        written += 1
    return TextExport(written, unchanged)


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One JSON object per line (UTF-8, not ASCII-escaped); returns the number of rows."""
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO, columns: tuple[str, ...] = ARTICLE_COLUMNS) -> int:
    """RFC 4180 CSV with a header row (CRLF row ends; line breaks inside fields kept as they are)."""
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


WRITERS: dict[str, Callable[[Iterable[dict[str, Any]], TextIO], int]] = {"jsonl": write_jsonl, "csv": write_csv}


def export_rows(store: Store, fmt: str, out: TextIO, filters: Filters = Filters()) -> int:
    """Stream the selected articles (every column of ``ARTICLE_COLUMNS``) as ``jsonl`` or ``csv``."""
    return WRITERS[fmt](store.iter_articles(**filters.query()), out)


@contextmanager
def atomic_output(path: Path) -> Iterator[TextIO]:
    """A text file (UTF-8, newlines untranslated) that appears at ``path`` only once complete, with
    the archive's documents' mode (0644). Its folder must exist: a typo in ``--out`` is an error,
    not a new folder somewhere."""
    if not path.parent.is_dir():
        raise StoreError(f"{path}: cannot write: the folder {path.parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the export from other readers
    except OSError as exc:
        raise StoreError(f"{path}: cannot write: {exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"{path}: cannot write: {exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def search_json(rows: Iterable[dict[str, Any]]) -> str:
    """Search results as a JSON array of objects with ``SEARCH_COLUMNS``."""
    return json.dumps([{key: row[key] for key in SEARCH_COLUMNS} for row in rows], ensure_ascii=False, indent=2)


def documents_text(rows: Iterable[dict[str, Any]]) -> str:
    """The documents one after another, each followed by a newline (so an empty line between them)."""
    return "".join(row["document"] + "\n" for row in rows)
