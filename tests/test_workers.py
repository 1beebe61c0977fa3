"""Extraction in a process pool: errors cross the process boundary whole, what cannot cross fails
only its own call, a dead worker breaks the pool, shutdown cancels what waits, the pool starts only
when a page is extracted, and a run through the pool stores exactly what an in-loop run stores."""

from __future__ import annotations

import os
import pickle
import threading
import time
from concurrent.futures import BrokenExecutor
from pathlib import Path

import pytest

from aggregator import errors
from aggregator.pipeline.workers import LazyProcessPool, RemoteTraceback
from tests.helpers.daemon import wait_for
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


def _raise_os_error() -> None:
    raise PermissionError(13, "Permission denied", "/nowhere")


def _die() -> None:
    os._exit(3)


def test_what_cannot_cross_the_pipe_fails_only_its_own_call() -> None:
    pool = LazyProcessPool(1)
    try:
        # an OSError raised by the call is the call's error, not a broken pipe to the worker
        with pytest.raises(PermissionError) as caught:
            pool.submit(_raise_os_error).result(timeout=60)
        assert (caught.value.errno, caught.value.filename) == (13, "/nowhere")
        assert isinstance(caught.value.__cause__, RemoteTraceback)
        assert 'in _raise_os_error\n    raise PermissionError(13, "Permission denied", "/nowhere")' in str(
            caught.value.__cause__
        )
        with pytest.raises(TypeError, match=r"^cannot pickle '_thread\.lock' object$"):  # a call that does not
            pool.submit(len, threading.Lock()).result(timeout=60)
        with pytest.raises(RuntimeError, match=r"^cannot send the worker's outcome back: "):
            pool.submit(threading.Lock).result(timeout=60)  # a result that does not
        assert pool.submit(len, "still here").result(timeout=60) == 10
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_a_worker_that_dies_breaks_the_pool() -> None:
    pool = LazyProcessPool(1)
    try:
        dying = pool.submit(_die)
        waiting = pool.submit(len, "abc")
        with pytest.raises(BrokenExecutor, match=r"^an extraction worker died \(exit code 3\)$"):
            dying.result(timeout=60)
        with pytest.raises(BrokenExecutor):
            waiting.result(timeout=60)
        with pytest.raises(BrokenExecutor):
            pool.submit(len, "abc")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_shutdown_lets_the_running_call_finish_and_cancels_the_waiting_ones() -> None:
    pool = LazyProcessPool(1)
    running = pool.submit(time.sleep, 0.5)
    wait_for(running.running, timeout=60)
    waiting = [pool.submit(len, "abc") for _ in range(3)]
    pool.shutdown(wait=True, cancel_futures=True)
    assert running.done() and running.result() is None
    assert [future.cancelled() for future in waiting] == [True, True, True]
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(len, "abc")


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
