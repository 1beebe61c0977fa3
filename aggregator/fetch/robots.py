"""robots.txt, as RFC 9309 asks a crawler to read it (the only protego user).

Every request the fetcher sends (feed, page, sitemap, Wayback) is checked against the rules of its
origin first; a disallowed URL is refused as :class:`errors.RobotsRefused` (reason ``robots``) and
never requested. The rules of an origin are fetched once and kept for a day; what they say about
pace (``Crawl-delay``, ``Request-rate``) is the origin's minimum spacing between requests.

What an answer means (RFC 9309, 2.3.1): a 2xx is the rules; a 4xx means no rules (everything
allowed); a 5xx means the rules are unreachable, so everything is disallowed
(``robots_unavailable``) until they answer, unless rules read earlier are still at hand. A host
that does not answer at all fails the request with that failure (network, time-out), unkept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from protego import Protego

from aggregator import errors
from aggregator.fetch.failures import shown

__all__ = ["FETCH_ROBOTS_BYTES", "MAX_ROBOTS_BYTES", "UNREADABLE", "Robots", "Rules"]

#: The largest robots.txt read (RFC 9309 asks for at least 500 KiB; the rest is ignored).
MAX_ROBOTS_BYTES = 512 * 1024
#: How long rules (or their absence) are kept before they are fetched again.
KEEP_RULES = 24 * 3600.0
#: How long an unreachable robots.txt is believed unreachable before it is asked again.
RETRY_UNREACHABLE = 600.0
#: A Crawl-delay longer than this is read as this (a typo of "10" as "10000" must not stall a host).
MAX_CRAWL_DELAY = 60.0

#: (status, body) of a robots.txt fetch; status UNREADABLE: an answer no rules can be read from
#: (larger than FETCH_ROBOTS_BYTES), the reason in the body
Answer = tuple[int, bytes]
UNREADABLE = 0
#: What is downloaded of a robots.txt before its first MAX_ROBOTS_BYTES are read; a larger one
#: is unreadable (disallow all: nobody writes rules of megabytes for crawlers to follow).
FETCH_ROBOTS_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Rules:
    """One origin's robots.txt as read at one time."""

    parser: Protego | None  # None: no rules (a 4xx), everything allowed
    unreachable: str | None = None  # why the rules could not be read: everything disallowed

    def allows(self, url: str, agent: str) -> bool:
        if self.unreachable is not None:
            return False
        return self.parser is None or bool(self.parser.can_fetch(url, agent))

    def spacing(self, agent: str) -> float:
        """The least time between two requests to the origin that the rules ask for, in seconds."""
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(agent) or 0.0
        rate = self.parser.request_rate(agent)
        if rate is not None and rate.requests:
            delay = max(delay, rate.seconds / rate.requests)
        return min(float(delay), MAX_CRAWL_DELAY)

    def sitemaps(self) -> list[str]:
        """The ``Sitemap:`` lines, in the order written."""
        return list(self.parser.sitemaps) if self.parser is not None else []


@dataclass
class _Kept:
    rules: Rules
    until: float  # monotonic time the rules are fetched again after
    good: Rules | None  # the last rules read from a 2xx or 4xx, kept through an outage


class Robots:
    """The robots.txt rules of every origin one fetcher talks to.

    ``fetch(url)`` gets a robots.txt: (status, body), status None when unreachable; it is the
    fetcher's own request path, without the robots check. ``agent`` is the product token the rules
    are matched against (``aggregator`` of ``aggregator/0.1 (...)``)."""

    def __init__(
        self,
        agent: str,
        fetch: Callable[[str], Awaitable[Answer]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.agent = agent
        self._fetch = fetch
        self._clock = clock
        self._kept: dict[str, _Kept] = {}
        self._reading: dict[str, asyncio.Future[Rules]] = {}  # one fetch per origin at a time

    async def rules(self, origin: str) -> Rules:
        """The rules of ``origin`` (``scheme://host:port``), fetched when not known or too old."""
        kept = self._kept.get(origin)
        if kept is not None and self._clock() < kept.until:
            return kept.rules
        reading = self._reading.get(origin)
        if reading is None:
            # A task of its own, that every caller awaits shielded: one caller cancelled (its poll
            # stopped) cancels neither the read nor the others waiting for it.
            reading = asyncio.ensure_future(self._read(origin, kept.good if kept is not None else None))
            self._reading[origin] = reading
            reading.add_done_callback(lambda _: self._reading.pop(origin, None))
        return await asyncio.shield(reading)

    async def check(self, url: str, origin: str) -> float:
        """Refuse ``url`` unless its origin's rules allow it; returns the spacing they ask for."""
        rules = await self.rules(origin)
        if rules.unreachable is not None:
            raise errors.RobotsRefused(
                f"GET {shown(url)}: not requested, robots.txt of {origin} cannot be read ({rules.unreachable}); "
                "asked again later",
                url=url,
                reason="robots_unavailable",
            )
        if not rules.allows(url, self.agent):
            raise errors.RobotsRefused(f"GET {shown(url)}: disallowed by {origin}/robots.txt", url=url)
        return rules.spacing(self.agent)

    async def _read(self, origin: str, good: Rules | None) -> Rules:
        status, body = await self._fetch(f"{origin}/robots.txt")
        now = self._clock()
        if status >= 500 or status == 429 or status == UNREADABLE:
            why = f"HTTP {status}" if status != UNREADABLE else body.decode("utf-8", "replace")
            rules = good or Rules(None, unreachable=why)
            self._kept[origin] = _Kept(rules, now + RETRY_UNREACHABLE, good)
            return rules
        if 200 <= status < 300:
            text = body[:MAX_ROBOTS_BYTES].decode("utf-8-sig", "replace")  # a byte-order mark is no rule
            rules = Rules(_parse(text))
        else:  # 4xx (401 and 403 too, as RFC 9309 says): no rules
            rules = Rules(None)
        self._kept[origin] = _Kept(rules, now + KEEP_RULES, rules)
        return rules


def _parse(text: str) -> Protego | None:
    """protego's rules of ``text``; None (no rules) for a file it cannot read."""
    try:
        return Protego.parse(text)
    except Exception:  # a parser's failure on hostile text: a file nobody can read has no rules
        return None


def agent_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: ``aggregator/0.1 (x)`` -> ``aggregator``."""
    token = user_agent.split("/", 1)[0].split(None, 1)
    return token[0] if token else user_agent
