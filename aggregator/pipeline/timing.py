"""When to poll a feed again, and when to retry a failed page (pure functions of their inputs).

The next poll honours the feed's own interval, what the server says (RSS ``<ttl>``,
``Cache-Control: max-age``, ``Expires``, ``Retry-After``) and, after errors, an exponential
backoff with jitter capped at ``max_backoff``. Nothing here parks a feed forever: every delay
is capped, except for a feed that answered 410 Gone.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

#: Longest delay a server's caching hints may impose between polls.
MAX_SERVER_DELAY = 24 * 3600
#: Consecutive errors from which a feed's health is "failing" rather than "backing off".
FAILING_AFTER = 3

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?([0-9]+)", re.IGNORECASE)
#: Doublings (feeds) and quadruplings (pages) past which a backoff is capped whatever its base:
#: 2**64 times any interval of a second or more exceeds any max_backoff a config allows (30
#: days), so larger exponents change nothing; they would overflow a float from 1,024 on, and
#: make ``4 ** attempts`` an integer of millions of digits.
_MAX_DOUBLINGS = 64
_MAX_QUADRUPLINGS = 32

Jitter = Callable[[], float]


def server_min_interval(headers: Mapping[str, str], ttl_minutes: int | None, now: datetime) -> int | None:
    """Seconds the server asks us to wait before polling again, capped at a day; None if silent."""
    hints: list[int] = []
    if ttl_minutes:
        hints.append(ttl_minutes * 60)
    cache_control = headers.get("cache-control", "")
    match = _MAX_AGE.search(cache_control)
    if match:
        # Past a day it is capped anyway; and int() refuses a string of more than 4,300 digits.
        digits = match.group(1).lstrip("0") or "0"
        hints.append(int(digits) if len(digits) <= 9 else MAX_SERVER_DELAY)
    elif headers.get("expires"):
        try:
            expires = parsedate_to_datetime(headers["expires"])
        except (TypeError, ValueError):
            expires = None
        if expires is not None and expires.tzinfo is not None:
            hints.append(max(0, int((expires - now).total_seconds())))
    return min(max(hints), MAX_SERVER_DELAY) if hints else None


def next_poll(
    now: datetime,
    *,
    interval: int,
    error_count: int = 0,
    server_delay: int | None = None,
    retry_after: float | None = None,
    max_backoff: int = 6 * 3600,
    jitter: Jitter = random.random,
) -> datetime:
    """The next poll time after a poll that ended ``now``.

    ``error_count`` is the number of consecutive failed polls including this one (0: it
    succeeded). A success waits the interval (or longer if the server asks), plus up to 10 %
    jitter so that feeds drift apart. A failure waits ``interval * 2**(errors-1)`` with "equal
    jitter" (between half and all of it), capped at ``max_backoff``, and never less than a
    Retry-After the server sent. Any error count works: the exponent stops where the cap has
    long been reached.
    """
    if error_count <= 0:
        delay = max(float(interval), float(server_delay or 0)) * (1 + 0.1 * jitter())
    else:
        doublings = min(error_count - 1, _MAX_DOUBLINGS)
        backoff = min(float(max_backoff), interval * 2.0**doublings)
        delay = backoff / 2 + backoff / 2 * jitter()
    if retry_after:
        delay = max(delay, min(retry_after, MAX_SERVER_DELAY))
    return now + timedelta(seconds=round(delay))


def page_retry_at(now: datetime, attempts: int, base: int, max_backoff: int = 6 * 3600) -> datetime:
    """When a page that failed ``attempts`` times may be tried again: base, 4x base, 16x ...,
    capped at ``max_backoff`` (any number of attempts: the exponent stops past the cap)."""
    quadruplings = min(max(0, attempts - 1), _MAX_QUADRUPLINGS)
    return now + timedelta(seconds=min(max_backoff, base * 4**quadruplings))


def health(error_count: int) -> str:
    """A polled feed's visible state after ``error_count`` consecutive failures: ok, backing_off or
    failing (``new`` and ``gone`` are not the outcome of a count)."""
    if error_count <= 0:
        return "ok"
    return "failing" if error_count >= FAILING_AFTER else "backing_off"


def revisit_plan(
    first_archived: datetime, delays: tuple[int, ...], step: int, now: datetime
) -> tuple[int, datetime | None]:
    """The next revisit of an article first archived at ``first_archived``, after ``step`` of its
    ``delays`` (seconds after that time): ``(step, when)``, skipping the delays already past (a
    daemon that was down revisits once, not once per missed delay); ``when`` None once the
    schedule is over."""
    while step < len(delays) and first_archived + timedelta(seconds=delays[step]) <= now:
        step += 1
    return step, (first_archived + timedelta(seconds=delays[step]) if step < len(delays) else None)


def first_revisit(first_archived: datetime, delays: tuple[int, ...], now: datetime) -> tuple[int, datetime | None]:
    """The first revisit of an article not scheduled yet: at its first delay; when a delay has
    passed already (planned late, or archived before revisits existed) one revisit now, unless the
    whole schedule is over."""
    if not delays or first_archived + timedelta(seconds=delays[-1]) <= now:
        return len(delays), None
    step, when = revisit_plan(first_archived, delays, 0, now)
    return (0, when) if step == 0 else (step - 1, now)
