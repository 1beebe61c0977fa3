"""The fetcher's retries: which failures are tried again, and after how long (the only tenacity user).

A transient failure (:attr:`errors.FetchError.transient`: a network error, a time-out, a 429 or
5xx status) is retried ``settings.retries`` times. The wait is the server's Retry-After when it
gave one, else ``retry_backoff × 2^(n-1)`` after the n-th failure plus up to ``retry_backoff`` of
jitter, never more than ``max(max_retry_after, retry_backoff)``. A server asking for a longer
pause than ``max_retry_after`` is answered at once with its error: the caller reschedules.

Every attempt, the first included, runs under tenacity; the last failure is raised as it was.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from aggregator import errors
from aggregator.models import Settings

__all__ = ["Retries"]

P = ParamSpec("P")
T = TypeVar("T")


class Retries:
    """The retry policy of one fetcher; ``sleep`` is awaited between attempts, and nothing is held
    meanwhile (an attempt takes its concurrency slots itself)."""

    def __init__(self, settings: Settings, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._settings = settings
        self._sleep = sleep

    async def run(self, attempt: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """``await attempt(*args, **kwargs)``, again after each failure it may be retried for, at
        most ``settings.retries`` times."""
        # One AsyncRetrying per call: it keeps the state of the attempts it runs.
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._settings.retries + 1),
            retry=retry_if_exception(self.should_retry),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        return await retrying(attempt, *args, **kwargs)

    def should_retry(self, exc: BaseException) -> bool:
        """Whether a failed attempt that raised ``exc`` may be tried again."""
        if not isinstance(exc, errors.FetchError) or not exc.transient:
            return False
        return not (
            isinstance(exc, errors.HTTPStatusError)
            and exc.retry_after is not None
            and exc.retry_after > self._settings.max_retry_after
        )

    def delay(self, exc: BaseException, failed_attempts: int) -> float:
        """Seconds to wait after ``failed_attempts`` attempts, the last of which raised ``exc``."""
        if isinstance(exc, errors.HTTPStatusError) and exc.retry_after is not None:
            return exc.retry_after
        base = self._settings.retry_backoff
        backoff = base * 2 ** (failed_attempts - 1) + random.uniform(0, base)
        return min(backoff, max(self._settings.max_retry_after, base))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        return self.delay(exc, state.attempt_number) if exc is not None else 0.0
