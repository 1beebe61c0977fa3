"""Extraction in a process pool: errors cross the process boundary whole, the pool starts only
when a page is extracted, and a run through the pool stores exactly what an in-loop run stores."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from aggregator import errors
from aggregator.pipeline.workers import LazyProcessPool
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


@pytest.mark.parametrize(
    "error",
    [
        errors.AggregatorError("something  went\nwrong", reason="odd"),
        errors.ConfigError("bad config"),
        errors.FetchError("boom", url="https://a.example/x", reason="fetch"),
        errors.Blocked("private address", url="http://10.0.0.1/"),
        errors.Timeout("too slow", url="https://a.example/"),
        errors.NetworkError("reset", url="https://a.example/"),
        errors.TooManyRedirects("loop", url="https://a.example/"),
        errors.HTTPStatusError("503 Service Unavailable", url="https://a.example/", status=503, retry_after=12.5),
        errors.HTTPStatusError("404 Not Found", url="https://a.example/", status=404),
        errors.TooLarge("over the cap", url="https://a.example/"),
        errors.FeedError("not a feed"),
        errors.FeedError("entities", reason="unsafe_xml"),
        errors.ExtractError("a bot challenge", reason="challenge"),
        errors.ExtractError("no body"),
        errors.StoreError("disk full"),
    ],
)
def test_errors_pickle_with_their_type_message_and_attributes(error: errors.AggregatorError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (str(copy), copy.args, copy.reason) == (str(error), error.args, error.reason)
    assert vars(copy) == vars(error)
    for name in ("url", "status", "retry_after", "transient"):
        assert getattr(copy, name, None) == getattr(error, name, None)


def test_the_pool_starts_no_process_until_work_is_submitted() -> None:
    pool = LazyProcessPool(1)
    assert not pool.started
    pool.shutdown(wait=True, cancel_futures=True)
    assert not pool.started
    with pytest.raises(RuntimeError):
        pool.submit(len, "abc")


def test_errors_raised_in_a_worker_come_back_whole() -> None:
    pool = LazyProcessPool(1)
    try:
        assert pool.submit(len, "abc").result(timeout=60) == 3
        assert pool.started
        with pytest.raises(errors.HTTPStatusError) as caught:
            pool.submit(_raise_http_status).result(timeout=60)
        assert (caught.value.status, caught.value.retry_after, caught.value.reason, caught.value.url) == (
            429,
            3.0,
            "http_429",
            "https://a.example/",
        )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _raise_http_status() -> None:
    raise errors.HTTPStatusError("429 Too Many Requests", url="https://a.example/", status=429, retry_after=3.0)


def test_a_run_through_the_pool_stores_what_an_in_loop_run_stores(tmp_path: Path) -> None:
    links = [
        "https://tass.com/a/1",
        "https://tass.com/a/3",
        "https://tass.com/a/5",
        "https://tass.com/a/6",
        "https://tass.com/politics/1189047",
    ]
    routes: Routes = {
        FEED_URL: html(rss(*links), content_type="application/rss+xml"),
        "https://tass.com/a/1": html((PROFILES / "tass" / "challenge.html").read_bytes()),
        "https://tass.com/a/3": html((PROFILES / "tass" / "consent.html").read_bytes()),
        "https://tass.com/a/5": html(b"%PDF-1.4", content_type="application/pdf"),
        "https://tass.com/a/6": html("<html><head><title>Empty</title></head><body></body></html>"),
        "https://tass.com/politics/1189047": html(REFERENCE_PAGE),
    }
    routes[INLINE_FEED.url] = html(rss("https://news.example.org/world/1"), content_type="application/rss+xml")
    routes["https://news.example.org/world/1"] = html(INLINE_PAGE)
    pool = LazyProcessPool(1)
    try:
        pooled, pooled_db = run(tmp_path / "pool", routes, (TASS, INLINE_FEED), executor=pool, max_page_bytes=10_000)
        assert pool.started
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    direct, direct_db = run(tmp_path / "loop", routes, (TASS, INLINE_FEED), max_page_bytes=10_000)
    assert [(r.archived, r.failed, sorted(r.page_errors)) for r in pooled] == [
        (r.archived, r.failed, sorted(r.page_errors)) for r in direct
    ]
    assert [(r.archived, r.failed) for r in pooled] == [(1, 4), (1, 0)]
    query = (
        "SELECT link, status, last_error_reason, last_error, article_id FROM entries ORDER BY link",
        "SELECT id, url, title, published, day, body, document, extractor, path FROM articles ORDER BY id",
    )
    for sql in query:
        assert pooled_db.execute(sql).fetchall() == direct_db.execute(sql).fetchall()
    for db in (pooled_db, direct_db):  # every written text file is recorded by the end of the run
        assert db.execute("SELECT COUNT(*) FROM articles WHERE text_written_at IS NULL").fetchone() == (0,)
    texts = sorted(p.relative_to(tmp_path / "pool" / "archive") for p in (tmp_path / "pool" / "archive").rglob("*.txt"))
    assert len(texts) == 2
    for relative in texts:
        assert (tmp_path / "pool" / "archive" / relative).read_bytes() == (
            tmp_path / "loop" / "archive" / relative
        ).read_bytes()
