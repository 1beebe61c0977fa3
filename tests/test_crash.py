"""Crashes: the daemon killed with SIGKILL at random moments of a large ingest, many times, then
restarted; afterwards the database is sound, nothing is stored twice, rows and files agree, and
everything served is archived. A ``fetch`` killed while its extraction workers run leaves nothing
behind to clean up. ``aggregator doctor`` checks and repairs the same invariants."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers.archive import REFERENCE_DOC, REFERENCE_PATH, build_archive, check_archive, invoke
from tests.helpers.daemon import is_up, query, start_daemon, start_fetch, wait_for
from tests.helpers.site import LARGE_FEEDS, Page, Site, item, large_site, large_site_config, rss, run_cli, tass_page

KILLS = 12
SEED = 20260601


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, site: Site, figures: dict[str, object]) -> None:
    served = large_site(site)
    config = large_site_config(tmp_path, site)
    db, archive = tmp_path / "archive" / "archive.db", tmp_path / "archive"
    rng = random.Random(SEED)
    kills, archived_at_kill = 0, []
    while kills < KILLS:
        before = query(db, "SELECT COUNT(*) FROM articles")[0][0] if db.exists() else 0
        if before == len(served):
            break
        daemon = start_daemon(config)
        try:
            # kill while it works: once it has archived something more, after a random moment
            wait_for(lambda before=before: query(db, "SELECT COUNT(*) FROM articles")[0][0] > before, timeout=60)
            time.sleep(rng.uniform(0.0, 0.8))
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.communicate(timeout=10)
        kills += 1
        archived_at_kill.append(query(db, "SELECT COUNT(*) FROM articles")[0][0])
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        assert query(db, "SELECT COUNT(*) - COUNT(DISTINCT url) FROM articles") == [(0,)]
    # feeds whose poll was interrupted are still due: a restart finishes the ingest
    daemon = start_daemon(config)
    try:
        wait_for(lambda: is_up(db, daemon))
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM articles") == [(len(served),)], timeout=120)
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM articles WHERE text_written_at IS NULL") == [(0,)])
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    assert set(check_archive(db, archive)) == served
    assert query(db, "SELECT status, COUNT(*) FROM entries GROUP BY status") == [("archived", len(served))]
    assert invoke("doctor", config=config).stdout == f"checked {len(served)} articles: 0 repaired, 0 problems\n"
    assert kills >= KILLS // 2, archived_at_kill
    figures["crash"] = {
        "seed": SEED,
        "kills_survived": kills,
        "articles": len(served),
        "feeds": LARGE_FEEDS,
        "articles_archived_at_each_kill": archived_at_kill,
    }


@pytest.fixture
def threaded_site() -> Iterator[Site]:
    """A site that answers several requests at once: one held back does not hold up the others."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield Site(server)
    finally:
        server.clear()
        server.stop()


@pytest.mark.slow
def test_a_fetch_killed_while_extracting_leaves_nothing_to_clean_up(tmp_path: Path, threaded_site: Site) -> None:
    site, stories = threaded_site, range(6_000_000, 6_000_020)
    for n in stories:
        site[f"/world/{n}"] = tass_page(n, f"Story {n}", [f"MOSCOW, August 13. /TASS/. Story {n} is long enough."], n)
    # one page is held back the first time until the fetch is dead (then served as the others):
    # the first fetch cannot end before the kill, which lands while its extraction pool is up
    site["/world/6000099"] = held_page = tass_page(6_000_099, "Held", ["MOSCOW. /TASS/. A story held back."], 1)
    release = threading.Event()

    def held(request: Request) -> Response:
        release.wait(60)
        return Response(held_page, content_type="text/html")

    site.server.expect_oneshot_request("/world/6000099").respond_with_handler(held)
    links = [item(f"http://tass.com/world/{n}", f"Story {n}") for n in [*stories, 6_000_099]]
    site["/rss/v2.xml"] = Page(rss(*links).encode(), "application/rss+xml")
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"settings:\n  proxy: {site.origin}\n  retries: 0\n  total_timeout: 120\nfeeds:\n"
        "  - {id: tass, url: 'http://tass.com/rss/v2.xml', source: TASS, timezone: Europe/Moscow}\n",
        encoding="utf-8",
    )
    db, archive = tmp_path / "archive" / "archive.db", tmp_path / "archive"
    fetch = start_fetch(config)
    try:
        # an article stored: a worker extracted it (every fetch extracts in the pool)
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM articles")[0][0] > 0, timeout=120)
    finally:
        fetch.send_signal(signal.SIGKILL)
        # stderr is read to its end: until every process that shares it (the extraction worker,
        # multiprocessing's resource tracker, which outlives its parent) has exited
        _, stderr = fetch.communicate(timeout=60)
        release.set()
    assert fetch.returncode == -signal.SIGKILL  # killed mid-run, not finished
    assert stderr == ""  # no "resource_tracker: There appear to be 5 leaked semaphore objects"
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT COUNT(*) - COUNT(DISTINCT url) FROM articles") == [(0,)]
    again = run_cli("fetch", config=config)  # writes the text files the kill cut off, and the rest
    assert again.returncode == 0, again.stderr
    for line in again.stderr.splitlines():  # only the WARC file the kill left open, closed whole
        assert " WARNING WARC: " in line and "closed after its writer died, nothing torn" in line, line
    archived = {f"https://tass.com/world/{n}" for n in [*stories, 6_000_099]}
    assert set(check_archive(db, archive)) == archived


def test_doctor_finds_and_repairs(tmp_path: Path, figures: dict[str, object]) -> None:
    config = build_archive(tmp_path)
    archive = tmp_path / "archive"
    assert invoke("doctor", config=config).stdout == "checked 3 articles: 0 repaired, 0 problems\n"
    (archive / REFERENCE_PATH).unlink()
    second = archive / "tass" / "2020-08-13" / "001_fa9b0baa3864fdfc.txt"
    second.write_text("tampered", encoding="utf-8")
    (archive / "tass" / "2020-08-13" / "999_0000000000000000.txt").write_text("stray", encoding="utf-8")
    (archive / "tass" / "2020-08-13" / ".tmp-999999999-abc.txt").write_text("half", encoding="utf-8")
    checked = invoke("doctor", config=config)
    assert (checked.returncode, checked.stdout.splitlines()) == (
        1,
        [
            f"problem: missing_file: {REFERENCE_PATH}: no text file (article 5c481511b53b5c3e)",
            "problem: differs: tass/2020-08-13/001_fa9b0baa3864fdfc.txt: text differs from the database "
            "(article fa9b0baa3864fdfc)",
            "problem: temp_file: tass/2020-08-13/.tmp-999999999-abc.txt: leftover temporary file "
            "(doctor --repair deletes a temporary file once its writer is gone or it is 60 minutes old)",
            "problem: orphan: tass/2020-08-13/999_0000000000000000.txt: no article row names this file (kept)",
            "checked 3 articles: 0 repaired, 4 problems",
        ],
    )
    repaired = invoke("doctor", "--repair", config=config)
    assert repaired.returncode == 1  # the orphan is kept and still reported
    assert repaired.stdout.splitlines()[-2:] == [
        "problem: orphan: tass/2020-08-13/999_0000000000000000.txt: no article row names this file (kept)",
        "checked 3 articles: 3 repaired, 1 problem",
    ]
    assert (archive / REFERENCE_PATH).read_bytes() == REFERENCE_DOC
    assert not list(archive.rglob(".tmp-*"))
    (archive / "tass" / "2020-08-13" / "999_0000000000000000.txt").unlink()
    assert invoke("doctor", config=config).returncode == 0
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("UPDATE entries SET article_id = 'ffffffffffffffff' WHERE feed_id = 'other'")
    assert invoke("doctor", config=config).stdout.splitlines()[0].startswith("problem: dangling_entry: other ")
    figures["doctor"] = {"finding_kinds_checked": ["missing_file", "differs", "temp_file", "orphan", "dangling_entry"]}


RULE = "doctor --repair deletes a temporary file once its writer is gone or it is 60 minutes old"


def test_doctor_reports_every_temporary_file_and_repair_deletes_only_those_nobody_writes(tmp_path: Path) -> None:
    """Documents' temporary files name their writer's pid; a WARC index's and an export's do not,
    so only their age says that nobody writes them any more."""
    config = build_archive(tmp_path)
    archive, two_hours_ago = tmp_path / "archive", time.time() - 7200
    day = archive / "tass" / "2020-08-13"
    files = {
        day / ".tmp-999999999-gone.txt": None,  # its writer is gone: stale however young
        day / f".tmp-{os.getpid()}-live.txt": None,  # a live writer's, just changed: kept
        archive / "warc" / ".x.warc.gz.cdxj.old.tmp": two_hours_ago,  # a killed index write
        archive / "warc" / ".x.warc.gz.cdxj.new.tmp": None,  # an index being written, perhaps
        archive / ".tmp-abcd1234": two_hours_ago,  # a killed export
    }
    for path, changed in files.items():
        path.write_text("half", encoding="utf-8")
        if changed is not None:
            os.utime(path, (changed, changed))
    young = "temporary file changed under a minute ago, perhaps still being written"
    checked = invoke("doctor", config=config)
    assert (checked.returncode, checked.stdout.splitlines()) == (
        1,
        [
            f"problem: temp_file: .tmp-abcd1234: leftover temporary file ({RULE})",
            f"problem: temp_file: tass/2020-08-13/.tmp-{os.getpid()}-live.txt: {young} ({RULE})",
            f"problem: temp_file: tass/2020-08-13/.tmp-999999999-gone.txt: leftover temporary file ({RULE})",
            f"problem: temp_file: warc/.x.warc.gz.cdxj.new.tmp: {young} ({RULE})",
            f"problem: temp_file: warc/.x.warc.gz.cdxj.old.tmp: leftover temporary file ({RULE})",
            "checked 3 articles: 0 repaired, 5 problems",
        ],
    )
    repaired = invoke("doctor", "--repair", config=config)
    assert (repaired.returncode, repaired.stdout.splitlines()) == (
        1,
        [
            "repaired: temp_file: .tmp-abcd1234: leftover temporary file, deleted",
            f"problem: temp_file: tass/2020-08-13/.tmp-{os.getpid()}-live.txt: {young}, kept ({RULE})",
            "repaired: temp_file: tass/2020-08-13/.tmp-999999999-gone.txt: leftover temporary file, deleted",
            f"problem: temp_file: warc/.x.warc.gz.cdxj.new.tmp: {young}, kept ({RULE})",
            "repaired: temp_file: warc/.x.warc.gz.cdxj.old.tmp: leftover temporary file, deleted",
            "checked 3 articles: 3 repaired, 2 problems",
        ],
    )
    assert sorted(path.name for path, _ in files.items() if path.exists()) == [
        f".tmp-{os.getpid()}-live.txt",
        ".x.warc.gz.cdxj.new.tmp",
    ]


def test_doctor_names_the_first_temporary_files_and_counts_the_rest(tmp_path: Path) -> None:
    config = build_archive(tmp_path)
    archive = tmp_path / "archive"
    for n in range(12):
        path = archive / "warc" / f".{n:02d}.cdxj.x.tmp"
        path.write_text("half", encoding="utf-8")
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    checked = invoke("doctor", config=config).stdout.splitlines()
    assert checked[:10] == [
        f"problem: temp_file: warc/.{n:02d}.cdxj.x.tmp: leftover temporary file ({RULE})" for n in range(10)
    ]
    assert checked[10:] == [
        f"problem: temp_file: 2 more temporary files, not listed: {RULE}",
        "checked 3 articles: 0 repaired, 12 problems",
    ]
    repaired = invoke("doctor", "--repair", config=config)
    assert repaired.returncode == 0 and repaired.stdout.splitlines()[-2:] == [
        "repaired: temp_file: 2 more temporary files, not listed: deleted",
        "checked 3 articles: 12 repaired, 0 problems",
    ]
    assert not list((archive / "warc").glob("*.tmp"))
    (archive / "warc" / ".a.cdxj.x.tmp").write_text("half", encoding="utf-8")
    one = invoke("doctor", config=config).stdout.splitlines()[-1]
    assert one == "checked 3 articles: 0 repaired, 1 problem"
