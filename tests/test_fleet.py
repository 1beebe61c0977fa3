"""A fleet: three real ``aggregator run`` processes share one PostgreSQL archive and one archive
folder, polling a local web site of many hosts (sites are shared by host), and one of them is
killed with SIGKILL mid-run. Every article must be archived exactly once, nothing may be lost or
left half done, and the dead worker's feeds must be taken over within its lease."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from aggregator.config import load_config
from aggregator.store import WorkerBeat, iso, open_store
from tests.helpers.daemon import start_daemon
from tests.helpers.postgres import fresh_database
from tests.helpers.site import Page, Site, item, rss, run_cli, tass_config, write_config

HOSTS = 30
PER_HOST = 60  # 1,800 articles
LEASE = 6  # seconds (the setting's default is 60; a test cannot wait that long)


def article_page(host: int, n: int) -> str:
    url = f"http://site{host}.example/news/{n}"
    paragraphs = "".join(
        f"<p>Story {n} of site {host}, paragraph {k}: the council met on Tuesday and agreed on a plan "
        f"that had been argued over for months by everyone who lives in the district.</p>"
        for k in range(4)
    )
    return (
        f'<!doctype html><html lang="en"><head><title>Story {n}</title><link rel="canonical" href="{url}">'
        f'<meta property="article:published_time" content="2026-11-{1 + n % 28:02d}T10:00:00+00:00"></head>'
        f"<body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article><h1>Story {n}</h1>"
        f"{paragraphs}</article><footer>Copyright</footer></body></html>"
    )


def many_hosts(site: Site) -> set[str]:
    """``HOSTS`` sites of ``PER_HOST`` articles each, each site's feed listing its articles."""
    urls = set()
    for host in range(HOSTS):
        items = []
        for n in range(host * PER_HOST, (host + 1) * PER_HOST):
            url = f"http://site{host}.example/news/{n}"
            site[f"/news/{n}"] = article_page(host, n)
            items.append(item(url, f"Story {n}", date="Tue, 03 Nov 2026 10:00:00 +0000"))
            urls.add(url)
        site[f"/feed/{host}.xml"] = Page(rss(*items).encode(), "application/rss+xml")
    return urls


@pytest.fixture
def fleet_config(tmp_path: Path, site: Site) -> Iterator[tuple[Path, str, set[str]]]:
    database = fresh_database()
    open_store(database).close()  # the schema, so that the test can read the tables from the start
    urls = many_hosts(site)
    feeds = "".join(
        f"  - {{id: s{host}, url: 'http://site{host}.example/feed/{host}.xml', source: Site {host}, interval: 1h}}\n"
        for host in range(HOSTS)
    )
    settings = (
        f"  database: '{database}'\n  archive_dir: {tmp_path / 'archive'}\n  proxy: {site.origin}\n"
        f"  worker_lease: {LEASE}\n  max_attempts: 3\n  page_retry_delay: 0\n"
    )
    yield write_config(tmp_path, feeds, settings=settings), database, urls


def rows(database: str, sql: str) -> list[tuple]:
    with psycopg.connect(database, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {timeout:.0f} s: {what}")
        time.sleep(0.1)


def test_three_workers_one_killed_archive_every_article_exactly_once(
    fleet_config: tuple[Path, str, set[str]], tmp_path: Path
) -> None:
    config, database, urls = fleet_config
    workers = [start_daemon(config) for _ in range(3)]
    try:
        wait_until(lambda: rows(database, "SELECT COUNT(*) FROM workers")[0][0] == 3, 60, "three workers beat")
        # mid-run: some articles archived, and a worker holding claims on feeds it is polling
        wait_until(
            lambda: rows(database, "SELECT COUNT(*) FROM articles")[0][0] >= len(urls) // 6, 120, "a sixth archived"
        )
        claims = dict(rows(database, "SELECT claimed_by, COUNT(*) FROM feeds WHERE claimed_by IS NOT NULL GROUP BY 1"))
        victim = next(w for w in workers if any(worker.endswith(f"-{w.pid}") for worker in claims))
        (victim_id,) = [worker for worker in claims if worker.endswith(f"-{victim.pid}")]
        held = [feed for (feed,) in rows(database, f"SELECT id FROM feeds WHERE claimed_by = '{victim_id}'")]
        before = rows(database, "SELECT COUNT(*) FROM articles")[0][0]
        victim.send_signal(signal.SIGKILL)
        killed_at = datetime.now(UTC)
        victim.wait(timeout=10)
        assert before < len(urls), "the kill came after the end: nothing to take over"

        wait_until(
            lambda: rows(database, "SELECT COUNT(*) FROM articles")[0][0] == len(urls), 240, "every article archived"
        )
        # the feeds the dead worker was polling were polled again by a survivor within its lease
        # (a poll is recorded when it ends: one that died with its worker left no row)
        taken_over = {}
        for feed in held:
            since = f"feed_id = '{feed}' AND started_at >= '{iso(killed_at)}'"
            ((first,),) = rows(database, f"SELECT MIN(started_at) FROM polls WHERE {since}")
            if first is not None:  # None: its poll ended between the read of the claims and the kill
                taken_over[feed] = (datetime.fromisoformat(first) - killed_at).total_seconds()
        assert taken_over and max(taken_over.values()) <= LEASE, taken_over
        wait_until(
            lambda: rows(database, "SELECT COUNT(*) FROM workers")[0][0] == 2, 3 * LEASE, "the dead worker signed off"
        )
        wait_until(
            lambda: rows(database, "SELECT COUNT(*) FROM articles WHERE text_written_at IS NULL")[0][0] == 0,
            3 * LEASE,
            "every text file written",
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        outputs = [worker.communicate(timeout=60) for worker in workers]
    survivors = [w for w in workers if w is not victim]
    assert all(w.returncode == 0 for w in survivors), [out[1][-2000:] for out in outputs]

    archived = rows(database, "SELECT url, path FROM articles")
    assert {url for url, _ in archived} == urls  # every article, once (the URL is unique)
    assert rows(database, "SELECT status, COUNT(*) FROM entries GROUP BY 1") == [("archived", len(urls))]
    assert rows(database, "SELECT COUNT(*) FROM feeds WHERE claimed_by IS NOT NULL") == [(0,)]
    texts = sorted(p.relative_to(tmp_path / "archive").as_posix() for p in (tmp_path / "archive").rglob("*.txt"))
    assert texts == sorted(path for _, path in archived)  # one text file per article, none left over
    # every article's page is in a WARC file of one of the three, and no WARC file is left open
    writers = {name.rsplit("-", 1)[-1].removesuffix(".warc.gz") for name in names(tmp_path / "archive", "*.warc.gz")}
    assert writers <= {str(w.pid) for w in workers} and str(victim.pid) in writers  # one writer a file
    assert names(tmp_path / "archive", "*.open") == [], "a WARC file left open"
    captured = rows(database, "SELECT COUNT(DISTINCT article_id) FROM captures WHERE kind = 'page'")
    assert captured == [(len(urls),)]


def names(folder: Path, pattern: str) -> list[str]:
    return sorted(path.name for path in folder.rglob(pattern))


def test_a_one_off_fetch_beside_a_fleet_leaves_alone_the_feed_a_worker_is_polling(
    tmp_path: Path, tass_site: Site
) -> None:
    database = fresh_database()
    config = tass_config(tmp_path, tass_site)
    env = {"AGGREGATOR_DATABASE": database}
    now = datetime.now(UTC)
    with open_store(database) as store:  # a live worker elsewhere, polling the feed this moment
        store.sync_feeds(load_config(config).feeds)
        lease = now + timedelta(seconds=60)
        store.beat(WorkerBeat("elsewhere-7", "elsewhere", 7, iso(now) or "", iso(now) or "", iso(lease) or ""))
        assert store.claim_feeds("elsewhere-7", ["tass"], now, lease) == ["tass"]
    skipped = run_cli("fetch", config=config, env=env)
    assert skipped.returncode == 0, skipped.stderr
    assert "tass: skipped: worker elsewhere-7 is polling it now" in skipped.stderr
    assert rows(database, "SELECT COUNT(*) FROM polls") == [(0,)]

    with open_store(database) as store:
        store.release_feeds("elsewhere-7", ["tass"])
    for polls in (1, 2):  # the second time the feed is not due: a fetch polls it all the same
        done = run_cli("fetch", config=config, env=env)
        assert done.returncode == 0, done.stderr
        assert rows(database, "SELECT COUNT(*) FROM polls") == [(polls,)]
        assert rows(database, "SELECT claimed_by FROM feeds") == [(None,)]  # released at the end
    assert rows(database, "SELECT COUNT(*) FROM workers") == [(1,)]  # a fetch is not a worker


def test_reload_asks_every_worker_of_this_machine_and_names_the_others(tmp_path: Path, tass_site: Site) -> None:
    database = fresh_database()
    config = tass_config(tmp_path, tass_site)
    # a lease of an hour: the daemon beats at its start only, and never sees the worker added below
    settings = f"settings:\n  database: '{database}'\n  worker_lease: 3600\n"
    config.write_text(config.read_text().replace("settings:\n", settings, 1))
    tass_site["/rss/other.xml"] = Page(rss().encode(), "application/rss+xml")
    now = datetime.now(UTC)
    lease = now + timedelta(hours=1)
    far = WorkerBeat("far-7", "far", 7, iso(now) or "", iso(now) or "", iso(lease) or "")  # on another machine
    with open_store(database) as store:
        store.beat(far)
    assert run_cli("reload", config=config).stderr.splitlines()[-1].startswith("error: no worker of this machine (")
    with open_store(database) as store:
        store.leave("far-7")  # not there while the daemon starts: the feeds are all its own
    daemon = start_daemon(config)
    try:
        wait_until(lambda: rows(database, "SELECT COUNT(*) FROM polls") == [(1,)], 60, "the first poll")
        with open_store(database) as store:
            store.beat(far)
        config.write_text(config.read_text() + "  - {id: other, url: 'http://tass.com/rss/other.xml', source: TASS}\n")
        reload = run_cli("reload", config=config)
        assert reload.returncode == 0, reload.stderr
        assert reload.stdout.startswith(
            f"asked worker {socket.gethostname()}-{daemon.pid} (pid {daemon.pid}) to reload"
        )
        assert reload.stderr.strip() == "worker far-7 runs on far: run `aggregator reload` there"
        wait_until(lambda: ("other",) in rows(database, "SELECT feed_id FROM polls"), 60, "the new feed polled")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=30)
    assert daemon.returncode == 0
