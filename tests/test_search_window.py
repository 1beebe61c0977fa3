"""The bounded ranking of a search with very many matches (store.sqlite.searching): the best of
the newest RANK_WINDOW matching articles, said so; a search with fewer matches ranked exactly
over all of them; the count always over every match."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.store.query import RANK_WINDOW, how_many, ranked_share
from aggregator.store.sqlite import SQLiteStore, reading
from aggregator.store.sqlite.searching import (
    FACETS,
    ArticleFilter,
    count_statement,
    facet_statement,
    facets_statement,
    match_for,
    search_statement,
)

#: (body) of each article, in archive order: "apple" in all of them, more often in the older ones
BODIES = [" ".join(["apple"] * (12 - n) + ["pear"] * (n % 3) + ["filler"] * 20) for n in range(12)]


def day(n: int) -> str:
    return f"2020-01-{n + 1:02d}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "archive.db") as store, store._write() as conn:
        for n, body in enumerate(BODIES):
            conn.execute(
                "INSERT INTO articles (id, url, title, published, day, source, body, document, folder, seq, path) "
                "VALUES (?, ?, ?, ?, ?, 'S', ?, ?, 'f', ?, ?)",
                (
                    f"{n:016x}",
                    f"https://s.example/{n}",
                    f"t{n}",
                    f"{day(n)}T00:00:00+00:00",
                    day(n),
                    body,
                    body,
                    n,
                    f"f/{n}.txt",
                ),
            )
        # an earlier version of the oldest article had "quince", its latest text has not; the
        # newest article had "apple" before too (counted once)
        for article, word in ((0, "quince"), (11, "apple")):
            conn.execute(
                "INSERT INTO article_versions (article_id, version, seen_at, title, body, document, path) "
                "VALUES (?, 1, '2020-02-01', 'old', ?, ?, ?)",
                [f"{article:016x}", word, word, f"f/{article}.v1.txt"],
            )
    with SQLiteStore(tmp_path / "archive.db") as store:
        yield store


def run(store: SQLiteStore, statement: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    return store._rows(*statement)


def ids(store: SQLiteStore, query: str, **options: Any) -> list[str]:
    statement = search_statement(match_for(query), ("id",), ArticleFilter(), limit=20, **options)
    return [row["id"] for row in run(store, statement)]


@pytest.mark.parametrize("query", ["apple", "pear", "quince", "apple OR quince", "filler -pear"])
@pytest.mark.parametrize("newest", [False, True])
def test_a_search_with_fewer_matches_than_the_window_ranks_them_all_as_before(
    store: SQLiteStore, query: str, newest: bool
) -> None:
    assert ids(store, query, newest=newest) == ids(store, query, newest=newest, window=None)
    assert ids(store, query, newest=newest) == ids(store, query, newest=newest, window=len(BODIES) + 1)


def test_more_matches_than_the_window_ranks_the_best_of_the_newest(store: SQLiteStore) -> None:
    everything = ids(store, "apple", window=None)
    # the oldest have the most "apple": ranked over all, they come first
    assert everything == [f"{n:016x}" for n in range(12)]
    # over the newest 4 matching articles only, the best of those first
    assert ids(store, "apple", window=4) == [f"{n:016x}" for n in (8, 9, 10, 11)]
    assert ids(store, "apple", window=4, newest=True) == [f"{n:016x}" for n in (11, 10, 9, 8)]


def test_the_window_is_of_articles_whichever_text_matched(store: SQLiteStore) -> None:
    # "quince" is only in the oldest article's earlier version: the newest 2 articles matching
    # "apple OR quince" are the newest two, not that one
    assert ids(store, "apple OR quince", window=2) == [f"{n:016x}" for n in (10, 11)]
    assert ids(store, "quince", window=1) == [f"{0:016x}"]


@pytest.mark.parametrize(
    ("query", "where", "expected"),
    [
        ("apple", ArticleFilter(), 12),
        ("quince", ArticleFilter(), 1),
        ("apple OR quince", ArticleFilter(), 12),
        ("pear", ArticleFilter(), 8),
        ("apple", ArticleFilter(since="2020-01-06"), 7),
        ("quince", ArticleFilter(since="2020-01-02"), 0),
        ("zeppelin", ArticleFilter(), 0),
    ],
)
def test_the_count_is_of_every_matching_article_once(
    store: SQLiteStore, query: str, where: ArticleFilter, expected: int
) -> None:
    assert run(store, count_statement(match_for(query), where)) == [{"n": expected}]


def test_facets_count_the_window(store: SQLiteStore) -> None:
    match = match_for("apple")
    assert run(store, facet_statement(match, "source", ArticleFilter(), window=None)) == [{"value": "S", "n": 12}]
    assert run(store, facet_statement(match, "source", ArticleFilter(), window=5)) == [{"value": "S", "n": 5}]


def test_what_a_windowed_ranking_says() -> None:
    assert RANK_WINDOW == 10_000
    assert ranked_share(204_938) == "best of the newest 10,000 of 204,938 matches"
    assert ranked_share(10_000) is None
    assert ranked_share(12, window=4) == "best of the newest 4 of 12 matches"


@pytest.mark.parametrize(
    ("prefix", "words"), [("appl*", "apple"), ("quin*", "quince"), ("appl* OR quin*", "apple OR quince")]
)
@pytest.mark.parametrize("newest", [False, True])
@pytest.mark.parametrize(("offset", "window"), [(0, None), (2, None), (1, 4)])
def test_a_prefix_finds_ranks_and_snippets_as_the_words_it_begins(
    store: SQLiteStore, prefix: str, words: str, newest: bool, offset: int, window: int | None
) -> None:
    # a prefix's snippets are made in one pass over the page (not one search per row): the same
    # rows in the same order with the same snippets as the words themselves, versions included
    def page(query: str) -> list[dict[str, Any]]:
        statement = search_statement(
            match_for(query), ("id",), ArticleFilter(), limit=3, offset=offset, newest=newest, window=window
        )
        return run(store, statement)

    expected = page(words)
    assert (expected or offset) and all(row["snippet"] for row in expected)
    assert page(prefix) == expected


@pytest.mark.parametrize(
    "where", [ArticleFilter(), ArticleFilter(since="2020-01-06"), ArticleFilter(source="s", until="2020-01-03")]
)
@pytest.mark.parametrize("window", [None, 5])
def test_facets_in_one_statement_count_as_one_facet_each(
    store: SQLiteStore, where: ArticleFilter, window: int | None
) -> None:
    match = match_for("apple OR quince")
    expected = [
        {"facet": name, **row}
        for name in FACETS
        for row in run(store, facet_statement(match, name, where, limit=2, window=window))
    ]
    assert len(expected) >= 3
    assert run(store, facets_statement(match, tuple(FACETS), where, limit=2, window=window)) == expected
    month_first = ("month", "source")
    assert run(store, facets_statement(match, month_first, where, limit=2, window=window)) == sorted(
        (row for row in expected if row["facet"] in month_first), key=lambda row: month_first.index(row["facet"])
    )


@pytest.mark.parametrize(
    ("query", "where", "exact"),
    [
        ("apple", ArticleFilter(), 12),
        ("apple OR quince", ArticleFilter(), 12),
        ("quince", ArticleFilter(), 1),
        ("pear", ArticleFilter(), 8),
        ("apple", ArticleFilter(since="2020-01-06"), 7),
        ("zeppelin", ArticleFilter(), 0),
    ],
)
@pytest.mark.parametrize("at_most", [0, 1, 5, 7, 11, 12, 100])
def test_a_count_at_most_stops_one_past_it(
    store: SQLiteStore, query: str, where: ArticleFilter, exact: int, at_most: int
) -> None:
    # "more than at_most" is at_most + 1; at or below it, the exact count (an article whose
    # latest text and earlier version both match counted once, a version's match counted)
    counted = run(store, count_statement(match_for(query), where, at_most=at_most))
    assert counted == [{"n": min(exact, at_most + 1)}]
    assert store.count_matches(query, since=where.since, at_most=at_most) == min(exact, at_most + 1)


def test_a_count_that_stopped_says_more_than() -> None:
    assert how_many(10_001, counted_to=10_000) == "more than 10,000"
    assert how_many(10_000, counted_to=10_000) == "10,000"
    assert how_many(204_938) == "204,938"
    assert ranked_share(10_001, counted_to=10_000) == "best of the newest 10,000 matches"
    assert ranked_share(10_000, counted_to=10_000) is None
    assert ranked_share(204_938) == "best of the newest 10,000 of 204,938 matches"


@pytest.mark.parametrize(
    ("query", "where", "hits"),
    [
        ("apple", ArticleFilter(), 13),
        ("apple OR quince", ArticleFilter(), 14),
        ("quince", ArticleFilter(), 1),
        ("pear", ArticleFilter(), 8),
        ("apple", ArticleFilter(since="2020-01-06"), 8),
        ("appl*", ArticleFilter(since="2020-01-06"), 8),
    ],
)
@pytest.mark.parametrize("window", [None, 4, 7, 8, 12, 13, 14, 15, 100])
@pytest.mark.parametrize("newest", [False, True])
def test_a_search_that_found_every_match_says_how_many(
    store: SQLiteStore, query: str, where: ArticleFilter, hits: int, window: int | None, newest: bool
) -> None:
    # hits: the texts that match, latest and earlier versions (the newest article matches "apple"
    # by both: two hits, one article); a window not above them may not have read them all
    (exact,) = run(store, count_statement(match_for(query), where))
    statement = search_statement(match_for(query), ("id",), where, limit=3, window=window, newest=newest, counted=True)
    found = run(store, statement)
    latest, versions = matching_rowids(store, query, where)
    assert len(latest) + len(versions) == hits and len(set(latest) | set(versions)) == exact["n"]
    if window is None or hits <= window:  # every hit read: the count is exact
        expected = exact["n"]
    else:  # each side read one past the window: more articles among them than it holds, or unknown
        read = latest[: window + 1] + versions[: window + 1]
        expected = window + 1 if len(set(read)) > window else None
    assert found and {row["matched"] for row in found} == {expected}
    assert expected is None or expected == min(exact["n"], (window or exact["n"]) + 1)  # what a count says
    assert [row["id"] for row in found] == ids_where(store, query, where, window=window, newest=newest)


def test_a_search_with_more_matches_than_the_window_says_more_than_the_window(store: SQLiteStore) -> None:
    statement = search_statement(match_for("apple"), ("id",), ArticleFilter(), limit=3, window=4, counted=True)
    assert {row["matched"] for row in run(store, statement)} == {5}  # 12 match: "more than 4"
    with_one_more = search_statement(match_for("pear"), ("id",), ArticleFilter(), limit=3, window=7, counted=True)
    assert {row["matched"] for row in run(store, with_one_more)} == {8}  # 8 match, one past the window
    exactly = search_statement(match_for("pear"), ("id",), ArticleFilter(), limit=3, window=8, counted=True)
    assert {row["matched"] for row in run(store, exactly)} == {8}  # 8 match: all of them read


def test_the_read_side_takes_more_than_the_window_from_the_search(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search with more matches than the window tells its count "more than the window": a count
    as far as the window is not searched again; a count further, or of every match, is."""
    monkeypatch.setattr("aggregator.store.sqlite.reading.RANK_WINDOW", 4)
    counted: list[str] = []
    real_count = reading.count_statement
    monkeypatch.setattr(reading, "count_statement", lambda *a, **k: counted.append("count") or real_count(*a, **k))
    assert len(store.search("apple", limit=3)) == 3
    assert store.count_matches("apple", at_most=4) == 5 and store.count_matches("apple", at_most=2) == 3
    assert counted == []
    assert store.count_matches("apple", at_most=10) == 11 and store.count_matches("apple") == 12
    assert counted == ["count", "count"]


def matching_rowids(store: SQLiteStore, query: str, where: ArticleFilter) -> tuple[list[int], list[int]]:
    """The rowids of the articles whose latest text matches, and of those of each matching earlier
    version (an article once per version), newest first, within ``where``."""
    condition, params = where.sql()
    match = match_for(query)
    latest = store._rows(
        f"SELECT f.rowid AS r FROM articles_fts f JOIN articles a ON a.rowid = f.rowid "
        f"WHERE articles_fts MATCH ? AND {condition} ORDER BY f.rowid DESC",
        [match, *params],
    )
    versions = store._rows(
        "SELECT a.rowid AS r FROM article_versions_fts f JOIN article_versions v ON v.rowid = f.rowid "
        f"JOIN articles a ON a.id = v.article_id WHERE article_versions_fts MATCH ? AND {condition} "
        "ORDER BY a.rowid DESC",
        [match, *params],
    )
    return [row["r"] for row in latest], [row["r"] for row in versions]


def ids_where(store: SQLiteStore, query: str, where: ArticleFilter, **options: Any) -> list[str]:
    return [row["id"] for row in run(store, search_statement(match_for(query), ("id",), where, limit=3, **options))]


def test_the_read_side_counts_a_search_once_while_the_archive_is_unchanged(store: SQLiteStore) -> None:
    assert len(store.search("pear", limit=3)) == 3
    assert "matched" not in store.search("pear", limit=3)[0]
    assert store.count_matches("pear") == 8 and store.count_matches("pear", at_most=5) == 6
    assert store.count_matches("pear", since="2020-01-06") == 5  # another filter: counted
    with store._write() as conn:
        conn.execute(
            "INSERT INTO articles (id, url, title, published, day, source, body, document, folder, seq, path) "
            "VALUES ('00000000000000ff', 'https://s.example/ff', 't', '2020-02-01T00:00:00+00:00', '2020-02-01', "
            "'S', 'pear', 'pear', 'f', 99, 'f/ff.txt')"
        )
    assert store.count_matches("pear") == 9
    store.search("pear", limit=3)
    assert store.count_matches("pear") == 9
