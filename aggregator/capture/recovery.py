"""Closes the WARC files that a writer left open when it died: cut at the last whole record, named, indexed."""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
from collections.abc import Iterator
from pathlib import Path

from aggregator.capture.index import index_file, index_path
from aggregator.capture.read import iter_records
from aggregator.capture.warc import fsync_folder
from aggregator.errors import CaptureError

#: The first bytes of every gzip member (magic number, deflate).
_GZIP_START = b"\x1f\x8b\x08"


def recover(folder: Path) -> list[str]:
    """Finish every ``*.warc.gz.open`` file of ``folder`` whose writer is gone (nobody holds its
    lock): cut it after its last whole record, fsync it, give it its final name and its index. One
    line per file handled. A file still locked by a live writer is left alone; a file holding no
    whole record is removed; a file with a damaged record *followed by* readable ones is left as it
    is (cutting it would lose them), and its line says so, as it says why a file could not be
    recovered: one bad file does not keep the archiver from starting."""
    lines: list[str] = []
    if not folder.is_dir():
        return lines
    for path in sorted(folder.glob("*.warc.gz.open")):
        try:
            line = _recover_hidden(path) if path.name.startswith(".") else _recover(path)
        except CaptureError as err:
            line = f"{path.name}: not recovered: {err}"
        if line:
            lines.append(line)
    return lines


def abandoned(folder: Path) -> list[Path]:
    """The ``.open`` files of ``folder`` whose writer is gone (nobody holds the lock): what
    ``recover`` would finish. A live writer's file is not among them."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.warc.gz.open")):
        with _locked(path) as fd:
            if fd is not None:
                found.append(path)
    return found


def _recover(path: Path) -> str | None:
    final = path.with_name(path.name.removesuffix(".open"))
    with _locked(path) as fd:
        if fd is None:
            return None
        end, kept, problem = _whole_records(path)
        size = os.fstat(fd).st_size
        if problem is not None:
            later = _readable_record_after(path, end)
            if later is not None:
                return f"{path.name}: left as it is: {problem}, but a readable record starts at {later}"
        if kept == 0:
            _remove(path)
            if index_path(final).exists():
                _remove(index_path(final))
            return f"{path.name}: removed: it holds no whole record ({problem or 'empty'})"
        if final.exists():
            return f"{path.name}: left as it is: {final.name} exists already"
        try:
            if end < size:
                os.ftruncate(fd, end)
            os.fsync(fd)
            os.rename(path, final)
            fsync_folder(path.parent)
        except OSError as err:
            raise CaptureError(f"{path}: cannot recover: {err.strerror or err}") from err
    index_file(final)
    records = f"{kept} record{'s' if kept != 1 else ''} kept"
    if end < size:
        return f"{final.name}: cut a torn record at {end} ({records})"
    return f"{final.name}: closed after its writer died, nothing torn ({records})"


def _recover_hidden(path: Path) -> str | None:
    """A hidden ``.x.warc.gz.open`` is a file whose writer died while creating it (before its
    warcinfo record was whole): nothing in it was ever reported to anyone."""
    with _locked(path) as fd:
        if fd is None:
            return None
        _remove(path)
    return f"{path.name}: removed: its writer died while creating it"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[int | None]:
    """The file opened for writing and exclusively locked, or None when a live writer holds it (or
    it is gone: closed and renamed by its writer meanwhile)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = -1
    except OSError as err:
        raise CaptureError(f"{path}: cannot open: {err.strerror or err}") from err
    if fd < 0:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # A writer renames its file before it lets go of the lock: if the name now leads to
            # another file, or none, the file was closed between our open and our lock.
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except (BlockingIOError, FileNotFoundError):
            same = False
        yield fd if same else None
    finally:
        os.close(fd)


def _whole_records(path: Path) -> tuple[int, int, str | None]:
    """Where the run of whole records from the file's start ends, how many it holds, and why the
    bytes after it (if any) are no record."""
    end = kept = 0
    try:
        for offset, length, _record in iter_records(path):
            end, kept = offset + length, kept + 1
    except CaptureError as err:
        return end, kept, str(err).removeprefix(f"{path} at {end}: ")
    return end, kept, None


def _readable_record_after(path: Path, start: int) -> int | None:
    """The offset of a whole record after ``start`` (a damaged record), if the file has one: its
    damage is then not a torn tail but something a person must look at."""
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size <= start + 1:
            return None
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            candidate = data.find(_GZIP_START, start + 1)
            while candidate != -1:
                records = iter_records(path, candidate)
                try:
                    next(records)
                except (CaptureError, StopIteration):
                    candidate = data.find(_GZIP_START, candidate + 1)
                else:
                    return candidate
                finally:
                    records.close()
    return None


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError as err:
        raise CaptureError(f"{path}: cannot remove: {err.strerror or err}") from err
