from datetime import UTC, datetime

import pytest

from aggregator.schedule import health, next_poll, page_retry_at, server_min_interval

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
    assert [health("ok", n) for n in (0, 1, 2, 3, 10)] == ["ok", "backing_off", "backing_off", "failing", "failing"]
    assert health("gone", 0) == "gone"
    assert health("new", 0) == "new"
