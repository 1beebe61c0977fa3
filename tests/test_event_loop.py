"""Nothing blocks the daemon's event loop: while another process holds the database's write lock
for 2 seconds, the daemon keeps ticking, keeps fetching, and its loop runs every timer on time;
what it fetched is stored once the lock is released."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.daemon.scheduler import Daemon
from tests.helpers.site import Page, Site, item, rss, tass_page, write_config

FEEDS = 6
#: the longest the loop may run a timer late while the lock is held (it is milliseconds when nothing blocks it)
MAX_LAG = 0.2
HOLD_LOCK = (
    "import sqlite3, sys, time\n"
    "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "time.sleep(2)\n"
    "conn.execute('COMMIT')\n"
    "print('released', flush=True)\n"
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def publish(site: Site, feed: int, stories: range) -> None:
    """Feed ``feed`` lists ``stories``, each a page of the site."""
    items = []
    for number in stories:
        page = 2_000_000 + feed * 1000 + number
        site[f"/world/{page}"] = tass_page(
            page,
            f"Story {feed}-{number}",
            [f"MOSCOW, August 13. /TASS/. Story {number} of feed {feed} is long enough to be one."],
            1597267560,
        )
        items.append(item(f"http://tass.com/world/{page}", f"Story {feed}-{number}"))
    site[f"/feed{feed}.xml"] = Page(rss(*items).encode(), "application/rss+xml")


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_the_daemon_keeps_running_while_another_process_holds_the_write_lock(tmp_path: Path, site: Site) -> None:
    for feed in range(FEEDS):
        publish(site, feed, range(2))
    feeds = "".join(f"  - {{id: f{n}, url: 'http://tass.com/feed{n}.xml', source: TASS}}\n" for n in range(FEEDS))
    config = write_config(tmp_path, feeds, settings=f"  proxy: {site.origin}\n")
    db = tmp_path / "archive" / "archive.db"
    clock = Clock()
    daemon = Daemon(config, clock=clock, tick=0.05, grace=5.0)
    thread = threading.Thread(target=daemon.run, kwargs={"install_signals": False})
    thread.start()
    try:
        wait_for(lambda: count(db, "SELECT COUNT(*) FROM polls") == FEEDS)
        assert count(db, "SELECT COUNT(*) FROM articles") == 2 * FEEDS
        for feed in range(FEEDS):
            publish(site, feed, range(4))
        locker = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], stdout=subprocess.PIPE, text=True)
        assert locker.stdout is not None and locker.stdout.readline() == "locked\n"
        locked_at = time.monotonic()
        polled_before = sum(site.hits.get(f"/feed{n}.xml", 0) for n in range(FEEDS))
        daemon.loop_lag.worst = 0.0
        clock.now += timedelta(minutes=17)  # every feed is due now
        # while the lock is held: every feed is fetched again and the scheduler keeps ticking ...
        wait_for(
            lambda: sum(site.hits.get(f"/feed{n}.xml", 0) for n in range(FEEDS)) == polled_before + FEEDS, timeout=1.5
        )
        time.sleep(max(0.0, locked_at + 1.2 - time.monotonic()))  # well into the lock, polls waiting to write
        assert time.monotonic() - daemon.last_tick < 0.5
        assert locker.poll() is None, "the lock was released before the checks"
        assert locker.stdout.readline() == "released\n"
        # ... and no timer of the event loop ran late
        assert daemon.loop_lag.worst < MAX_LAG, f"the event loop was blocked for {daemon.loop_lag.worst:.2f} s"
        locker.wait(timeout=10)
        # and once it was released, what the daemon fetched is stored
        wait_for(lambda: count(db, "SELECT COUNT(*) FROM polls") == 2 * FEEDS)
        assert count(db, "SELECT COUNT(*) FROM articles") == 4 * FEEDS
    finally:
        daemon.stop()
        thread.join(timeout=10)
        assert not thread.is_alive()
