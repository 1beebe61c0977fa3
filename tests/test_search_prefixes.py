"""A prefix spelled out as the archive's words (store.sqlite.searching.prefix_words): the same
matches, counts and snippets as FTS5's own prefix query, which builds the prefix's whole union on
every match; left to FTS5 when the words cannot be spelled out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.store.query import parse_query
from aggregator.store.sqlite import SQLiteStore, searching
from aggregator.store.sqlite.searching import (
    ArticleFilter,
    count_statement,
    match_for,
    match_in,
    prefix_words,
    search_statement,
    tokens,
)

#: (body) of each article, in archive order; "agreed" is indexed as "agre", which FTS5 reads as "agr"
BODIES = [
    "grading the grades gradually",
    "a gradient and an agreement",
    "they agreed on the grade",
    "nothing to see here",
    "graduates agree",
    "a gradient of agreement",
    "grad school grads",
]


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
                    f"2020-01-0{n + 1}T00:00:00+00:00",
                    f"2020-01-0{n + 1}",
                    body,
                    body,
                    n,
                    f"f/{n}.txt",
                ),
            )
        # only an earlier version of the oldest article had "gradebook"
        conn.execute(
            "INSERT INTO article_versions (article_id, version, seen_at, title, body, document, path) "
            "VALUES (?, 1, '2020-02-01', 'old', 'the gradebook', 'the gradebook', 'f/0.v1.txt')",
            [f"{0:016x}"],
        )
    with SQLiteStore(tmp_path / "archive.db") as store:
        yield store


def rows(store: SQLiteStore, match: str, **options: Any) -> list[dict[str, Any]]:
    return store._rows(*search_statement(match, ("id",), ArticleFilter(), limit=20, **options))


def test_a_prefix_is_spelled_out_as_the_words_of_both_indexes_it_begins(store: SQLiteStore) -> None:
    # "grades*" is stemmed as FTS5 stems it ("grade"); "gradebook" is only in a version
    assert prefix_words(store.reader, parse_query("grades* agr*")) == {
        "grades": ("grade", "gradebook"),
        # "agre" (of "agreed") is written so that it reads as itself
        "agr": ("agree", "agreement"),
    }
    assert tokens(["agree", "agre", "grading"]) == [["agre"], ["agr"], ["grade"]]


@pytest.mark.parametrize("query", ["grad*", "grades*", "agr*", "gradi* OR agre*", "grad* -agre*", "gradua*", "a grad*"])
@pytest.mark.parametrize("newest", [False, True])
@pytest.mark.parametrize("window", [None, 3])
def test_a_spelled_out_prefix_finds_counts_and_snippets_as_fts5s_prefix(
    store: SQLiteStore, query: str, newest: bool, window: int | None
) -> None:
    native, spelled = match_for(query), match_in(store.reader, query)
    assert '"*' not in spelled
    found, expected = (
        rows(store, spelled, newest=newest, window=window),
        rows(store, native, newest=newest, window=window),
    )
    # the same articles with the same snippets; newest first, in the same order. By relevance
    # each word is its own BM25 term (as typed with OR), not the prefix one term: the order may differ
    assert found and sorted(found, key=str) == sorted(expected, key=str)
    if newest:
        assert found == expected
    assert store._rows(*count_statement(spelled, ArticleFilter())) == store._rows(
        *count_statement(native, ArticleFilter())
    )


def test_by_relevance_each_word_of_a_prefix_is_ranked_as_typed_with_or(store: SQLiteStore) -> None:
    # "grades*" is "grade*" (FTS5 stems it) or "grad" (a stem of "grades" a letter shorter)
    assert rows(store, match_in(store.reader, "grades*")) == rows(store, match_for("grade OR gradebook OR grad"))
    # a prefix that begins one word ranks as that word, as before
    assert rows(store, match_in(store.reader, "gradien*")) == rows(store, match_for("gradien*"))


def test_the_read_side_finds_by_spelled_out_prefixes(store: SQLiteStore) -> None:
    found = store.search("agre*")
    assert sorted(row["id"] for row in found) == [f"{n:016x}" for n in (1, 2, 4, 5)]
    assert store.count_matches("agre*") == 4
    assert store.count_matches("grad*") == 6


def test_a_prefix_of_too_many_words_is_left_to_fts5(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(prefix_words(store.reader, parse_query("grad*"))["grad"]) == 6
    monkeypatch.setattr(searching, "MAX_PREFIX_WORDS", 5)
    assert prefix_words(store.reader, parse_query("grad* agr*")) == {"agr": ("agree", "agreement")}
    assert match_in(store.reader, "grad*") == match_for("grad*")
    assert store.count_matches("grad*") == 6


def test_a_prefix_of_more_than_one_word_or_of_none_is_left_to_fts5(store: SQLiteStore) -> None:
    assert prefix_words(store.reader, parse_query('"grad school"* covid-19* zzz*')) == {}
    assert store.search("zzz*") == [] and store.count_matches("zzz*") == 0
    assert match_in(store.reader, '"grad school"*') == match_for('"grad school"*')


def test_a_word_archived_since_the_last_search_is_found(store: SQLiteStore) -> None:
    # the read side keeps the last spelled-out prefix only while the archive is unchanged
    assert store.count_matches("gradi*") == 3  # "gradient" twice, and "grad" (its stem a letter shorter)
    with store._write() as conn:
        conn.execute(
            "INSERT INTO articles (id, url, title, published, day, source, body, document, folder, seq, path) "
            "VALUES ('00000000000000ff', 'https://s.example/ff', 't', '2020-02-01T00:00:00+00:00', '2020-02-01', "
            "'S', 'gradiometers', 'gradiometers', 'f', 99, 'f/ff.txt')"
        )
    assert store.count_matches("gradi*") == 4
    assert "00000000000000ff" in {row["id"] for row in store.search("gradi*")}
    assert prefix_words(store.reader, parse_query("gradi*")) == {"gradi": ("gradient", "gradiomet")}


def test_a_narrowed_search_leaves_its_prefixes_to_fts5(store: SQLiteStore) -> None:
    # every match is read to find those a filter keeps: FTS5's union is cheaper than the words merged
    assert match_in(store.reader, "grad*", ArticleFilter(source="S")) == match_for("grad*")
    assert match_in(store.reader, "grad*", ArticleFilter(since="2020-01-03")) == match_for("grad*")
    assert match_in(store.reader, "grad*", ArticleFilter()) != match_for("grad*")
    assert store.count_matches("grad*", since="2020-01-03") == 4
    assert len(store.search("grad*", since="2020-01-03")) == 4
