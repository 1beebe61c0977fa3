"""`aggregator search` and `aggregator fts-rebuild`: full-text search from the command line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from aggregator.store import open_store
from tests.helpers.archive import BBC_URL, REFERENCE_DOC, REFERENCE_ID, REFERENCE_PATH, build_archive, invoke
from tests.helpers.site import run_cli

SNIPPET = (
    "The presidents of Russia and Azerbaijan, Vladimir Putin and Ilham **Aliyev**, discussed regional issues "
    "in a telephone conversation on Wednesday, initiated by the Azerbaijani…"
)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("search"))


def test_json_gives_the_match_with_its_snippet(archive: Path) -> None:
    result = invoke("search", "Aliyev", "--format", "json", config=archive)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "id": REFERENCE_ID,
            "published": "2020-08-13T00:26:00+03:00",
            "source": "TASS",
            "title": "Presidents of Russia and Azerbaijan discuss regional issues in phone call",
            "url": "https://tass.com/politics/1189047",
            "path": REFERENCE_PATH,
            "snippet": SNIPPET,
        }
    ]


def test_text_prints_the_documents(archive: Path) -> None:
    result = run_cli("search", "aliyev", "--format", "text", config=archive)
    assert result.stdout.encode("utf-8") == REFERENCE_DOC + b"\n"


def test_table_highlights_and_lists_the_best_matches_first(archive: Path) -> None:
    result = invoke("search", "coronavirus", config=archive)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "2 articles match 'coronavirus'"
    assert lines[1].startswith("┏") and "┃ published" in lines[2]
    assert lines[4].startswith("│ 2020-04-10 17:58 │ BBC News │ Coronavirus: New York ramps up mass burials")
    assert BBC_URL in lines[4]
    limited = invoke("search", "coronavirus", "--limit", "1", config=archive).stdout.splitlines()
    assert limited[0].strip() == "1 of 2 articles match 'coronavirus'"


@pytest.mark.parametrize(
    ("options", "urls"),
    [
        ([], [BBC_URL, "https://tass.com/politics/1189047"]),
        (["--source", "tass"], ["https://tass.com/politics/1189047"]),
        (["--since", "2020-08-13"], ["https://tass.com/politics/1189047"]),
        (["--until", "2020-08-12"], [BBC_URL]),
        (["--limit", "1"], [BBC_URL]),
    ],
)
def test_filters(archive: Path, options: list[str], urls: list[str]) -> None:
    result = invoke("search", "coronavirus", "--format", "json", *options, config=archive)
    assert [row["url"] for row in json.loads(result.stdout)] == urls


def found(archive: Path, query: str) -> list[str]:
    with open_store(archive.parent / "a.db") as store:
        return sorted(row["url"] for row in store.search(query))


TASS_CALL, TASS_SECOND = "https://tass.com/politics/1189047", "https://tass.com/world/1189100"


@pytest.mark.parametrize(
    ("query", "urls"),
    [
        ("Putin Aliyev", [TASS_CALL]),  # every word
        ('"Ilham Aliyev"', [TASS_CALL]),  # a phrase, in order
        ('"Aliyev Ilham"', []),
        ("Azerbaij*", [TASS_CALL]),  # a prefix
        ("Azerbaij", []),
        ("Presiden*", [TASS_CALL, BBC_URL]),  # longer than the stem ("presid") of president
        ("coronavirus -burials", [TASS_CALL]),  # leave a word out
        ("coronavirus NOT burials", [TASS_CALL]),
        ('paragraph -"second story"', []),
        ("paragraph -Aliyev", [TASS_SECOND]),
        ("Aliyev OR burials", sorted([TASS_CALL, BBC_URL])),  # either
        ("Aliyev OR burials OR paragraph", sorted([TASS_CALL, TASS_SECOND, BBC_URL])),
        ("paragraph* Aliyev OR second", [TASS_SECOND]),
        ("covid-19", [BBC_URL]),  # the phrase of its words
        ('"19 covid"', []),
        ("Aliyev or burials", []),  # a lowercase or is a word
        ('"Ilham Aliyev', [TASS_CALL]),  # an unclosed quote runs to the end
        ('Aliyev" OR NOT (', [TASS_CALL]),  # FTS5's own syntax is never read from the box
        ("title:Aliyev", []),
        ("Aliyev NEAR Putin", [TASS_CALL]),  # a word, as "near" is in the text
        ("Aliyev NEAR(Putin)", []),
    ],
)
def test_the_search_language(archive: Path, query: str, urls: list[str]) -> None:
    assert found(archive, query) == urls


def test_searches_with_nothing_to_look_for_are_usage_errors(archive: Path) -> None:
    nothing = invoke("search", "zeppelin", config=archive)
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "no articles match 'zeppelin'\n")
    for query, reason in (
        ("  ", "the search query has no words"),
        ('* - " " OR', "the search query has no words"),
        ("-coronavirus", "a search needs a word to look for, not only words to leave out (-word)"),
    ):
        empty = invoke("search", "--", query, config=archive)
        assert (empty.returncode, empty.stderr) == (
            2,
            f"error: Invalid value for 'QUERY': {reason} (see 'cli search --help')\n",
        )


def test_the_index_follows_updates_and_is_rebuilt_by_a_command(tmp_path: Path) -> None:
    config = build_archive(tmp_path)
    database = tmp_path / "a.db"
    conn = sqlite3.connect(database)
    with conn:
        conn.execute("UPDATE articles SET body = body || ' zeppelin' WHERE id = ?", [REFERENCE_ID])
    with open_store(database) as store:
        assert [row["id"] for row in store.search("zeppelin")] == [REFERENCE_ID]
    with conn:
        conn.execute("INSERT INTO articles_fts(articles_fts) VALUES('delete-all')")
    conn.close()
    assert invoke("search", "Aliyev", "--format", "json", config=config).stdout == "[]\n"
    rebuilt = invoke("fts-rebuild", config=config)
    assert (rebuilt.returncode, rebuilt.stdout) == (0, "full-text index rebuilt: 3 articles\n")
    assert [r["id"] for r in json.loads(invoke("search", "Aliyev", "--format", "json", config=config).stdout)] == [
        REFERENCE_ID
    ]
