"""The archive document format of FORMAT.md: the only module that knows it.

    "\\n" + "\\n\\n".join([TITLE, "- DD.MM.YYYY", "Source (D Month YYYY)", *paragraphs, "<url>"])

and where a document lives: ``<source-slug>/<YYYY-MM-DD>/<NNN>_<hash16>.txt``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from aggregator.errors import DocumentError
from aggregator.text import collapse, slug

#: English month names, whatever the process locale.
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_SEPARATOR = "\n\n"
_SLUG_MAX = 64
_ARTICLE_ID = re.compile(r"[0-9a-f]{16}")
#: a document's file name, of its first version or a later one
_VERSIONED = re.compile(r"[0-9]{3,}_[0-9a-f]{16}(\.v[0-9]+)?\.txt")
_DATE_LINE = re.compile(r"- (\d{2})\.(\d{2})\.(\d{4})")
_SOURCE_LINE = re.compile(rf"(.+) \((\d{{1,2}}) ({'|'.join(MONTHS)}) (\d{{4}})\)")


def render_document(*, title: str, published: date, source: str, paragraphs: Sequence[str], url: str) -> str:
    """The archive text of one article.

    ``published`` (a datetime, or a date) is already in the publisher's time zone: its date is
    written as it is, never converted. Whitespace in every line is collapsed; empty paragraphs
    are left out. DocumentError when the title, the source, the URL or the body is empty."""
    head = collapse(title).upper()
    body = [line for line in map(collapse, paragraphs) if line]
    name, link = collapse(source), collapse(url)
    if not (head and body and name and link):
        raise DocumentError("a document needs a title, a source, a URL and at least one paragraph")
    return "\n" + _SEPARATOR.join([head, date_line(published), source_line(name, published), *body, f"<{link}>"])


def date_line(day: date) -> str:
    """``- 13.08.2020``"""
    return f"- {day.day:02d}.{day.month:02d}.{day.year:04d}"


def source_line(source: str, day: date) -> str:
    """``TASS (13 August 2020)``"""
    return f"{source} ({day.day} {MONTHS[day.month - 1]} {day.year})"


def parse_document(text: str) -> dict[str, Any]:
    """Split a document into its parts (the inverse of render_document, for tests and checks):
    ``title``, ``date`` ("DD.MM.YYYY"), ``source_line``, ``source``, ``published`` (a date),
    ``paragraphs`` (tuple) and ``url``. DocumentError when the text is not a document."""
    if not text.startswith("\n") or text.endswith("\n"):
        raise DocumentError("a document starts with one empty line and has no trailing newline")
    parts = text[1:].split(_SEPARATOR)
    if len(parts) < 5 or any(not part or "\n" in part for part in parts):
        raise DocumentError("a document is at least five single lines separated by empty lines")
    title, dated, credited, *paragraphs, link = parts
    date_match, source_match = _DATE_LINE.fullmatch(dated), _SOURCE_LINE.fullmatch(credited)
    if not date_match or not source_match or not (link.startswith("<") and link.endswith(">")):
        raise DocumentError("bad date line, source line or URL line")
    day, month, year = (int(group) for group in date_match.groups())
    published = date(year, month, day)
    if source_line(source_match.group(1), published) != credited:
        raise DocumentError("the source line does not agree with the date line")
    return {
        "title": title,
        "date": dated[2:],
        "source_line": credited,
        "source": source_match.group(1),
        "published": published,
        "paragraphs": tuple(paragraphs),
        "url": link[1:-1],
    }


def source_slug(source: str) -> str:
    """The folder name of a source: lower case, each run of characters other than letters and
    digits -> ``-``, no leading or trailing ``-``. Never empty, ``.`` or ``..`` and never holding
    a separator, whatever the name: a name with no letter or digit gets ``source-<hash8>``."""
    return slug(source, max_chars=_SLUG_MAX) or "source-" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:8]


def version_relpath(first: str, version: int) -> PurePosixPath:
    """The file of an article's ``version`` beside its first (``NNN_<id>.txt``): ``NNN_<id>.vK.txt``
    from version 2 on (FORMAT.md)."""
    path = PurePosixPath(first)
    if version < 1 or not _VERSIONED.fullmatch(path.name):
        raise DocumentError(f"bad version {version!r} of {first!r}")
    stem = path.name.split(".", 1)[0]
    return path if version == 1 else path.with_name(f"{stem}.v{version}.txt")


def document_relpath(source: str, day: date, seq: int, article_id: str) -> PurePosixPath:
    """``tass/2020-08-13/000_a30330e5f04940d9.txt``: relative to the archive folder."""
    if seq < 0 or not _ARTICLE_ID.fullmatch(article_id):
        raise DocumentError(f"bad sequence number {seq!r} or article id {article_id!r}")
    folder = f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
    return PurePosixPath(source_slug(source), folder, f"{seq:03d}_{article_id}.txt")
