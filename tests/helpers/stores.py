"""The store backends the interface suite (tests/test_store.py) runs against.

A backend gives each test a fresh, empty archive: ``open()`` opens it, and opening it again gives
another connection to the same archive (another writer, or the archive after a restart). A second
backend is one more entry in ``BACKENDS``, and the whole suite runs against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aggregator.store import Store, open_store


@dataclass(frozen=True)
class Backend:
    name: str
    open: Callable[[], Store]


def sqlite_backend(folder: Path) -> Backend:
    return Backend("sqlite", lambda: open_store(folder / "sub" / "archive.db"))


#: name -> the backend of one test, given that test's temporary folder
BACKENDS: dict[str, Callable[[Path], Backend]] = {"sqlite": sqlite_backend}
