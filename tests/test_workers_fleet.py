"""Workers sharing an archive: which sites are whose (daemon/shards.py, a pure function), and a
real ``aggregator run`` that beats, claims the feeds it polls and signs off (``aggregator workers``).

The store's side (claims, leases, their lapse) is in the interface suite, tests/test_store.py."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from aggregator.config import load_config
from aggregator.daemon.claims import WorkerClaims
from aggregator.daemon.membership import Membership
from aggregator.daemon.shards import owner, shard, site_of
from aggregator.models import FeedSpec
from aggregator.pipeline.claims import holding
from aggregator.pipeline.database import Database
from aggregator.store import WorkerBeat, iso, open_store
from tests.helpers.daemon import Clock, daemon_thread, query, start_daemon, wait_for
from tests.helpers.datasette import free_port
from tests.helpers.site import Site, run_cli, tass_config

FEEDS = [FeedSpec(f"f{i}", f"https://www.site{i // 2}.example/rss/{i}.xml", "S") for i in range(400)]
FLEET = ["a-1", "b-2", "c-3", "d-4"]


def test_every_feed_is_one_workers_and_a_sites_feeds_stay_together() -> None:
    shards = {worker: shard(FEEDS, worker, FLEET) for worker in FLEET}
    counts = Counter(feed.id for feeds in shards.values() for feed in feeds)
    assert set(counts) == {feed.id for feed in FEEDS} and set(counts.values()) == {1}
    for worker, feeds in shards.items():
        assert all(owner(site_of(feed), FLEET) == worker for feed in feeds)
        assert 60 <= len(feeds) <= 140  # about a quarter each (200 sites over 4 workers)
    assert site_of(FEEDS[0]) == site_of(FEEDS[1]) == "site0.example"


def test_a_worker_leaving_moves_only_its_own_sites() -> None:
    before = {feed.id: owner(site_of(feed), FLEET) for feed in FEEDS}
    after = {feed.id: owner(site_of(feed), FLEET[:-1]) for feed in FEEDS}
    moved = {feed_id for feed_id in before if before[feed_id] != after[feed_id]}
    assert moved == {feed_id for feed_id, worker in before.items() if worker == "d-4"}


def test_a_worker_alone_takes_every_feed_whatever_it_last_saw() -> None:
    assert shard(FEEDS, "a-1", []) == FEEDS == shard(FEEDS, "a-1", ["a-1"])
    assert owner("x.example", []) is None


def test_a_running_daemon_is_a_worker_with_its_claims_and_metrics_and_signs_off(
    tmp_path: Path, tass_site: Site
) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    port = free_port()
    daemon = start_daemon(config, run_options=("--metrics-port", str(port)))
    me = f"{socket.gethostname()}-{daemon.pid}"
    try:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)], timeout=60)
        (row,) = query(db, "SELECT id, pid, metrics FROM workers")
        assert row == (me, daemon.pid, f"http://127.0.0.1:{port}/metrics")
        assert query(db, "SELECT claimed_by FROM feeds") == [(None,)]  # the poll is over: released
        listed = run_cli("workers", config=config)
        assert listed.returncode == 0, listed.stderr
        assert me in listed.stdout and "live" in listed.stdout and f"127.0.0.1:{port}" in listed.stdout
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    assert query(db, "SELECT COUNT(*) FROM workers") == [(0,)]
    gone = run_cli("workers", config=config)
    assert gone.returncode == 0 and gone.stderr.strip() == "no live workers"


def another_worker_holds_the_feed(config: Path, db: Path, now: datetime, worker: str = "elsewhere-7") -> None:
    with open_store(db) as store:  # live, holding the feed for its 60 s lease
        store.sync_feeds(load_config(config).feeds)
        lease = now + timedelta(seconds=60)
        host, pid = worker.rsplit("-", 1)
        store.beat(WorkerBeat(worker, host, int(pid), iso(now) or "", iso(now) or "", iso(lease) or ""))
        assert store.claim_feeds(worker, ["tass"], now, lease) == ["tass"]


def test_a_feed_another_worker_holds_waits_for_its_lease_to_lapse(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    clock = Clock()
    another_worker_holds_the_feed(config, db, clock())
    with daemon_thread(config, clock, tick=0.05, alone=False) as daemon:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM workers") == [(2,)])
        time.sleep(0.5)  # ten ticks: the feed is due, but not this worker's
        assert query(db, "SELECT COUNT(*) FROM polls") == [(0,)]
        assert daemon.membership is not None and sorted(daemon.membership.live) == sorted(
            ["elsewhere-7", daemon.membership.id]
        )
        clock.advance(seconds=61)  # the other worker sent no beat: its lease lapsed
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])
        assert query(db, "SELECT claimed_by FROM feeds") == [(None,)]  # released after the poll


def test_a_worker_of_this_host_whose_process_is_gone_is_signed_off_at_once(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    clock = Clock()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    another_worker_holds_the_feed(config, db, clock(), worker=f"{socket.gethostname()}-{dead.pid}")
    with daemon_thread(config, clock, tick=0.05, alone=False):
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])  # no lease to wait for
        assert query(db, "SELECT COUNT(*) FROM workers") == [(1,)]


def test_the_daemon_of_an_sqlite_file_is_alone_it_clears_workers_before_it_and_claims_nothing(
    tmp_path: Path, tass_site: Site
) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    clock = Clock()
    another_worker_holds_the_feed(config, db, clock())  # a daemon killed on another machine, say
    with daemon_thread(config, clock, tick=0.05) as daemon:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])
        assert daemon.membership is not None
        assert query(db, "SELECT id FROM workers") == [(daemon.membership.id,)]
        assert query(db, "SELECT claimed_by FROM feeds") == [(None,)]


def test_work_sharing_a_feed_shares_one_claim_which_ends_with_the_last_of_it(tmp_path: Path) -> None:
    clock = Clock()
    now, until = clock(), clock() + timedelta(seconds=60)
    with open_store(tmp_path / "archive.db") as store:
        store.sync_feeds([FeedSpec("tass", "https://tass.com/rss/v2.xml", "TASS")])

        async def scenario() -> None:
            db = Database(store)
            try:
                claims = WorkerClaims(db, Membership(db, clock, 60))
                assert await claims.take(["tass"], due_only=True) == ["tass"]  # a poll
                assert await claims.take(["tass", "tass"]) == ["tass"]  # a backfill batch of the same feed
                await claims.give_back(["tass"])  # the poll ends: the batch still holds the feed
                assert store.claim_feeds("other-1", ["tass"], now, until, due_only=False) == []
                await claims.give_back(["tass"])  # the batch ends: the claim with it
                assert claims.held == set()
                assert store.claim_feeds("other-1", ["tass"], now, until, due_only=False) == ["tass"]
                assert await claims.take(["tass"]) == []  # another worker's: refused, and nothing counted
                assert claims.held == set()
                async with holding(claims, ["tass"]) as mine:
                    assert mine == set()
            finally:
                db.close()

        asyncio.run(scenario())
