"""How late the event loop runs: the measure that the daemon never blocks it.

A timer is set for a fixed delay, again and again; how much later than asked it fires is the
time the loop was kept from running anything else (a blocking call, a long computation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

#: seconds between two measurements
PROBE_EVERY = 0.25


class LoopLag:
    """The latest lag and the largest seen (``worst``); each measurement is also given to ``report``."""

    def __init__(self, report: Callable[[float], None], every: float = PROBE_EVERY) -> None:
        self.report = report
        self.every = every
        self.last = 0.0
        self.worst = 0.0

    async def watch(self) -> None:
        """Measure until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + self.every
            await asyncio.sleep(self.every)
            self.last = max(0.0, loop.time() - asked)
            self.worst = max(self.worst, self.last)
            self.report(self.last)
