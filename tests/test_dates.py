"""dates.date_flag: a page time far from the feed entry's time is recorded, a near one is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aggregator.document.dating import date_flag

FEED = datetime(2020, 8, 12, 21, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (FEED + timedelta(days=3, hours=12), "page date 3.5 days after feed date"),
        (FEED - timedelta(days=10), "page date 10.0 days before feed date"),
        (FEED + timedelta(days=2), None),  # exactly two days: not flagged
        (FEED.astimezone(timezone(timedelta(hours=3))), None),  # same instant in another zone
        (None, None),
        (datetime(2020, 8, 20), None),  # naive: no instant to compare
    ],
)
def test_date_flag(page: datetime | None, expected: str | None) -> None:
    assert date_flag(page, FEED) == expected


def test_no_feed_time_no_flag() -> None:
    assert date_flag(FEED, None) is None
