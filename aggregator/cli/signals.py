"""SIGTERM and SIGINT from the first line of ``main``: held until the command knows what they mean.

Importing the commands takes most of a second; a signal in that time used to get the default
action (SIGTERM killed ``aggregator run`` with status 143, before it could stop in order).
``hold`` records them instead, first thing. A command that handles them itself (the daemon) takes
them over (``take_over``) and acts at once on one that came while held; every other command gets
the previous behaviour back (``release``) before it runs, and a signal that came meanwhile takes
effect then, as it would have a moment earlier. Only ``main`` holds: the command line run in a
test's own process (click's ``CliRunner``) leaves signals alone, and so do these functions.

Stdlib only, and imported before anything else of the command line.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

#: the signals held, and what each did before (None when nothing is held)
_previous: dict[int, Any] | None = None
#: the held signals that came, in order, each once
_pending: list[int] = []


def hold() -> None:
    """Record SIGTERM and SIGINT instead of acting on them, until ``take_over`` or ``release``."""
    global _previous
    if _previous is not None:
        return
    _previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        _previous[signum] = signal.signal(signum, _record)


def _record(signum: int, frame: FrameType | None) -> None:
    if signum not in _pending:
        _pending.append(signum)


def take_over(stop: Callable[[], None]) -> None:
    """SIGTERM and SIGINT call ``stop`` from now on; one that came while held calls it now."""
    global _previous
    if _previous is None:
        return
    for signum in _previous:
        signal.signal(signum, lambda *_: stop())
    _previous = None  # from here on a signal goes to stop, never to the list: nothing is missed
    if _pending:
        _pending.clear()
        stop()


def release(*, exiting: bool = False) -> None:
    """The previous behaviour back; a signal that came while held takes effect now. ``exiting``:
    the process is on its way out, so a signal whose handler would raise (SIGINT's
    KeyboardInterrupt) ends it the way the default action does instead."""
    global _previous
    if _previous is None:
        return
    previous, _previous = _previous, None
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    pending = list(_pending)
    _pending.clear()
    for signum in pending:
        if exiting and callable(previous[signum]):
            signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
