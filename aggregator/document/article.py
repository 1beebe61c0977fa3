"""An extracted article dated and rendered: its document and the time it is filed under (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.document.dating import choose_published
from aggregator.document.render import render_document
from aggregator.models import Article

#: publication times outside [EARLIEST_DATE, first seen + FUTURE_SLACK] are not believed (first seen wins)
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


def render_article(
    article: Article, *, source: str, timezone: str | None, feed_published: datetime | None, first_seen: datetime
) -> tuple[str, datetime, str]:
    """Date and render an extracted article: (document, published, where the date came from).

    A page or feed time before 1990 or more than a day after the entry was first seen is not
    believed: a hostile or broken clock would file the article under 2150 or 1970."""
    published, via = choose_published(
        _believable(article.published, first_seen),
        article.published_via,
        _believable(feed_published, first_seen),
        first_seen,
        timezone,
    )
    document = render_document(
        title=article.title, published=published, source=source, paragraphs=article.paragraphs, url=article.url
    )
    return document, published, via


def _believable(moment: datetime | None, first_seen: datetime) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment if EARLIEST_DATE <= moment <= first_seen + FUTURE_SLACK else None
