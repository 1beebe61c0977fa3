"""Fault isolation: whatever goes wrong while handling one page, entry or feed, including an
exception nobody anticipated, ends as a recorded failure of that item (reason ``internal``), with
the usual backoff; every other feed and page is archived, every poll recorded. Faults are injected
into the extractor, the date chooser, the feed parser's date parsing and the store."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.daemon.scheduler import Daemon
from aggregator.document import article as document_article
from aggregator.extract import response as extract_response
from aggregator.feeds import entries as feed_entries
from aggregator.models import FeedResult, FeedSpec
from aggregator.pipeline import polling
from aggregator.store import open_store
from aggregator.store.sqlite import SQLiteStore
from tests.helpers.daemon import Clock, daemon_thread, query, wait_for
from tests.helpers.mock import REFERENCE_PAGE, TASS, Harness, Routes, html
from tests.helpers.site import Page, Site, item, rss, run_cli, tass_config

OTHER = FeedSpec(id="other", url="https://other.example/rss", source="Other")
GOOD = "https://tass.com/politics/1189047"
BAD = "https://other.example/news/1"
BOTH = (OTHER, TASS)
RSS = "application/rss+xml"


def feed_of(*links: str) -> bytes:
    """A feed of one item per link, each with its own guid and title."""
    items = "".join(
        f"<item><title>t{n}</title><link>{link}</link><guid>g{n}</guid></item>" for n, link in enumerate(links)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def make_harness(tmp_path: Path, **settings: Any) -> Harness:
    """The pipeline over a good feed (TASS) and another (OTHER), no retries, a frozen clock."""
    routes: Routes = {
        TASS.url: html(feed_of(GOOD), content_type=RSS),
        OTHER.url: html(feed_of(BAD), content_type=RSS),
        GOOD: html(REFERENCE_PAGE),
        BAD: html(
            REFERENCE_PAGE.replace(b"tass.com/politics/1189047", b"other.example/news/1"), content_type="text/html"
        ),
    }
    return Harness(tmp_path, routes, clock=Clock(), retries=0, **settings)


def assert_good_feed_archived(harness: Harness, results: list[FeedResult]) -> None:
    tass = next(result for result in results if result.feed_id == "tass")
    assert (tass.outcome, tass.archived, tass.failed) == ("ok", 1, 0)
    assert harness.rows("SELECT url FROM articles WHERE feed_id = 'tass'") == [(GOOD,)]
    assert harness.rows("SELECT feed_id, outcome FROM polls ORDER BY feed_id") == [
        ("other", results[0].outcome),
        ("tass", "ok"),
    ]


@pytest.mark.parametrize("target", ["extract_article", "choose_published"])
def test_an_unexpected_page_failure_is_the_entrys_recorded_failure(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    target: str,
    figures: dict[str, Any],
) -> None:
    """The extractor (``extract_article``) or the date chooser raising a bug's exception fails one entry."""
    module = extract_response if target == "extract_article" else document_article
    real = getattr(module, target)

    def faulty(*args: Any, **kwargs: Any) -> Any:
        # the extractor is given the page's URL; the date chooser only the feed's zone (none for OTHER)
        if BAD in map(str, args) or (target == "choose_published" and args[-1] is None):
            raise RuntimeError("injected fault")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, target, faulty)
    harness = make_harness(tmp_path, page_retry_delay=600, max_attempts=2)
    caplog.set_level(logging.DEBUG, logger="aggregator")
    results = harness.run(BOTH)
    assert_good_feed_archived(harness, results)
    other = results[0]
    assert (other.outcome, other.archived, other.failed, other.page_errors) == ("ok", 0, 1, ("internal",))
    (entry,) = harness.rows(
        "SELECT status, attempts, last_error_reason, last_error, next_attempt_at FROM entries WHERE feed_id = 'other'"
    )
    assert entry[:4] == ("failed", 1, "internal", "internal error: RuntimeError: injected fault")
    assert datetime.fromisoformat(entry[4]) == harness.clock.now + timedelta(seconds=600)
    assert any(
        record.exc_info and "injected fault" in str(record.exc_info[1])
        for record in caplog.records
        if record.levelno == logging.DEBUG
    )
    # the next run backs off: the page is not asked for again before its retry time ...
    harness.run(BOTH)
    assert harness.hits[BAD] == 1
    # ... and after it, the page is retried, then abandoned when out of attempts
    harness.clock.now += timedelta(seconds=601)
    harness.run(BOTH)
    assert harness.hits[BAD] == 2
    assert harness.rows("SELECT status, attempts FROM entries WHERE feed_id = 'other'") == [("abandoned", 2)]
    figures.setdefault("faults", {})[f"`{target}` (a page)"] = (
        "the entry failed with reason `internal`, retried after its backoff, then abandoned"
    )


def test_an_unexpected_feed_failure_is_the_feeds_recorded_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: dict[str, Any]
) -> None:
    """The feed parser's date parsing raising a bug's exception fails that feed's poll, nothing else."""
    real = feed_entries.parse_date
    poisoned = threading.local()

    def parse_date(text: str) -> datetime | None:
        if getattr(poisoned, "on", False):
            raise RuntimeError("injected fault")
        return real(text)

    real_parse = polling.parse_feed

    def parse_feed(content: bytes, *, url: str, headers: Any = None) -> Any:
        poisoned.on = url == OTHER.url
        try:
            return real_parse(content, url=url, headers=headers)
        finally:
            poisoned.on = False

    monkeypatch.setattr(feed_entries, "parse_date", parse_date)
    monkeypatch.setattr(polling, "parse_feed", parse_feed)
    harness = make_harness(tmp_path)
    harness.routes[OTHER.url] = html(
        feed_of(BAD).replace(b"</guid>", b"</guid><pubDate>Wed, 12 Aug 2020 21:26:00 +0000</pubDate>"), content_type=RSS
    )
    results = harness.run(BOTH)
    assert (results[0].outcome, results[0].error_reason, results[0].error) == (
        "error",
        "internal",
        "internal error: RuntimeError: injected fault",
    )
    assert_good_feed_archived(harness, results)
    (feed,) = harness.rows("SELECT status, error_count, last_error_reason, next_poll_at FROM feeds WHERE id = 'other'")
    assert feed[:3] == ("backing_off", 1, "internal")
    # the usual backoff: between half and all of the interval after the first failure
    wait = (datetime.fromisoformat(feed[3]) - harness.clock.now).total_seconds()
    assert OTHER.interval / 2 <= wait <= OTHER.interval
    figures.setdefault("faults", {})["the feed parser's date parsing (a feed)"] = (
        "the poll failed with reason `internal`, the next one after the usual backoff"
    )


def test_a_failing_store_call_fails_its_item_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: dict[str, Any]
) -> None:
    """The store raising (a bug's exception, or sqlite's own) for one feed's entries and for one article."""
    real_add, real_save = SQLiteStore.add_entries, SQLiteStore.save_article

    def add_entries(self: SQLiteStore, feed_id: str, entries: Any) -> tuple[int, int]:
        if feed_id == "other":
            raise KeyError("injected fault")
        return real_add(self, feed_id, entries)

    monkeypatch.setattr(SQLiteStore, "add_entries", add_entries)
    harness = make_harness(tmp_path)
    results = harness.run(BOTH)
    assert (results[0].outcome, results[0].error_reason, results[0].error) == (
        "error",
        "internal",
        "internal error: KeyError: 'injected fault'",
    )
    assert_good_feed_archived(harness, results)

    monkeypatch.setattr(SQLiteStore, "add_entries", real_add)

    def save_article(self: SQLiteStore, article: Any, *args: Any, **kwargs: Any) -> Any:
        if article.url == BAD:
            raise sqlite3.OperationalError("disk I/O error")
        return real_save(self, article, *args, **kwargs)

    monkeypatch.setattr(SQLiteStore, "save_article", save_article)
    results = harness.run((OTHER,))
    assert (results[0].outcome, results[0].failed, results[0].page_errors) == ("ok", 1, ("internal",))
    assert harness.rows("SELECT status, last_error FROM entries WHERE feed_id = 'other'") == [
        ("failed", "internal error: OperationalError: disk I/O error")
    ]
    assert harness.rows("SELECT COUNT(*) FROM articles WHERE feed_id = 'other'") == [(0,)]
    figures.setdefault("faults", {})["`Store.add_entries` (a feed), `Store.save_article` (a page)"] = (
        "that poll or that entry failed with reason `internal`; nothing half-stored"
    )


def test_a_feed_dead_for_a_thousand_polls_still_backs_off(tmp_path: Path) -> None:
    """After 1,024 failed polls the backoff used to overflow (2.0 ** 1024) and stop every run."""
    harness = make_harness(tmp_path, max_backoff=3600)
    harness.routes.pop(OTHER.url)  # 404 from now on
    harness.run(BOTH)
    with sqlite3.connect(harness.settings.database) as db:
        db.execute("UPDATE feeds SET error_count = 1024 WHERE id = 'other'")
    results = harness.run(BOTH)
    assert [(result.feed_id, result.outcome, result.error_reason) for result in results] == [
        ("other", "error", "http_404"),
        ("tass", "not_modified", None),  # the same TASS body as the first run
    ]
    (feed,) = harness.rows("SELECT status, error_count, next_poll_at FROM feeds WHERE id = 'other'")
    assert feed[:2] == ("failing", 1025)
    assert 1800 <= (datetime.fromisoformat(feed[2]) - harness.clock.now).total_seconds() <= 3600


def test_a_poll_that_cannot_be_recorded_holds_the_feed_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, figures: dict[str, Any]
) -> None:
    def record_poll(self: SQLiteStore, result: FeedResult, *args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database disk image is malformed")

    monkeypatch.setattr(SQLiteStore, "record_poll", record_poll)
    harness = make_harness(tmp_path)
    holds: list[datetime | None] = []

    async def main() -> FeedResult:
        with open_store(harness.settings.database) as store:
            async with harness.fetcher() as fetcher:
                archiver = harness.archiver(store, fetcher)
                store.sync_feeds([TASS])
                result = await archiver.refresh_feed(TASS)
                holds.append(archiver.held_until("tass"))
                await archiver.refresh_feed(TASS)
                holds.append(archiver.held_until("tass"))
                return result

    result = asyncio.run(main())
    assert (result.outcome, result.archived) == ("ok", 1)  # what was fetched is archived all the same
    first, second = holds
    assert first is not None and second is not None
    # the backoff grows with each poll that could not be recorded, as it does for failed polls
    assert TASS.interval / 2 <= (first - harness.clock.now).total_seconds() <= TASS.interval
    assert TASS.interval <= (second - harness.clock.now).total_seconds() <= 2 * TASS.interval
    assert (
        "the poll could not be recorded (internal error: OperationalError: database disk image is malformed)"
        in caplog.text
    )
    figures.setdefault("faults", {})["`Store.record_poll` (the poll's own record)"] = (
        "the feed held back in memory for a growing backoff, never polled sooner"
    )


def test_one_link_shared_by_many_entries_is_fetched_once(tmp_path: Path) -> None:
    harness = make_harness(tmp_path, concurrency=8)
    harness.routes[TASS.url] = html(feed_of(*[GOOD] * 2000), content_type=RSS)
    (result,) = harness.run((TASS,))
    assert harness.hits[GOOD] == 1
    assert (result.entries, result.archived, result.duplicates, result.failed) == (2000, 1, 1999, 0)
    assert harness.rows("SELECT status, COUNT(*) FROM entries GROUP BY status") == [("archived", 2000)]


def test_entries_sharing_a_failing_link_fail_alike_with_one_request(tmp_path: Path) -> None:
    harness = make_harness(tmp_path)
    harness.routes[TASS.url] = html(feed_of(*["https://tass.com/gone"] * 50), content_type=RSS)
    (result,) = harness.run((TASS,))
    assert harness.hits["https://tass.com/gone"] == 1
    assert (result.archived, result.failed) == (0, 50)
    assert harness.rows("SELECT status, last_error_reason, attempts, COUNT(*) FROM entries GROUP BY 1, 2, 3") == [
        ("failed", "http_404", 1, 50)
    ]


def test_feeds_polled_together_fetch_a_shared_page_once(tmp_path: Path, tass_site: Site) -> None:
    """Over real sockets: two feeds naming the same article, polled at the same time."""
    tass_site["/other.xml"] = Page(
        rss(item("http://tass.com/politics/1189047", "the same story")).encode(), "application/rss+xml"
    )
    config = tass_config(tmp_path, tass_site, "  - {id: other, url: 'http://tass.com/other.xml', source: TASS}\n")
    done = run_cli("fetch", config=config)
    assert tass_site.hits["/politics/1189047"] == 1, done.stdout
    with sqlite3.connect(tmp_path / "archive" / "archive.db") as db:
        assert db.execute(
            "SELECT feed_id, status FROM entries WHERE link LIKE '%1189047%' ORDER BY feed_id"
        ).fetchall() == [("other", "archived"), ("tass", "archived")]


# -- the daemon and the CLI ----------------------------------------------------------------------


@pytest.fixture
def daemon_with_a_poisoned_feed(
    tmp_path: Path, tass_site: Site, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Daemon, Clock, Path]]:
    real_parse = polling.parse_feed

    def parse_feed(content: bytes, *, url: str, headers: Any = None) -> Any:
        if "poisoned" in url:
            raise RecursionError("maximum recursion depth exceeded")
        return real_parse(content, url=url, headers=headers)

    monkeypatch.setattr(polling, "parse_feed", parse_feed)
    tass_site["/poisoned.xml"] = Page(rss().encode(), "application/rss+xml")
    config = tass_config(tmp_path, tass_site, "  - {id: poisoned, url: 'http://tass.com/poisoned.xml', source: X}\n")
    clock = Clock()
    with daemon_thread(config, clock, tick=0.02) as daemon:
        yield daemon, clock, tmp_path / "archive" / "archive.db"


def polls(db: Path) -> list[tuple[str, str, str | None]]:
    return query(db, "SELECT feed_id, outcome, error_reason FROM polls ORDER BY id")


def test_the_daemon_backs_off_a_feed_that_fails_unexpectedly(
    daemon_with_a_poisoned_feed: tuple[Daemon, Clock, Path], tass_site: Site
) -> None:
    daemon, clock, db = daemon_with_a_poisoned_feed
    wait_for(lambda: len(polls(db)) == 2, timeout=20)
    assert sorted(polls(db)) == [("poisoned", "error", "internal"), ("tass", "ok", None)]
    threading.Event().wait(0.5)  # 25 ticks: none of them polls the failed feed again
    assert len(polls(db)) == 2 and tass_site.hits["/poisoned.xml"] == 1
    clock.now += timedelta(minutes=17)  # past the first backoff (at most the interval) and tass's jitter
    wait_for(lambda: len(polls(db)) == 4, timeout=20)
    assert tass_site.hits["/poisoned.xml"] == 2
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status, error_count FROM feeds WHERE id = 'poisoned'").fetchone() == (
            "backing_off",
            2,
        )
    assert daemon.health()[0]


def test_fetch_prints_every_summary_line_when_a_feed_fails_unexpectedly(tmp_path: Path, tass_site: Site) -> None:
    """The real CLI, with a fault injected into the feed parser of one feed: one line per feed, exit 1."""
    tass_site["/poisoned.xml"] = Page(rss().encode(), "application/rss+xml")
    config = tass_config(tmp_path, tass_site, "  - {id: poisoned, url: 'http://tass.com/poisoned.xml', source: X}\n")
    injector = tmp_path / "inject" / "sitecustomize.py"
    injector.parent.mkdir()
    injector.write_text(
        "import aggregator.pipeline.polling as p\n"
        "real = p.parse_feed\n"
        "def parse_feed(content, *, url, headers=None):\n"
        "    if 'poisoned' in url:\n"
        "        raise TypeError(\"'int' object is not iterable\")\n"
        "    return real(content, url=url, headers=headers)\n"
        "p.parse_feed = parse_feed\n",
        encoding="utf-8",
    )
    done = run_cli("fetch", config=config, env={"PYTHONPATH": str(injector.parent)})
    assert done.returncode == 1
    assert sorted(done.stdout.splitlines()) == [
        "poisoned: FAILED: internal error: TypeError: 'int' object is not iterable",
        "tass: 4 entries, 2 new, 2 pages failed (2 to retry, 0 abandoned)",
    ]
    assert "Traceback" not in done.stderr
