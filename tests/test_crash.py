"""Crashes: the daemon killed with SIGKILL at random moments of a large ingest, many times, then
restarted; afterwards the database is sound, nothing is stored twice, rows and files agree, and
everything served is archived. ``aggregator doctor`` checks and repairs the same invariants."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.helpers.archive import REFERENCE_DOC, REFERENCE_PATH, build_archive, check_archive, invoke
from tests.helpers.daemon import is_up, query, start_daemon, wait_for
from tests.helpers.site import LARGE_FEEDS, Site, large_site, large_site_config

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
            "problem: temp_file: tass/2020-08-13/.tmp-999999999-abc.txt: leftover temporary file",
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
