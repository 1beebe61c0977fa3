"""The CDXJ index beside each WARC file, in cdxj-indexer's format, so that pywb and other tools replay the archive."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import surt  # type: ignore[import-untyped]

from aggregator.capture.read import iter_records
from aggregator.errors import CaptureError
from aggregator.models import CaptureRef

#: What cdxj-indexer cuts a Content-Type at to get the "mime" field (its RE_SPACE).
_MIME_END = re.compile(r"[;\s]")
#: The record types an index lists: cdxj-indexer's defaults among the types we write.
INDEXED_TYPES = ("response", "revisit")


def index_path(warc: Path) -> Path:
    """``x.cdxj`` beside ``x.warc.gz``, and beside ``x.warc.gz.open`` too: one name for the file's
    whole life."""
    name = warc.name.removesuffix(".open")
    for suffix in (".warc.gz", ".warc"):
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    return warc.with_name(name + ".cdxj")


def cdxj_line(ref: CaptureRef, filename: str | None = None) -> str:
    """The index line of one response or revisit record (no newline): ``<SURT> <timestamp> <JSON>``,
    the fields as cdxj-indexer writes them (their order, every value a string, a field it would
    leave out left out). ``filename`` replaces ``ref.file`` (the name of an open file)."""
    fields: dict[str, str] = {"url": ref.url}
    mime = "warc/revisit" if ref.record_type == "revisit" else _mime(ref.content_type)
    if mime is not None:
        fields["mime"] = mime
    if ref.status is not None:
        fields["status"] = str(ref.status)
    fields["digest"] = ref.digest
    fields["length"] = str(ref.length)
    fields["offset"] = str(ref.offset)
    fields["filename"] = filename if filename is not None else ref.file
    return f"{_surt(ref.url)} {_timestamp(ref.date)} {json.dumps(fields)}"


def write_index(warc: Path, refs: Iterable[CaptureRef]) -> Path:
    """Write the index of ``warc`` (its lines naming ``warc.name``) atomically, sorted; return its path."""
    lines = sorted(cdxj_line(ref, warc.name) for ref in refs)
    target = index_path(warc)
    text = "".join(line + "\n" for line in lines).encode("utf-8")
    # The temporary name does not end in .cdxj: a reader of the folder never sees a half-written index.
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise CaptureError(f"{target}: cannot write the index: {err.strerror or err}") from err
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as err:
        with contextlib.suppress(OSError):  # the failure is reported already
            os.unlink(temporary)
        raise CaptureError(f"{target}: cannot write the index: {err.strerror or err}") from err
    return target


def index_file(path: Path) -> Path:
    """(Re)build the index of the WARC file at ``path`` (closed or open) by reading it; return its path.
    A record that cannot be read raises CaptureError, and no index is written."""
    refs = [
        CaptureRef(
            file=path.name,
            offset=offset,
            length=length,
            record_type=record.record_type,
            url=record.url or "",
            date=record.date,
            status=record.status,
            digest=record.digest or "",
            content_type=record.content_type,
        )
        for offset, length, record in iter_records(path)
        if record.record_type in INDEXED_TYPES
    ]
    return write_index(path, refs)


def _mime(content_type: str | None) -> str | None:
    # cdxj-indexer: absent header, no field; present, its value as parsed (no surrounding white
    # space) up to the first ";" or white space
    if content_type is None:
        return None
    return _MIME_END.split(content_type.strip(), maxsplit=1)[0]


def _surt(url: str) -> str:
    try:
        return str(surt.surt(url))
    except Exception:  # as cdxj-indexer does: a URL surt cannot parse is its own key
        return url


def _timestamp(date: str) -> str:
    """The 14-digit timestamp of a WARC-Date (``2024-05-01T10:11:12.123456Z`` → ``20240501101112``)."""
    return re.sub(r"\D", "", date)[:14]
