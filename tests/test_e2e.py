"""End to end: the real CLI against a TASS-like site on a real local socket, reached through
``proxy`` exactly as it would reach tass.com (the site answers for any host name)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.helpers.site import FIXTURES, Page, Site, item, rss, run_cli, tass_config, write_config

REFERENCE_DOC = (FIXTURES / "tass" / "politics-1189047.txt").read_bytes()
REFERENCE_FILE = Path("tass/2020-08-13/000_5c481511b53b5c3e.txt")


def db_rows(tmp_path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(tmp_path / "archive" / "archive.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_fetch_archives_byte_exact_once_and_records_failures(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    first = run_cli("fetch", config=config)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "tass: 4 entries, 2 new, 2 pages failed (2 to retry, 0 abandoned)\n"
    assert "Traceback" not in first.stderr

    archive = tmp_path / "archive"
    assert (archive / REFERENCE_FILE).read_bytes() == REFERENCE_DOC
    second_doc = (archive / "tass/2020-08-13").glob("001_*.txt")
    assert [p.read_text(encoding="utf-8").splitlines()[1:6] for p in second_doc] == [
        ["SECOND STORY", "", "- 13.08.2020", "", "TASS (13 August 2020)"]
    ]
    assert db_rows(tmp_path, "SELECT url, published, published_via, extractor FROM articles ORDER BY seq") == [
        ("https://tass.com/politics/1189047", "2020-08-13T00:26:00+03:00", "page:dateformat", "tass@2019"),
        ("https://tass.com/world/1189100", "2020-08-13T12:00:00+03:00", "page:dateformat", "tass@2019"),
    ]
    failures = db_rows(
        tmp_path,
        "SELECT link, status, attempts, last_error_reason FROM entries WHERE status != 'archived' ORDER BY link",
    )
    assert failures == [
        ("http://tass.com/politics/1189999", "failed", 1, "http_404"),
        ("http://tass.com/society/1189200", "failed", 1, "not_article"),
    ]

    # The second run: the feed answers 304, nothing new is stored, known pages are not fetched
    # again, failed pages are retried.
    hits_before = dict(tass_site.hits)
    second = run_cli("fetch", config=config)
    assert second.returncode == 0, second.stderr
    assert second.stdout == "tass: unchanged (304), 0 new, 2 pages failed (2 to retry, 0 abandoned)\n"
    assert tass_site.hits["/politics/1189047"] == hits_before["/politics/1189047"] == 1
    assert tass_site.hits["/society/1189200"] == 2
    assert db_rows(tmp_path, "SELECT COUNT(*) FROM articles") == [(2,)]
    assert sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*.txt"))[0] == REFERENCE_FILE.as_posix()
    assert len(list(archive.rglob("*.txt"))) == 2

    # Third attempt is the last one allowed (max_attempts: 3): the pages are abandoned, with reasons.
    third = run_cli("fetch", config=config)
    assert third.stdout == "tass: unchanged (304), 0 new, 2 pages failed (0 to retry, 2 abandoned)\n"
    fourth = run_cli("fetch", config=config)
    assert fourth.stdout == "tass: unchanged (304), 0 new\n"
    assert tass_site.hits["/society/1189200"] == 3
    assert db_rows(tmp_path, "SELECT outcome, http_status FROM polls ORDER BY id") == [
        ("ok", 200),
        ("not_modified", 304),
        ("not_modified", 304),
        ("not_modified", 304),
    ]
    assert db_rows(
        tmp_path, "SELECT status, attempts, last_error_reason FROM entries WHERE status != 'archived' ORDER BY link"
    ) == [("abandoned", 3, "http_404"), ("abandoned", 3, "not_article")]
    # --quiet: nothing for a good feed, unchanged ones included
    quiet = run_cli("-q", "fetch", config=config)
    assert (quiet.returncode, quiet.stdout) == (0, "")


def test_one_story_in_two_feeds_is_one_article(tmp_path: Path, tass_site: Site) -> None:
    tass_site["/rss/other.xml"] = Page(
        rss(
            item(
                "http://tass.com/politics/1189047?utm_source=twitter&amp;utm_campaign=x#top",
                "Same story",
                guid=False,
            )
        ).encode(),
        "application/rss+xml",
    )
    config = tass_config(
        tmp_path,
        tass_site,
        "  - {id: other, url: 'http://tass.com/rss/other.xml', source: TASS, timezone: Europe/Moscow}\n",
    )
    assert run_cli("fetch", "tass", config=config).returncode == 0
    result = run_cli("fetch", "other", config=config)
    assert result.stdout == "other: 1 entries, 0 new, 1 already archived\n"
    assert tass_site.hits["/politics/1189047"] == 1
    assert db_rows(tmp_path, "SELECT COUNT(*) FROM articles WHERE url = 'https://tass.com/politics/1189047'") == [(1,)]
    assert db_rows(
        tmp_path,
        "SELECT feed_id, status FROM entries WHERE article_id = "
        "(SELECT id FROM articles WHERE seq = 0) ORDER BY feed_id",
    ) == [("other", "archived"), ("tass", "archived")]


def test_a_broken_feed_fails_alone_with_its_reason(tmp_path: Path, tass_site: Site) -> None:
    tass_site["/rss/broken.xml"] = Page(
        b"<html><head><title>Just a moment...</title></head><body><script>window.location='/x'</script></body></html>",
        "text/html",
    )
    config = tass_config(tmp_path, tass_site, "  - {id: broken, url: 'http://tass.com/rss/broken.xml', source: TASS}\n")
    result = run_cli("fetch", config=config)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "tass: 4 entries, 2 new, 2 pages failed (2 to retry, 0 abandoned)"
    assert lines[1].startswith("broken: FAILED: ")
    assert "not a feed" in lines[1]
    assert db_rows(tmp_path, "SELECT status, last_error_reason FROM feeds WHERE id = 'broken'") == [
        ("backing_off", "not_a_feed")
    ]


def test_private_addresses_are_refused_unless_allowed(tmp_path: Path, tass_site: Site) -> None:
    feeds = f"  - {{id: local, url: '{tass_site.origin}/rss/v2.xml', source: TASS}}\n"
    result = run_cli("fetch", config=write_config(tmp_path, feeds))
    assert result.returncode == 1
    assert result.stdout.startswith("local: FAILED: ")
    assert "127.0.0.1" in result.stdout and "not a public address" in result.stdout
    assert tass_site.hits == {}
    allowed = write_config(tmp_path, feeds, settings="  allow_private_networks: true\n")
    assert run_cli("fetch", config=allowed).returncode == 0


def test_an_interrupted_run_is_finished_by_the_next(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    assert run_cli("fetch", config=config).returncode == 0
    path = tmp_path / "archive" / REFERENCE_FILE
    path.unlink()  # as if the process died between the commit and the file
    conn = sqlite3.connect(tmp_path / "archive" / "archive.db")
    with conn:
        conn.execute("UPDATE articles SET text_written_at = NULL")
    conn.close()
    assert run_cli("fetch", config=config).returncode == 0
    assert path.read_bytes() == REFERENCE_DOC


def test_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  - {id: a, url: 'http://x.org/', source: X, timezone: Mars/Olympus}\n")
    result = run_cli("fetch", config=config)
    assert result.returncode == 2
    assert result.stderr == f"error: {config}: feed 'a': unknown time zone 'Mars/Olympus'\n"
    assert result.stdout == ""


def test_unknown_feed_id_exits_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  - {id: a, url: 'http://x.org/', source: X}\n")
    result = run_cli("fetch", "b", config=config)
    assert (result.returncode, result.stderr) == (2, f"error: {config}: no feed with id 'b'\n")


def test_article_html_prints_the_document(tmp_path: Path) -> None:
    result = run_cli(
        "article",
        "--html",
        str(FIXTURES / "tass" / "politics-1189047.html"),
        "--url",
        "https://tass.com/politics/1189047",
        "--source",
        "TASS",
        "--timezone",
        "Europe/Moscow",
        config=tmp_path / "absent.yaml",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.encode("utf-8") == REFERENCE_DOC


def test_article_url_through_the_proxy(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    result = run_cli("article", "http://tass.com/politics/1189047", "--timezone", "Europe/Moscow", config=config)
    assert result.returncode == 0, result.stderr
    assert result.stdout.encode("utf-8") == REFERENCE_DOC
    # the source and the zone of the feed on the page's site (tass.com), as the archive has them
    by_feed = run_cli("article", "http://tass.com/politics/1189047", config=config)
    assert (by_feed.returncode, by_feed.stdout.encode("utf-8")) == (0, REFERENCE_DOC), by_feed.stderr
    gallery = run_cli("article", "http://tass.com/society/1189200", config=config)
    assert gallery.returncode == 1
    assert gallery.stderr.startswith("error: ") and gallery.stderr.count("\n") == 1


def test_feeds_table_shows_state(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    before = run_cli("feeds", config=config)
    assert before.returncode == 0
    assert "tass" in before.stdout and "never" in before.stdout
    run_cli("fetch", config=config)
    after = run_cli("feeds", config=config)
    row = next(line for line in after.stdout.splitlines() if " tass " in line)
    assert " ok " in row and " 2 " in row


def test_a_missing_html_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(
        "article",
        "--html",
        str(tmp_path / "absent.html"),
        "--url",
        "https://tass.com/a/1",
        config=tmp_path / "absent.yaml",
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_an_unwritable_database_is_one_line(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "  - {id: a, url: 'http://x.org/', source: X}\n", settings="  database: /proc/absent/a.db\n"
    )
    result = run_cli("fetch", config=config)
    assert result.returncode == 1
    assert result.stderr == (
        "error: /proc/absent/a.db: cannot open the archive database: "
        "[Errno 2] No such file or directory: '/proc/absent'\n"
    )


def test_bad_inline_selectors_stop_the_command_with_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  - {id: a, url: 'http://x.org/', source: X, selectors: {headline: h1}}\n")
    result = run_cli("fetch", config=config)
    assert result.returncode == 2
    assert result.stderr == f"error: {config}: feed 'a': selectors need at least 'container'\n"


def test_a_feed_removed_from_feeds_yaml_is_no_longer_shown_as_polled(tmp_path: Path, tass_site: Site) -> None:
    extra = "  - {id: other, url: 'http://tass.com/rss/other.xml', source: TASS}\n"
    tass_site["/rss/other.xml"] = rss()
    config = tass_config(tmp_path, tass_site, extra_feeds=extra)
    assert run_cli("fetch", config=config).returncode == 0
    config.write_text(config.read_text(encoding="utf-8").replace(extra, ""), encoding="utf-8")
    assert run_cli("fetch", config=config).returncode == 0
    with sqlite3.connect(tmp_path / "archive" / "archive.db") as conn:
        rows = dict(conn.execute("SELECT id, enabled || ' ' || COALESCE(next_poll_at, '-') FROM feeds").fetchall())
    assert rows["other"] == "0 -" and rows["tass"].startswith("1 2")
