"""A search with more matches than it ranks is counted only as far as RANK_WINDOW: the command
line and the reading room say "more than 10,000", and page only through the ranked matches;
a search with fewer matches is counted exactly, as before."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import lxml.html
import pytest

from aggregator.store.query import RANK_WINDOW
from tests.helpers.archive import build_archive, invoke
from tests.helpers.datasette import serving

#: articles added with "walrus" in their text, one more than are ranked
WALRUSES = RANK_WINDOW + 1


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = build_archive(tmp_path_factory.mktemp("counts"))
    conn = sqlite3.connect(config.parent / "a.db")
    with conn:
        conn.executemany(
            "INSERT INTO articles (id, url, title, published, day, source, body, document, folder, seq, path) "
            "VALUES (?, ?, ?, '2021-01-01T00:00:00+00:00', '2021-01-01', 'Zoo', ?, 'x', 'zoo', ?, ?)",
            (
                (
                    f"{n:016x}",
                    f"https://zoo.example/{n}",
                    f"Walrus {n}",
                    "a walrus" + " seal" * (n % 3),
                    n,
                    f"z/{n}.txt",
                )
                for n in range(WALRUSES)
            ),
        )
    conn.close()
    return config


@pytest.fixture(scope="module")
def web(archive: Path) -> Iterator[httpx.Client]:
    with serving(archive) as client:
        yield client


def summary(client: httpx.Client, **params: str) -> tuple[str, str]:
    response = client.get("/-/search", params=params)
    assert response.status_code == 200, response.text
    html = lxml.html.fromstring(response.text)
    found = " ".join(html.xpath("//p[@class='search-summary']")[0].text_content().split())
    pages = " ".join("".join(html.xpath("//p[@class='search-pages']//text()")).split())
    return found, pages


def title(table: str) -> str:
    """The title of a table printed by ``aggregator search`` (wrapped on the lines above it)."""
    lines = table.splitlines()
    return " ".join(line.strip() for line in lines[: next(n for n, line in enumerate(lines) if line.startswith("┏"))])


def test_the_command_line_says_more_than_the_window(archive: Path) -> None:
    result = invoke("search", "walrus", "--limit", "3", config=archive)
    assert result.returncode == 0, result.stderr
    assert title(result.stdout) == "3 of more than 10,000 articles match 'walrus' (best of the newest 10,000 matches)"
    # "seal" is in two articles of three: fewer than the window, counted exactly
    assert title(invoke("search", "seal", "--limit", "3", config=archive).stdout) == "3 of 6,667 articles match 'seal'"


def test_the_reading_room_says_more_than_the_window_and_pages_the_ranked(web: httpx.Client) -> None:
    found, pages = summary(web, q="walrus")
    assert found.startswith("more than 10,000 articles match walrus")
    assert "page 1 of 500" in pages
    assert web.get("/-/search", params={"q": "walrus", "page": "500"}).status_code == 200
    found, pages = summary(web, q="seal")
    assert found.startswith("6,667 articles match seal") and "page 1 of 334" in pages
