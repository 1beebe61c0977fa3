"""The refresh flow against httpx.MockTransport: every bad input ends as recorded data, never as
an exception, and nothing that should not be archived is stored."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import httpx
import pytest

from aggregator.capture import read_record
from aggregator.models import FeedSpec
from aggregator.store import open_store
from tests.helpers.mock import (
    FEED_URL,
    INLINE_FEED,
    INLINE_PAGE,
    PROFILES,
    REFERENCE_PAGE,
    TASS,
    Routes,
    html,
    rss,
    run,
)


def failures(db: sqlite3.Connection) -> list[tuple]:
    return db.execute(
        "SELECT link, status, last_error_reason FROM entries WHERE status != 'archived' ORDER BY link"
    ).fetchall()


def test_bad_pages_are_recorded_with_reasons_and_never_archived(tmp_path: Path) -> None:
    links = [
        "https://tass.com/a/1",
        "https://tass.com/a/2",
        "https://tass.com/a/3",
        "https://tass.com/a/4",
        "https://tass.com/a/5",
        "https://tass.com/a/6",
        "https://tass.com/politics/1189047",
    ]
    routes: Routes = {
        FEED_URL: html(rss(*links), content_type="application/rss+xml"),
        "https://tass.com/a/1": html((PROFILES / "tass" / "challenge.html").read_bytes()),
        "https://tass.com/a/2": html((PROFILES / "tass" / "challenge.html").read_bytes(), status=403),
        "https://tass.com/a/3": html((PROFILES / "tass" / "consent.html").read_bytes()),
        "https://tass.com/a/4": html(b"<html>" + b"x" * 20_000 + b"</html>"),
        "https://tass.com/a/5": html(b"%PDF-1.4", content_type="application/pdf"),
        "https://tass.com/a/6": html("<html><head><title>Empty</title></head><body></body></html>"),
        "https://tass.com/politics/1189047": html(REFERENCE_PAGE),
    }
    (result,), db = run(tmp_path, routes, max_page_bytes=10_000)
    assert (result.outcome, result.entries, result.archived, result.failed) == ("ok", 7, 1, 6)
    assert failures(db) == [
        ("https://tass.com/a/1", "failed", "challenge"),
        ("https://tass.com/a/2", "failed", "http_403"),
        ("https://tass.com/a/3", "failed", "consent"),
        ("https://tass.com/a/4", "failed", "too_large"),
        ("https://tass.com/a/5", "failed", "not_html"),
        ("https://tass.com/a/6", "failed", "no_body"),
    ]
    errors = [row[0] for row in db.execute("SELECT last_error FROM entries WHERE status = 'failed'")]
    assert all(error and "\n" not in error for error in errors)
    assert db.execute("SELECT url FROM articles").fetchall() == [("https://tass.com/politics/1189047",)]
    assert [p.name for p in (tmp_path / "archive").rglob("*.txt")] == ["000_5c481511b53b5c3e.txt"]
    with open_store(tmp_path / "a.db") as store:
        ref = store.page_capture("5c481511b53b5c3e")
    assert ref is not None and (ref.url, ref.status, ref.content_type) == (
        "https://tass.com/politics/1189047",
        200,
        "text/html; charset=utf-8",
    )
    assert read_record(tmp_path / "archive" / "warc", ref.file, ref.offset).body() == REFERENCE_PAGE
    # the pages no article came of are captured too, the 403's answer among them (the one too large
    # was never read whole: nothing of it to keep)
    assert sorted(
        url for (url,) in db.execute("SELECT url FROM captures WHERE kind = 'page' AND article_id IS NULL")
    ) == [
        "https://tass.com/a/1",
        "https://tass.com/a/2",
        "https://tass.com/a/3",
        "https://tass.com/a/5",
        "https://tass.com/a/6",
    ]


def test_a_failing_feed_does_not_stop_the_others(tmp_path: Path) -> None:
    feeds = (
        FeedSpec(id="down", url="https://down.example/rss", source="X"),
        FeedSpec(id="empty", url="https://empty.example/rss", source="X"),
        FeedSpec(id="json", url="https://json.example/rss", source="X"),
        TASS,
    )
    routes: Routes = {
        "https://down.example/rss": httpx.Response(503, headers={"retry-after": "1"}),
        "https://empty.example/rss": httpx.Response(200, content=b""),
        "https://json.example/rss": httpx.Response(200, json={"error": "rate limited"}),
        FEED_URL: html(rss("https://tass.com/politics/1189047"), content_type="application/rss+xml"),
        "https://tass.com/politics/1189047": html(REFERENCE_PAGE),
    }
    results, db = run(tmp_path, routes, feeds)
    assert [(r.feed_id, r.outcome, r.error_reason, r.archived) for r in results] == [
        ("down", "error", "http_503", 0),
        ("empty", "error", "not_a_feed", 0),
        ("json", "error", "not_a_feed", 0),
        ("tass", "ok", None, 1),
    ]
    assert db.execute("SELECT id, status, error_count FROM feeds ORDER BY id").fetchall() == [
        ("down", "backing_off", 1),
        ("empty", "backing_off", 1),
        ("json", "backing_off", 1),
        ("tass", "ok", 0),
    ]
    assert db.execute("SELECT feed_id, outcome, error_reason FROM polls ORDER BY feed_id").fetchall() == [
        ("down", "error", "http_503"),
        ("empty", "error", "not_a_feed"),
        ("json", "error", "not_a_feed"),
        ("tass", "ok", None),
    ]


def test_transient_page_errors_are_retried_within_the_run(tmp_path: Path) -> None:
    answers = [httpx.Response(500), html(REFERENCE_PAGE)]
    routes: Routes = {
        FEED_URL: html(rss("https://tass.com/politics/1189047"), content_type="application/rss+xml"),
        "https://tass.com/politics/1189047": lambda request: answers.pop(0),
    }
    (result,), _ = run(tmp_path, routes)
    assert (result.archived, result.failed) == (1, 0)


def test_a_gzip_bomb_page_is_too_large(tmp_path: Path) -> None:
    bomb = gzip.compress(b"<p>" + b"a" * 20_000_000)
    routes: Routes = {
        FEED_URL: html(rss("https://tass.com/politics/1"), content_type="application/rss+xml"),
        "https://tass.com/politics/1": httpx.Response(
            200, content=bomb, headers={"content-encoding": "gzip", "content-type": "text/html"}
        ),
    }
    _, db = run(tmp_path, routes, max_page_bytes=1_000_000)
    assert failures(db) == [("https://tass.com/politics/1", "failed", "too_large")]


def test_entries_without_a_usable_link_are_kept_with_a_reason(tmp_path: Path) -> None:
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><guid isPermaLink='false'>x-1</guid><title>no link</title></item>"
        b"<item><link>javascript:alert(1)</link><guid isPermaLink='false'>x-2</guid></item>"
        b"</channel></rss>"
    )
    (result,), db = run(tmp_path, {FEED_URL: html(feed, content_type="application/rss+xml")})
    assert result.ok
    assert db.execute("SELECT key, status, last_error_reason FROM entries ORDER BY key").fetchall() == [
        ("x-1", "abandoned", "no_link"),
        ("x-2", "abandoned", "no_link"),
    ]


@pytest.mark.parametrize(
    ("page_has_time", "pub_date", "expected_via"),
    [
        (True, "Wed, 12 Aug 2020 21:26:00 +0000", "page:dateformat"),
        (False, "Wed, 12 Aug 2020 21:26:00 +0000", "feed"),
        (False, "not a date", "first_seen"),
    ],
)
def test_the_most_precise_date_wins(tmp_path: Path, page_has_time: bool, pub_date: str, expected_via: str) -> None:
    page = REFERENCE_PAGE
    if not page_has_time:
        page = page.replace(b'mode="abs"', b'mode="rel"').replace(b'"datePublished"', b'"x"')
    routes: Routes = {
        FEED_URL: html(rss("https://tass.com/politics/1189047", pub_date=pub_date), content_type="application/rss+xml"),
        "https://tass.com/politics/1189047": html(page),
    }
    _, db = run(tmp_path, routes)
    ((published, via),) = db.execute("SELECT published, published_via FROM articles").fetchall()
    assert via == expected_via
    if expected_via != "first_seen":
        assert published == "2020-08-13T00:26:00+03:00"
    else:
        assert published.endswith("+03:00")


def test_write_text_false_stores_rows_only(tmp_path: Path) -> None:
    routes: Routes = {
        FEED_URL: html(rss("https://tass.com/politics/1189047"), content_type="application/rss+xml"),
        "https://tass.com/politics/1189047": html(REFERENCE_PAGE),
    }
    (result,), db = run(tmp_path, routes, write_text=False)
    assert result.archived == 1
    assert list((tmp_path / "archive").rglob("*.txt")) == []  # the page's WARC capture is all there is
    assert [p.parent.name for p in (tmp_path / "archive").rglob("*.warc.gz")] == ["warc"]
    assert db.execute("SELECT path FROM articles").fetchall() == [("tass/2020-08-13/000_5c481511b53b5c3e.txt",)]


def test_a_feed_with_inline_selectors_archives_with_them(tmp_path: Path) -> None:
    routes: Routes = {
        INLINE_FEED.url: html(rss("https://news.example.org/world/1"), content_type="application/rss+xml"),
        "https://news.example.org/world/1": html(INLINE_PAGE),
    }
    (result,), db = run(tmp_path, routes, (INLINE_FEED,))
    assert result.archived == 1
    assert db.execute("SELECT document, extractor FROM articles").fetchall() == [
        (
            "\nRAIN EXPECTED OVER THE WEEKEND\n\n- 01.03.2024\n\nExample News (1 March 2024)\n\n"
            "Forecasters expect heavy rain across the south on Saturday.\n\n"
            "The wet spell should clear by Monday, they said in a statement on Friday.\n\n"
            "<https://news.example.org/world/1>",
            "feed-example@inline",
        )
    ]
