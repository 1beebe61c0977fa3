import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.config.settings import INTERVAL_RANGE, SETTINGS_RANGES
from aggregator.pipeline.timing import (
    MAX_SERVER_DELAY,
    first_revisit,
    health,
    next_poll,
    page_retry_at,
    revisit_plan,
    server_min_interval,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def delay(**kwargs: object) -> float:
    return (next_poll(NOW, **kwargs) - NOW).total_seconds()  # type: ignore[arg-type]


def test_success_waits_the_interval_plus_up_to_ten_percent() -> None:
    assert delay(interval=900, jitter=lambda: 0.0) == 900
    assert delay(interval=900, jitter=lambda: 1.0) == 990


def test_backoff_doubles_with_equal_jitter_and_is_capped() -> None:
    lowest = [delay(interval=900, error_count=n, jitter=lambda: 0.0) for n in range(1, 8)]
    highest = [delay(interval=900, error_count=n, jitter=lambda: 1.0) for n in range(1, 8)]
    assert highest == [900, 1800, 3600, 7200, 14400, 21600, 21600]
    assert lowest == [450, 900, 1800, 3600, 7200, 10800, 10800]
    assert delay(interval=900, error_count=50, max_backoff=3600, jitter=lambda: 1.0) == 3600


def test_server_hints_and_retry_after_are_obeyed() -> None:
    assert delay(interval=900, server_delay=3600, jitter=lambda: 0.0) == 3600
    assert delay(interval=900, server_delay=60, jitter=lambda: 0.0) == 900
    assert delay(interval=900, error_count=1, retry_after=7200, jitter=lambda: 0.0) == 7200
    assert delay(interval=900, error_count=1, retry_after=10**9, jitter=lambda: 0.0) == 86400


@pytest.mark.parametrize(
    ("headers", "ttl", "expected"),
    [
        ({}, None, None),
        ({}, 60, 3600),
        ({"cache-control": "public, max-age=1800"}, None, 1800),
        ({"cache-control": "s-maxage=10, max-age=300"}, 30, 1800),
        ({"cache-control": "max-age=99999999"}, None, 86400),
        ({"expires": "Thu, 01 Jan 2026 12:30:00 GMT"}, None, 1800),
        ({"expires": "0"}, None, None),
        ({"expires": "Thu, 01 Jan 2026 11:00:00 GMT"}, None, 0),
    ],
)
def test_server_min_interval(headers: dict[str, str], ttl: int | None, expected: int | None) -> None:
    assert server_min_interval(headers, ttl, NOW) == expected


def test_page_retries_back_off_by_four() -> None:
    waits = [(page_retry_at(NOW, n, 600) - NOW).total_seconds() for n in range(1, 6)]
    assert waits == [600, 2400, 9600, 21600, 21600]


def test_health_states() -> None:
    assert [health(n) for n in (0, 1, 2, 3, 10)] == ["ok", "backing_off", "backing_off", "failing", "failing"]


# -- any number of failures: no overflow, no giant integers, the same waits as before for few ----

INTERVALS = st.integers(int(INTERVAL_RANGE.low), int(INTERVAL_RANGE.high))
MAX_BACKOFFS = st.integers(int(SETTINGS_RANGES["max_backoff"].low), int(SETTINGS_RANGES["max_backoff"].high))
PAGE_DELAYS = st.integers(int(SETTINGS_RANGES["page_retry_delay"].low), int(SETTINGS_RANGES["page_retry_delay"].high))


@pytest.mark.parametrize("errors", [1024, 1025, 10**6, 10**9])
def test_a_feed_that_failed_a_thousand_times_is_still_scheduled(errors: int) -> None:
    # interval * 2.0 ** (errors - 1) overflowed a float from 1,024 failures on (every run crashed)
    assert delay(interval=900, error_count=errors, jitter=lambda: 1.0) == 21600
    assert delay(interval=900, error_count=errors, jitter=lambda: 0.0) == 10800
    assert delay(interval=365 * 86400, error_count=errors, max_backoff=30 * 86400, jitter=lambda: 1.0) == 30 * 86400


@pytest.mark.parametrize("attempts", [1000, 10**6, 10**9])
def test_a_page_that_failed_a_billion_times_is_still_scheduled(attempts: int) -> None:
    # 600 * 4 ** (attempts - 1) was an integer of millions of digits: a long hang, then the cap
    tracemalloc.start()
    try:
        assert page_retry_at(NOW, attempts, 600) == NOW + timedelta(seconds=21600)
        assert page_retry_at(NOW, attempts, 0) == NOW
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024  # no huge integer on the way (4 ** 10**6 alone takes 250 KB)
    # where the exponent stops, the smallest base has long reached the largest cap
    assert page_retry_at(NOW, attempts, 1, max_backoff=30 * 86400) == NOW + timedelta(days=30)


@settings(max_examples=300, deadline=None)
@given(interval=INTERVALS, errors=st.integers(1, 1023), max_backoff=MAX_BACKOFFS, jitter=st.floats(0, 1))
def test_few_failures_back_off_exactly_as_before(interval: int, errors: int, max_backoff: int, jitter: float) -> None:
    backoff = min(float(max_backoff), interval * 2.0 ** (errors - 1))  # the formula before the cap
    expected = NOW + timedelta(seconds=round(backoff / 2 + backoff / 2 * jitter))
    assert (
        next_poll(NOW, interval=interval, error_count=errors, max_backoff=max_backoff, jitter=lambda: jitter)
        == expected
    )


@settings(max_examples=300, deadline=None)
@given(attempts=st.integers(0, 200), base=PAGE_DELAYS, max_backoff=MAX_BACKOFFS)
def test_few_page_failures_wait_exactly_as_before(attempts: int, base: int, max_backoff: int) -> None:
    expected = NOW + timedelta(seconds=min(max_backoff, base * 4 ** max(0, attempts - 1)))
    assert page_retry_at(NOW, attempts, base, max_backoff) == expected


@settings(max_examples=300, deadline=None)
@given(
    interval=INTERVALS,
    errors=st.integers(0, 10**9),
    max_backoff=MAX_BACKOFFS,
    jitter=st.floats(0, 1),
    server_delay=st.none() | st.integers(0, MAX_SERVER_DELAY),
    retry_after=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    attempts=st.integers(0, 10**9),
    base=PAGE_DELAYS,
)
def test_any_count_within_the_config_ranges_gives_a_time_within_the_caps(
    interval: int,
    errors: int,
    max_backoff: int,
    jitter: float,
    server_delay: int | None,
    retry_after: float | None,
    attempts: int,
    base: int,
) -> None:
    at = next_poll(
        NOW,
        interval=interval,
        error_count=errors,
        server_delay=server_delay,
        retry_after=retry_after,
        max_backoff=max_backoff,
        jitter=lambda: jitter,
    )
    longest = max(interval, server_delay or 0) * 1.1 if errors == 0 else max_backoff
    assert NOW <= at <= NOW + timedelta(seconds=round(max(longest, MAX_SERVER_DELAY)))
    assert NOW <= page_retry_at(NOW, attempts, base, max_backoff) <= NOW + timedelta(seconds=max_backoff)


def test_a_max_age_of_thousands_of_digits_is_capped_at_a_day() -> None:
    # int() refuses more than 4,300 digits (ValueError): a hostile header crashed the poll
    assert server_min_interval({"cache-control": "max-age=" + "9" * 5000}, None, NOW) == 86400
    assert server_min_interval({"cache-control": "max-age=" + "0" * 5000 + "60"}, None, NOW) == 60
    assert server_min_interval({"cache-control": "max-age=1234567890"}, None, NOW) == 86400


def test_revisits_follow_the_delays_and_skip_the_missed_ones() -> None:
    first = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    delays = (3600, 21600, 86400)
    assert first_revisit(first, delays, first) == (0, first + timedelta(hours=1))
    # planned late (an archive from before revisits, or a daemon that was down): once now
    late = first + timedelta(hours=7)
    assert first_revisit(first, delays, late) == (1, late)
    assert first_revisit(first, delays, first + timedelta(days=2)) == (3, None)  # the schedule is over
    assert first_revisit(first, (), first) == (0, None)
    # after a revisit at the 1 h mark, the next is at 6 h; after one at 7 h, at 1 d (6 h is past)
    assert revisit_plan(first, delays, 0, first + timedelta(hours=1)) == (1, first + timedelta(hours=6))
    assert revisit_plan(first, delays, 1, late) == (2, first + timedelta(days=1))
    assert revisit_plan(first, delays, 2, first + timedelta(days=1)) == (3, None)
    # a revisit brought forward (the feed said the item was updated) keeps the slot still ahead
    assert revisit_plan(first, delays, 1, first + timedelta(hours=2)) == (1, first + timedelta(hours=6))
