"""The pace of requests to one site: the spacing robots.txt asks for, and the backfill rate.

Requests are paced per registrable domain (``news.example.co.uk`` and ``www.example.co.uk`` are one
site). A live request (a feed poll, a new article) waits only for the site's ``Crawl-delay``; a
background request (backfill, gap filling) waits for ``1 / backfill_rate`` seconds after the last
request to the site, live ones included, and lets every live request that is waiting go first.

Invariant: after a request starts at time t, no request to the same site that asked for spacing
s starts before t + s. The time is claimed and checked in one step of the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Pacer"]

#: How often a background request looks again while live requests to its site are waiting.
_YIELD = 0.05


@dataclass
class _Site:
    last: float = float("-inf")  # loop time the last request to the site started
    live_waiting: int = 0
    turns: asyncio.Lock = field(default_factory=asyncio.Lock)  # live requests that must wait, in order
    background: asyncio.Lock = field(default_factory=asyncio.Lock)  # one background request at its turn


class Pacer:
    """Per-site spacing of the requests of one fetcher."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock
        self._sites: dict[str, _Site] = {}

    def background_turn(self, site: str) -> asyncio.Lock:
        """Held by the background request of ``site`` whose turn is next, from waiting for it to
        claiming it: the others wait here holding nothing, not on slots they would block."""
        state = self._sites.get(site)
        if state is None:
            state = self._sites[site] = _Site()
        return state.background

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def wait(self, site: str, spacing: float, *, background: bool = False, claim: bool = True) -> None:
        """Return when a request to ``site`` may start, and count it as started (``claim`` False:
        only wait for the turn, as a background request does before it takes its slots)."""
        state = self._sites.get(site)
        if state is None:
            state = self._sites[site] = _Site()
        if not background:
            await self._live(state, spacing)
            return
        while True:
            delay = state.last + spacing - self._now()
            if delay > 0:
                await asyncio.sleep(delay)
            elif state.live_waiting:
                await asyncio.sleep(min(_YIELD, spacing) if spacing > 0 else _YIELD)
            else:
                if claim:
                    state.last = self._now()
                return

    async def _live(self, state: _Site, spacing: float) -> None:
        if spacing <= 0 and not state.turns.locked():
            state.last = self._now()
            return
        state.live_waiting += 1
        try:
            async with state.turns:
                delay = state.last + spacing - self._now()
                if delay > 0:
                    await asyncio.sleep(delay)
                state.last = self._now()
        finally:
            state.live_waiting -= 1
