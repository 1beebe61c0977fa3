"""dates.date_flag: a page time far from the feed entry's time is recorded, a near one is not; and
isodates.parse_iso, the one ISO 8601 reader of page times and feed dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aggregator.document.dating import date_flag
from aggregator.isodates import parse_iso

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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-08-12T21:26:00+03:00", datetime(2020, 8, 12, 21, 26, tzinfo=timezone(timedelta(hours=3)))),
        (" 2020-08-12T21:26:00Z\n", datetime(2020, 8, 12, 21, 26, tzinfo=UTC)),
        ("20200812T2126Z", datetime(2020, 8, 12, 21, 26, tzinfo=UTC)),
        ("2020-08-12 21:26", datetime(2020, 8, 12, 21, 26)),  # no offset: naive, the caller decides
        ("2020-08", datetime(2020, 8, 1)),  # reduced forms: dateutil's
        ("2020-08-12T24:00:00", datetime(2020, 8, 13)),
    ],
)
def test_parse_iso(text: str, expected: datetime) -> None:
    parsed = parse_iso(text)
    assert (parsed, parsed.utcoffset()) == (expected, expected.utcoffset())


@pytest.mark.parametrize("text", ["", "yesterday", "2020-8-12", "Wed, 12 Aug 2020 21:26:00 +0000", "2020-13-01"])
def test_parse_iso_refuses_what_is_no_iso_time(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso(text)
