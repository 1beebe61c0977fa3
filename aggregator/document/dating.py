"""Which publication time an article gets, and in which zone it is rendered (pure)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def choose_published(
    page: datetime | None,
    page_via: str | None,
    feed: datetime | None,
    first_seen: datetime,
    timezone: str | None,
) -> tuple[datetime, str]:
    """The most precise time wins: the page's own, then the feed entry's, then first seen.

    With a configured ``timezone`` the time is converted to it (the tz database knows Moscow's
    UTC+4 years); without one, the offset carried by the source timestamp is kept.
    Returns the time and where it came from (``page:...``, ``feed`` or ``first_seen``).
    """
    if page is not None and page.tzinfo is not None:
        chosen, via = page, page_via or "page"
    elif feed is not None and feed.tzinfo is not None:
        chosen, via = feed, "feed"
    else:
        chosen, via = first_seen, "first_seen"
    if timezone:
        chosen = chosen.astimezone(ZoneInfo(timezone))
    return chosen, via


#: A page time further than this from the feed entry's time is recorded as a flag on the article.
MAX_DATE_GAP_DAYS = 2.0


def date_flag(page: datetime | None, feed: datetime | None, max_days: float = MAX_DATE_GAP_DAYS) -> str | None:
    """``"page date 3.5 days after feed date"`` when the two aware times are more than ``max_days``
    apart (a page that re-dates itself, or a feed that re-announces an old story); else None."""
    if page is None or feed is None or page.tzinfo is None or feed.tzinfo is None:
        return None
    days = (page - feed).total_seconds() / 86400
    if abs(days) <= max_days:
        return None
    return f"page date {abs(days):.1f} days {'after' if days > 0 else 'before'} feed date"
