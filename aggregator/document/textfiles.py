"""Atomic writes of archive documents inside the archive folder (never outside it)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from aggregator.errors import StoreError

#: temporary files are ``.tmp-<pid>-<random>.txt`` beside their target, so that a leftover one
#: (its writer was killed between write and rename) can be told from one still being written
TEMP_PREFIX = ".tmp-"


def temp_files(root: Path) -> list[Path]:
    """Every temporary document file under ``root``, whoever wrote it."""
    return sorted(root.rglob(f"{TEMP_PREFIX}*.txt")) if root.is_dir() else []


def remove_stale_temp_files(root: Path) -> list[Path]:
    """Delete the temporary files under ``root`` whose writing process is gone; returns them."""
    removed = []
    for path in temp_files(root):
        pid = path.name.removeprefix(TEMP_PREFIX).partition("-")[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    """Write ``text`` as UTF-8 (LF, no BOM) to ``root/relpath`` via a temporary file and rename."""
    target = resolve_inside(root, relpath)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".txt", dir=target.parent)
        try:
            os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the archive from other readers
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, UnicodeEncodeError) as exc:  # UnicodeEncodeError: a lone surrogate is no UTF-8
        raise StoreError(f"{target}: cannot write document: {exc}") from None
    return target
