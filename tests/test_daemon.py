"""The daemon against a local site on a real socket: due polls, backoff, Retry-After, 410, 301,
signals, reload and the single-instance lock. Clocks are injected; no test sleeps for minutes."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.daemon.scheduler import Daemon
from aggregator.fetch.fetcher import Fetcher
from aggregator.models import FeedResult
from aggregator.pipeline.archiver import Archiver
from aggregator.store import open_store
from tests.helpers.daemon import Clock, daemon_thread, is_up, query, start_daemon, start_fetch, wait_for
from tests.helpers.datasette import free_port
from tests.helpers.site import FEED, Page, Site, item, rss, run_cli, tass_config, tass_page, write_config


@pytest.fixture
def running(tmp_path: Path, tass_site: Site) -> Iterator[tuple[Daemon, Clock, Path]]:
    """A daemon in a thread, with an injected clock and a fast tick."""
    clock = Clock()
    with daemon_thread(tass_config(tmp_path, tass_site), clock, tick=0.05) as daemon:
        yield daemon, clock, tmp_path / "archive" / "archive.db"


def test_a_new_story_is_archived_on_the_next_due_poll(running: tuple[Daemon, Clock, Path], tass_site: Site) -> None:
    daemon, clock, db = running
    wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])
    assert query(db, "SELECT COUNT(*) FROM articles") == [(2,)]
    # not due yet: nothing happens, however many ticks pass
    time.sleep(0.3)
    assert query(db, "SELECT COUNT(*) FROM polls") == [(1,)]
    tass_site["/rss/v2.xml"] = Page(
        FEED.replace(
            "</channel>",
            item("http://tass.com/world/1189300", "Third story", "Thu, 13 Aug 2020 10:00:00 +0000") + "</channel>",
        ).encode(),
        "application/rss+xml",
    )
    tass_site["/world/1189300"] = tass_page(
        1189300, "Third story", ["MOSCOW, August 13. /TASS/. A third story, long enough to be one."], 1597312800
    )
    clock.advance(minutes=17)  # past the 15 minute interval and its jitter
    wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(2,)])
    assert query(db, "SELECT title FROM articles ORDER BY rowid") == [
        ("Presidents of Russia and Azerbaijan discuss regional issues in phone call",),
        ("Second story",),
        ("Third story",),
    ]
    assert tass_site.hits["/world/1189300"] == 1
    assert daemon.health()[0]


def test_a_flapping_server_is_survived_with_honest_health(running: tuple[Daemon, Clock, Path], tass_site: Site) -> None:
    daemon, clock, db = running
    wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])
    good_feed = tass_site.routes["/rss/v2.xml"]
    for n in (2, 3):  # two failures in a row
        tass_site["/rss/v2.xml"] = Page(b"oops", "text/plain", status=503)
        clock.advance(hours=3)
        wait_for(lambda n=n: query(db, "SELECT COUNT(*) FROM polls") == [(n,)])
    assert query(db, "SELECT status, error_count, last_error_reason FROM feeds") == [("backing_off", 2, "http_503")]
    assert daemon.health()[0]  # one feed backing off is not a stuck daemon
    tass_site["/rss/v2.xml"] = good_feed
    clock.advance(hours=3)
    wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(4,)])
    assert query(db, "SELECT status, error_count FROM feeds") == [("ok", 0)]
    assert query(db, "SELECT outcome FROM polls ORDER BY id") == [("ok",), ("error",), ("error",), ("not_modified",)]
    assert query(db, "SELECT COUNT(*), COUNT(DISTINCT url) FROM articles") == [(2, 2)]


@pytest.mark.slow
def test_fetch_runs_beside_the_daemon_without_lock_errors_or_duplicates(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    daemon = start_daemon(config)
    try:
        fetches = [start_fetch(config) for _ in range(3)]
        outputs = [fetch.communicate(timeout=60) for fetch in fetches]
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls WHERE feed_id = 'tass'") >= [(3,)])
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)
    assert [fetch.returncode for fetch in fetches] == [0, 0, 0]
    assert not any("locked" in out + err for out, err in outputs)
    assert query(db, "SELECT COUNT(*), COUNT(DISTINCT url) FROM articles") == [(2, 2)]
    assert query(db, "SELECT COUNT(*) FROM article_urls WHERE article_id NOT IN (SELECT id FROM articles)") == [(0,)]
    assert len(list((tmp_path / "archive").rglob("*.txt"))) == 2


async def refresh(config_path: Path, clock: Clock, times: int) -> list[FeedResult]:
    """Poll the config's first feed ``times`` times, moving the clock to each next due time."""
    config = load_config(config_path)
    results = []
    with open_store(config.settings.database) as store:
        async with Fetcher(config.settings) as fetcher:
            archiver = Archiver(config.settings, store, fetcher, clock=clock)
            store.sync_feeds(config.feeds)
            for _ in range(times):
                results.append(await archiver.refresh_feed(config.feeds[0]))
                (due,) = [row["next_poll_at"] for row in store.feed_overview()]
                if due:
                    clock.now = max(clock.now, datetime.fromisoformat(due))
    return results


def feed_row(config_path: Path) -> dict[str, object]:
    with open_store(load_config(config_path).settings.database) as store:
        return store.feed_overview()[0]


def local_config(tmp_path: Path, site: Site, path: str = "/rss/v2.xml") -> Path:
    return write_config(
        tmp_path,
        f"  - {{id: f, url: '{site.origin}{path}', source: TASS, interval: 10m}}\n",
        settings="  allow_private_networks: true\n  max_retry_after: 1\n",
    )


def test_errors_back_off_exponentially_and_show_in_health(tmp_path: Path, site: Site) -> None:
    site["/rss/v2.xml"] = Page(b"down", "text/plain", status=500)
    config, clock = local_config(tmp_path, site), Clock()
    delays = []
    for _ in range(6):
        before = clock.now
        asyncio.run(refresh(config, clock, 1))
        delays.append((datetime.fromisoformat(str(feed_row(config)["next_poll_at"])) - before).total_seconds())
        clock.now = datetime.fromisoformat(str(feed_row(config)["next_poll_at"]))
    for n, seconds in enumerate(delays, start=1):
        full = min(21600, 600 * 2 ** (n - 1))
        assert full / 2 <= seconds <= full, (n, seconds)
    row = feed_row(config)
    assert (row["status"], row["error_count"], row["last_error_reason"]) == ("failing", 6, "http_500")
    site["/rss/v2.xml"] = Page(rss().encode(), "application/rss+xml")
    asyncio.run(refresh(config, clock, 1))
    assert (feed_row(config)["status"], feed_row(config)["error_count"]) == ("ok", 0)


def test_retry_after_is_obeyed(tmp_path: Path, site: Site) -> None:
    site["/rss/v2.xml"] = Page(b"slow down", "text/plain", status=429, headers={"Retry-After": "7200"})
    config, clock = local_config(tmp_path, site), Clock()
    start = clock.now
    (result,) = asyncio.run(refresh(config, clock, 1))
    assert result.error_reason == "http_429"
    assert datetime.fromisoformat(str(feed_row(config)["next_poll_at"])) >= start + timedelta(seconds=7200)
    assert site.hits["/rss/v2.xml"] == 1  # longer than max_retry_after: not waited for within the run


def test_410_gone_stops_polling(tmp_path: Path, site: Site) -> None:
    site["/rss/v2.xml"] = Page(b"gone", "text/plain", status=410)
    config, clock = local_config(tmp_path, site), Clock()
    asyncio.run(refresh(config, clock, 1))
    row = feed_row(config)
    assert (row["status"], row["next_poll_at"]) == ("gone", None)
    with open_store(load_config(config).settings.database) as store:
        assert store.due_feeds(clock.now + timedelta(days=1000), ["f"]) == []


def test_a_permanent_redirect_is_adopted_after_three_polls(tmp_path: Path, site: Site) -> None:
    new = f"{site.origin}/rss/new.xml"
    site["/rss/v2.xml"] = Page(b"", "text/plain", status=301, headers={"Location": new})
    site["/rss/new.xml"] = Page(rss().encode(), "application/rss+xml")
    config, clock = local_config(tmp_path, site), Clock()
    asyncio.run(refresh(config, clock, 2))
    row = feed_row(config)
    assert (row["url"], row["previous_urls"]) == (f"{site.origin}/rss/v2.xml", None)
    asyncio.run(refresh(config, clock, 3))
    row = feed_row(config)
    assert (row["url"], row["previous_urls"]) == (new, json.dumps([f"{site.origin}/rss/v2.xml"]))
    assert site.hits["/rss/v2.xml"] == 3  # polls after the third go straight to the new URL
    assert site.hits["/rss/new.xml"] == 5


# -- the real command line -------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_a_restart_adds_nothing(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    daemon = start_daemon(config, "--log-format", "json")
    try:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])
        # a second daemon on the same database refuses to start
        second = run_cli("run", config=config, timeout=30)
        assert second.returncode == 1
        assert second.stderr.startswith("error: another aggregator daemon (pid ")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0  # stopped, cleanly, within the timeout
    finally:
        daemon.kill()
    _, stderr = daemon.communicate()
    events = [json.loads(line) for line in stderr.splitlines()]
    polls = [e for e in events if e.get("event") == "poll"]
    assert [(e["feed"], e["outcome"], e["new"], e["failed"]) for e in polls] == [("tass", "ok", 2, 2)]
    assert events[-1]["message"] == "daemon stopped"

    restarted = start_daemon(config)
    try:
        wait_for(lambda: is_up(db, restarted))
        time.sleep(1.5)  # a few ticks: nothing is due, nothing is fetched again
        restarted.send_signal(signal.SIGINT)
        assert restarted.wait(timeout=10) == 0
    finally:
        restarted.kill()
    assert query(db, "SELECT COUNT(*) FROM polls") == [(1,)]
    assert query(db, "SELECT COUNT(*) FROM articles") == [(2,)]
    assert tass_site.hits["/rss/v2.xml"] == 1


@pytest.mark.slow
def test_sighup_and_reload_add_a_feed_and_a_bad_config_is_kept_out(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    tass_site["/rss/other.xml"] = Page(rss().encode(), "application/rss+xml")
    tass_site["/rss/third.xml"] = Page(rss().encode(), "application/rss+xml")
    daemon = start_daemon(config)
    try:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])
        good = config.read_text()
        config.write_text(good + "  - {id: other, url: 'http://tass.com/rss/other.xml', source: TASS}\n")
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: query(db, "SELECT feed_id FROM polls ORDER BY id") == [("tass",), ("other",)])
        config.write_text(good + "  - {id: broken\n")
        daemon.send_signal(signal.SIGHUP)  # a broken file: the daemon keeps its configuration
        assert run_cli("reload", config=config).returncode == 2  # and the CLI refuses it too
        config.write_text(
            good + "  - {id: other, url: 'http://tass.com/rss/other.xml', source: TASS}\n"
            "  - {id: third, url: 'http://tass.com/rss/third.xml', source: X}\n"
        )
        reload = run_cli("reload", config=config)
        assert reload.returncode == 0, reload.stderr
        assert reload.stdout.startswith("asked the daemon (pid ")
        wait_for(lambda: ("third",) in query(db, "SELECT feed_id FROM polls"))
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
    finally:
        daemon.kill()
    _, stderr = daemon.communicate()
    assert "reload failed, keeping the running configuration: " in stderr
    assert run_cli("reload", config=config).stderr.startswith("error: no daemon is running on ")


def test_a_reload_of_a_file_with_problems_logs_them_all_and_keeps_the_running_feeds(
    tmp_path: Path, tass_site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    config = tass_config(tmp_path, tass_site)
    daemon = Daemon(config)
    running = daemon.config
    good = config.read_text()
    config.write_text(
        good + "  - {id: other, url: 'http://tass.com/rss/v2.xml', source: TASS, timezone: Mars/Base}\n"
        "  - {id: other, url: 'http://tass.com/rss/third.xml', source: TASS}\n"
    )
    with caplog.at_level("ERROR", logger="aggregator"):
        asyncio.run(daemon._reload())  # returns before it would touch the archive
    assert daemon.config is running
    (record,) = caplog.records
    assert record.getMessage() == (
        f"reload failed, keeping the running configuration: {config}: 3 problems:\n"
        "  feed 'other': unknown time zone 'Mars/Base'\n"
        "  feed 'other': duplicate url 'http://tass.com/rss/v2.xml' (the same feed as feed 'tass')\n"
        "  feed 'other': duplicate id"
    )


def test_metrics_and_healthz(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    port = free_port()
    daemon = start_daemon(config, run_options=("--metrics-port", str(port)))
    try:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["ok"] is True
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        assert 'aggregator_polls_total{feed="tass",outcome="ok"} 1.0' in text
        assert 'aggregator_articles_archived_total{feed="tass"} 2.0' in text
        assert 'aggregator_fetch_errors_total{kind="page",reason="http_404"} 1.0' in text
        assert 'aggregator_feed_last_success_timestamp_seconds{feed="tass"}' in text
        assert "aggregator_scheduler_lag_seconds" in text
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=5)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)


class _SlowDatabase:
    """Answers which feeds are due as of when the read began; the second read lets the poll in
    flight finish meanwhile (the read thread and a poll's last write race like this)."""

    def __init__(self, finish: asyncio.Event) -> None:
        self.finish, self.reads = finish, 0
        self.store = self

    def due_feeds(self) -> None:  # a name to pass; the stub answers itself
        raise AssertionError("not called")

    async def read(self, *_: object) -> list[tuple[str, None]]:
        self.reads += 1
        if self.reads == 2:
            self.finish.set()
            for _ in range(5):  # the poll ends and leaves the running set while the answer is on its way
                await asyncio.sleep(0)
        return [("tass", None)]


class _StubArchiver:
    def __init__(self) -> None:
        self.finish = asyncio.Event()
        self.db = _SlowDatabase(self.finish)
        self.polls = 0

    def held_until(self, _: str) -> None:
        return None

    async def refresh_feed(self, feed: object) -> FeedResult:
        self.polls += 1
        await self.finish.wait()
        return FeedResult("tass", "ok")


def test_a_poll_that_ends_during_the_due_read_is_not_started_again(tmp_path: Path, tass_site: Site) -> None:
    daemon = Daemon(tass_config(tmp_path, tass_site))

    async def two_ticks() -> int:
        archiver = _StubArchiver()
        daemon.archiver = archiver  # type: ignore[assignment]
        await daemon._tick()
        await asyncio.sleep(0)
        assert archiver.polls == 1 and "tass" in daemon._running
        await daemon._tick()  # the poll ends during this tick's read, which still says "due"
        await asyncio.sleep(0)
        return archiver.polls

    assert asyncio.run(two_ticks()) == 1


def test_a_metrics_port_in_use_is_one_line_naming_the_endpoint(tmp_path: Path, tass_site: Site) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("run", "--metrics-port", str(port), config=tass_config(tmp_path, tass_site), timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: cannot serve metrics on http://127.0.0.1:{port}/metrics: the port is in use"
    )
