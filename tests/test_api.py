"""The public API of ``aggregator/__init__.py``: the names a script needs, and a whole refresh
written with nothing else, over a real local site (through the ``proxy:`` setting)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import aggregator
from tests.helpers.site import FIXTURES, Site, tass_config

REFERENCE_DOCUMENT = FIXTURES / "tass" / "politics-1189047.txt"  # the format's reference document, byte for byte


def test_every_public_name_is_there_and_nothing_else_is_offered() -> None:
    assert sorted(dir(aggregator)) == sorted(aggregator.__all__)
    for name in aggregator.__all__:
        assert getattr(aggregator, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Store'"):
        aggregator.Store  # noqa: B018  (an attribute lookup is the test)


def test_a_refresh_written_with_the_public_api_only(tmp_path: Path, tass_site: Site) -> None:
    config = aggregator.load_config(tass_config(tmp_path, tass_site))

    async def refresh() -> list[object]:
        with aggregator.open_store(config.settings.database) as store:
            async with aggregator.Fetcher(config.settings) as fetcher:
                archiver = aggregator.Archiver(config.settings, store, fetcher)
                try:
                    return list(await archiver.fetch_all(config.feeds))
                finally:
                    archiver.close()

    (result,) = asyncio.run(refresh())
    assert (result.feed_id, result.outcome, result.archived) == ("tass", "ok", 2)  # type: ignore[attr-defined]
    with aggregator.open_store(config.settings.database) as store:
        documents = {row["url"]: row["document"] for row in store.iter_articles(columns=["url", "document"])}
    assert documents["https://tass.com/politics/1189047"] == REFERENCE_DOCUMENT.read_bytes().decode("utf-8")
