"""Backfill and gaps end to end: the real CLI against a local news site (robots.txt with a Disallow
and a Crawl-delay, a sitemap index of monthly sitemaps, some gzipped, a news sitemap, a feed that
rolls over) and a Wayback-like server (CDX and captures), both on 127.0.0.1. The servers' own
request logs prove what was and was not requested, and how far apart."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers.daemon import Clock, daemon_thread, wait_for
from tests.helpers.newsroom import Newsroom, Story, Wayback
from tests.helpers.site import run_cli


def write_config(
    tmp_path: Path,
    site: Newsroom,
    archive: Wayback | None = None,
    *,
    sources: str | None = None,
    rate: float = 100,
    extra: str = "",
) -> Path:
    """feeds.yaml for the newsroom's feed, its sitemap index as backfill source by default."""
    if sources is None:
        sources = f"    sitemaps: [{site.base_url}/sitemap.xml]\n"
    wayback = f"  wayback_url: {archive.base_url}\n" if archive else ""
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "settings:\n"
        "  allow_private_networks: true\n"
        "  retries: 0\n"
        "  total_timeout: 10\n"
        f"  backfill_rate: {rate}\n"
        f"{wayback}{extra}"
        "feeds:\n"
        "  - id: newsroom\n"
        f"    url: {site.base_url}/rss.xml\n"
        "    source: Newsroom\n"
        "    timezone: UTC\n"
        f"{sources}",
        encoding="utf-8",
    )
    return path


def archived(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    """(url, fetched_via, capture_time) of every article."""
    db = tmp_path / "archive" / "archive.db"
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT url, fetched_via, capture_time FROM articles ORDER BY url").fetchall()
    finally:
        conn.close()


def assert_paced(times: list[float], spacing: float) -> None:
    """The server saw requests at least ``spacing`` apart on average over every 10 in a row. (One
    pair may arrive closer than they were sent: the first waited for its new connection.)"""
    assert len(times) > 10
    for first, last in zip(times, times[10:], strict=False):
        assert last - first >= 10 * spacing - 0.01


def public(stories: list[Story]) -> list[Story]:
    return [story for story in stories if story.section != "private"]


def in_month(stories: list[Story], year: int, month: int) -> list[Story]:
    return [s for s in stories if (s.published.year, s.published.month) == (year, month)]


def test_backfill_archives_a_year_from_the_sitemaps_once_and_politely(tmp_path: Path) -> None:
    with Newsroom(stories=400, crawl_delay=0.005) as site:
        config = write_config(tmp_path, site)
        done = run_cli("backfill", "--since", "2025-01-01", config=config, timeout=300)
        assert done.returncode == 0, done.stderr
        expected = {site.url(s) for s in public(site.stories)}
        urls = [url for url, _, _ in archived(tmp_path)]
        assert set(urls) == expected and len(urls) == len(expected)
        listed = 400 + len(site.news_stories())  # the news sitemap lists its stories a second time
        assert done.stdout == (
            f"{listed:,} URLs found in the window, 400 queued, {listed - 400:,} archived or queued already; "
            "392 archived, 0 duplicates, 0 failed, 8 disallowed by robots.txt (not requested); 8 left to retry later\n"
        )
        paths = site.paths_requested()
        assert not [p for p in paths if p.startswith("/private/")]
        assert paths.count("/robots.txt") == 1
        stories = Counter(p for p in paths if p.split("/")[1] in ("world", "politics", "sport"))
        assert set(stories.values()) == {1}  # every page fetched once
        assert_paced([entry.time for entry in site.requests], 0.01)

        again = run_cli("backfill", "--since", "2025-01-01", config=config, timeout=120)
        assert again.returncode == 0, again.stderr
        assert again.stdout == (
            f"{listed:,} URLs found in the window, 0 queued, {listed:,} archived or queued already; "
            "0 archived, 0 duplicates, 0 failed; 8 left to retry later\n"
        )
        assert len(archived(tmp_path)) == len(expected)
        assert not [p for p in site.paths_requested()[len(paths) :] if p.split("/")[1] in ("world", "politics")]


def test_a_window_and_patterns_choose_what_is_fetched(tmp_path: Path) -> None:
    with Newsroom(stories=400) as site:
        sources = (
            f"    sitemaps: [{site.base_url}/sitemap.xml]\n"
            f"    include: ['/(world|politics)/']\n"
            f"    exclude: ['/politics/1[0-9]$']\n"
        )
        config = write_config(tmp_path, site, sources=sources)
        done = run_cli("backfill", "--since", "2025-03-01", "--until", "2025-04-30", config=config, timeout=120)
        assert done.returncode == 0, done.stderr
        wanted = {
            site.url(s)
            for s in in_month(site.stories, 2025, 3) + in_month(site.stories, 2025, 4)
            if s.section in ("world", "politics") and not (s.section == "politics" and 10 <= s.number <= 19)
        }
        assert {url for url, _, _ in archived(tmp_path)} == wanted
        # a month sitemap older than the window is not even read
        assert "/sitemaps/2025-01.xml" not in site.paths_requested()


def test_dry_run_counts_by_source_and_month_and_fetches_no_article(tmp_path: Path) -> None:
    with Newsroom(stories=400) as site:
        config = write_config(tmp_path, site)
        done = run_cli("backfill", "--since", "2025-01-01", "--until", "2025-03-31", "--dry-run", config=config)
        assert done.returncode == 0, done.stderr
        for month in (1, 2, 3):
            count = len(in_month(site.stories, 2025, month))
            assert f"{'newsroom':<20} {'sitemap':<8} {f'2025-{month:02d}':<8} {count:>9,}" in done.stdout
        assert "nothing was fetched" in done.stdout
        assert not [p for p in site.paths_requested() if p.split("/")[1] in ("world", "politics", "sport")]


def test_limit_then_resume(tmp_path: Path) -> None:
    with Newsroom(stories=200) as site:
        config = write_config(tmp_path, site)
        first = run_cli("backfill", "--since", "2025-01-01", "--limit", "30", config=config, timeout=120)
        assert first.returncode == 0, first.stderr
        assert len(archived(tmp_path)) == 30
        rest = run_cli("backfill", "--since", "2025-01-01", config=config, timeout=120)
        assert rest.returncode == 0, rest.stderr
        assert {url for url, _, _ in archived(tmp_path)} == {site.url(s) for s in public(site.stories)}


def test_wayback_prefixes_and_pages_the_site_no_longer_serves(tmp_path: Path) -> None:
    with Newsroom(stories=300, gone=range(1, 301, 7)) as site, Wayback(site, page_size=20) as archive:
        sources = f"    wayback: [{site.host}/world/, {site.host}/politics/]\n"
        config = write_config(tmp_path, site, archive, sources=sources)
        done = run_cli("backfill", "--since", "2025-02-01", "--until", "2025-05-31", config=config, timeout=180)
        assert done.returncode == 0, done.stderr
        months = [
            s for m in (2, 3, 4, 5) for s in in_month(site.stories, 2025, m) if s.section in ("world", "politics")
        ]
        rows = {url: (via, when) for url, via, when in archived(tmp_path)}
        assert set(rows) == {site.url(s) for s in months}
        for story in months:
            via, when = rows[site.url(story)]
            if story.number in site.gone:
                assert via == "wayback" and when is not None
                assert datetime.fromisoformat(when) > story.published
            else:
                assert (via, when) == ("live", None)
        assert archive.paths_requested().count("/cdx/search/cdx") >= 2  # paged by resume keys


def test_a_news_sitemap_polled_as_a_feed(tmp_path: Path) -> None:
    with Newsroom(stories=400) as site:
        config = tmp_path / "feeds.yaml"
        config.write_text(
            "settings:\n  allow_private_networks: true\n  retries: 0\nfeeds:\n"
            f"  - id: news\n    url: {site.base_url}/sitemaps/news.xml\n    source: Newsroom\n",
            encoding="utf-8",
        )
        done = run_cli("fetch", config=config, timeout=120)
        news = public(site.news_stories())
        assert news and f"news: {len(site.news_stories())} entries, {len(news)} new" in done.stdout, done.stdout
        assert {url for url, _, _ in archived(tmp_path)} == {site.url(s) for s in news}


@pytest.mark.slow
def test_a_backfill_killed_at_random_moments_misses_and_doubles_nothing(tmp_path: Path) -> None:
    chance = random.Random(15)
    with Newsroom(stories=2000) as site:
        config = write_config(tmp_path, site)
        command = [sys.executable, "-m", "aggregator", "--config", str(config), "backfill", "--since", "2025-01-01"]
        for _ in range(4):
            run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(chance.uniform(0.5, 4.0))
            run.send_signal(signal.SIGKILL)
            run.wait()
        done = run_cli("backfill", "--since", "2025-01-01", config=config, timeout=600)
        assert done.returncode == 0, done.stderr
        urls = [url for url, _, _ in archived(tmp_path)]
        assert len(urls) == len(set(urls)) == len(public(site.stories))
        assert not [p for p in site.paths_requested() if p.startswith("/private/")]
        text_files = list((tmp_path / "archive").rglob("*.txt"))
        assert len(text_files) == len(urls)


def test_the_daemon_finds_a_gap_and_fills_it_by_itself(tmp_path: Path) -> None:
    with Newsroom(stories=300, feed_size=20) as site:
        config = write_config(tmp_path, site, extra="  per_host_concurrency: 4\n")
        clock = Clock()
        db = tmp_path / "archive" / "archive.db"

        def count(sql: str) -> int:
            conn = sqlite3.connect(db)
            try:
                return int(conn.execute(sql).fetchone()[0])
            finally:
                conn.close()

        with daemon_thread(config, clock, tick=0.05) as daemon:
            daemon.background_idle = 0.2
            wait_for(lambda: count("SELECT COUNT(*) FROM articles") == len(public(site.feed_stories())))
            # the first poll recorded (its next poll time taken from the clock) before the clock moves
            wait_for(lambda: count("SELECT COUNT(*) FROM polls") == 1)
            first_seen = min(s.published for s in site.feed_stories())
            site.publish(100)  # a week away: the feed shows only the newest 20 when it is polled again
            clock.advance(hours=1)
            wait_for(lambda: count("SELECT COUNT(*) FROM gaps") == 1)
            expected = {site.url(s) for s in public(site.stories) if s.published >= first_seen}
            wait_for(lambda: count("SELECT COUNT(*) FROM gaps WHERE status = 'filled'") == 1, timeout=120)
            assert b'aggregator_feed_gaps_total{feed="newsroom"} 1.0' in daemon.metrics.render()
            assert b'aggregator_backfill_pages_total{status="archived"}' in daemon.metrics.render()
        urls = {url for url, _, _ in archived(tmp_path)}
        assert expected <= urls
        assert count("SELECT COUNT(*) FROM articles") == len(urls)
        conn = sqlite3.connect(db)
        try:
            gap = conn.execute("SELECT gap_from, gap_to, status, queued FROM gaps").fetchone()
            holes = conn.execute("SELECT COUNT(*) FROM holes WHERE kind = 'gap'").fetchone()[0]
        finally:
            conn.close()
        assert gap[2] == "filled" and gap[3] > 0 and holes == 0
        listing = run_cli("feeds", config=config)
        assert listing.returncode == 0, listing.stderr


def test_a_gap_without_a_source_is_recorded_and_shown_as_a_hole(tmp_path: Path) -> None:
    with Newsroom(stories=100, feed_size=10) as site:
        config = write_config(tmp_path, site, sources="")
        assert run_cli("fetch", config=config).returncode == 0
        site.publish(30)
        again = run_cli("fetch", config=config)
        assert again.returncode == 0, again.stderr
        assert "gap: nothing in common with the last poll" in again.stdout
        db = tmp_path / "archive" / "archive.db"
        conn = sqlite3.connect(db)
        try:
            gaps = conn.execute("SELECT status FROM gaps").fetchall()
            holes = conn.execute("SELECT kind, status FROM holes WHERE kind = 'gap'").fetchall()
        finally:
            conn.close()
        assert gaps == [("open",)] and holes == [("gap", "open")]
        listing = run_cli("feeds", config=config)
        assert "gaps" in listing.stdout
