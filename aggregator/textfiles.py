"""Atomic writes of archive documents inside the archive folder (never outside it)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from .errors import StoreError


def resolve_inside(root: Path, relpath: str) -> Path:
    """``root / relpath``, refusing any path that would land outside ``root``."""
    rel = PurePosixPath(relpath)
    if rel.is_absolute() or any(part in ("", ".", "..") for part in rel.parts):
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
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".txt", dir=target.parent)
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
    except OSError as exc:
        raise StoreError(f"{target}: cannot write document: {exc}") from None
    return target
