"""What a progress display is told: more work was found, one piece of work was done."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def add(self, count: int) -> None: ...

    def advance(self, count: int = 1) -> None: ...


class NoProgress:
    """The progress display of a run nobody watches."""

    def add(self, count: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass
