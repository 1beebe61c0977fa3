"""The store backends the interface suite (tests/test_store.py) runs against.

A backend gives each test a fresh, empty archive: ``open()`` opens it, and opening it again gives
another connection to the same archive (another writer, or the archive after a restart). A second
backend is one more entry in ``BACKENDS``, and the whole suite runs against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from aggregator.models import FeedSpec
from aggregator.store import NewArticle, Store, open_store


@dataclass(frozen=True)
class Backend:
    name: str
    open: Callable[[], Store]


def sqlite_backend(folder: Path) -> Backend:
    return Backend("sqlite", lambda: open_store(folder / "sub" / "archive.db"))


def postgresql_backend(folder: Path) -> Backend:
    """A fresh database on the session's throwaway server (skipped when there is none)."""
    from tests.helpers.postgres import fresh_database

    url = fresh_database()
    return Backend("postgresql", lambda: open_store(url))


#: name -> the backend of one test, given that test's temporary folder
BACKENDS: dict[str, Callable[[Path], Backend]] = {"sqlite": sqlite_backend, "postgresql": postgresql_backend}


FEED = FeedSpec(id="tass", url="https://tass.com/rss/v2.xml", source="TASS", timezone="Europe/Moscow")
DAY = date(2020, 8, 13)


def new_article(
    url: str, article_id: str, *, day: date = DAY, aliases: tuple[str, ...] = (), **fields: object
) -> NewArticle:
    """An article of the TASS feed as the pipeline would give it; ``fields`` replace any of its values."""
    made = NewArticle(
        url=url,
        article_id=article_id,
        title="T",
        published=f"{day.isoformat()}T00:26:00+03:00",
        published_via="page",
        day=day.isoformat(),
        source="TASS",
        feed_id="tass",
        body="b",
        document="\nT",
        extractor="tass@2019",
        fetched_at="2020-08-13T00:00:00+00:00",
        aliases=aliases,
    )
    return replace(made, **fields)  # type: ignore[arg-type]
