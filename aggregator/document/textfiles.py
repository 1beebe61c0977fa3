"""Atomic writes of archive documents inside the archive folder (never outside it); the check that
a folder of the archive can be written; the temporary files killed writers leave behind.

A folder that cannot be written is an ``ArchiveFolderError`` naming the folder at fault (the
nearest one that exists: a read-only ``archive/``, or the file ``archive/tass`` standing where a
folder should be) and the system's reason, so that every document refused for one cause gives
the same message.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from pathlib import Path, PurePosixPath

from aggregator.errors import ArchiveFolderError, StoreError

#: temporary files are ``.tmp-<pid>-<random>.txt`` beside their target, so that a leftover one
#: (its writer was killed between write and rename) can be told from one still being written
TEMP_PREFIX = ".tmp-"
#: other temporary files in the archive: a WARC index's (``.<name>.cdxj.<random>.tmp``) and an
#: export's (``.tmp-<random>``); their names carry no pid
TEMP_SUFFIX = ".tmp"
#: a temporary file is left alone, as perhaps still being written, until it is this old (seconds)
#: unless its name says its writer is gone; no write of ours takes a fraction of it
TEMP_MAX_AGE = 3600
_DOCUMENT_TEMP = re.compile(rf"{re.escape(TEMP_PREFIX)}([0-9]+)-.*\.txt")


def temp_files(root: Path) -> list[Path]:
    """Every temporary file under ``root``, whoever wrote it: documents', WARC indexes', exports'."""
    found = []
    for folder, _, names in os.walk(root):
        found += [Path(folder, name) for name in names if name.startswith(TEMP_PREFIX) or name.endswith(TEMP_SUFFIX)]
    return sorted(found)


def writer_gone(path: Path) -> bool:
    """Whether a temporary file's name names its writer's pid, and no process has that pid."""
    match = _DOCUMENT_TEMP.fullmatch(path.name)
    return match is not None and not process_alive(int(match.group(1)))


def is_stale(path: Path, now: float | None = None) -> bool:
    """Whether a temporary file is surely nobody's write in progress: its writer is gone, or it
    was last changed ``TEMP_MAX_AGE`` seconds ago or more."""
    if writer_gone(path):
        return True
    try:
        changed = path.stat().st_mtime
    except FileNotFoundError:
        return False
    return (time.time() if now is None else now) - changed >= TEMP_MAX_AGE


def remove_stale_temp_files(root: Path) -> list[Path]:
    """Delete the temporary files under ``root`` that are stale (``is_stale``); returns them."""
    now = time.time()
    removed = []
    for path in temp_files(root):
        if is_stale(path, now):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:  # a pid no system has
        return False
    return True


def check_writable(folder: Path) -> None:
    """Prove that a file can be written in ``folder`` or, when it does not exist yet, in the folder
    that would hold it (a temporary file, created and removed at once; no folder is created);
    else ArchiveFolderError naming the folder at fault and why."""
    existing = _nearest_existing(folder)
    try:
        if not stat.S_ISDIR(os.stat(existing).st_mode):
            raise _not_a_folder(existing)
        fd, probe = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".txt", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ArchiveFolderError(existing, _reason(exc)) from None


def folder_error(folder: Path, exc: OSError) -> ArchiveFolderError:
    """What a failed write in ``folder`` says: the nearest folder that exists, and why it refused."""
    existing = _nearest_existing(folder)
    try:
        if not stat.S_ISDIR(os.stat(existing).st_mode):
            return _not_a_folder(existing)
    except OSError:
        pass
    return ArchiveFolderError(existing, _reason(exc))


def _nearest_existing(folder: Path) -> Path:
    while not os.path.lexists(folder) and folder.parent != folder:
        folder = folder.parent
    return folder


def _not_a_folder(path: Path) -> ArchiveFolderError:
    return ArchiveFolderError(path, "it is a file, not a folder" if path.is_file() else "it is not a folder")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def resolve_inside(root: Path, relpath: str) -> Path:
    """``root / relpath``, refusing any path that would land outside ``root``."""
    rel = PurePosixPath(relpath)
    if "\0" in relpath or rel.is_absolute() or any(part in ("", ".", "..") for part in rel.parts):
        raise StoreError(f"{relpath!r}: refusing a document path outside the archive folder")
    target = (root / Path(*rel.parts)).resolve()
    if not target.is_relative_to(root.resolve()):
        raise StoreError(f"{relpath!r}: refusing a document path outside the archive folder")
    return target


def write_document(root: Path, relpath: str, text: str) -> Path:
    """Write ``text`` as UTF-8 (LF, no BOM) to ``root/relpath`` via a temporary file and rename.
    A folder that cannot be created or written is an ArchiveFolderError (``folder_error``)."""
    target = resolve_inside(root, relpath)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate is no UTF-8
        raise StoreError(f"{target}: cannot write document: {exc}") from None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".txt", dir=target.parent)
        try:
            os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the archive from other readers
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise folder_error(target.parent, exc) from None
    return target
