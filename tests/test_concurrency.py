"""Concurrency: the daemon, several simultaneous `aggregator fetch` runs and a Datasette reader on
one database, while the site changes: no lock errors, no duplicates, no lost article."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import pytest

from tests.helpers.archive import check_archive
from tests.helpers.daemon import query, start_daemon, start_fetch, wait_for
from tests.helpers.datasette import serving
from tests.helpers.site import Site, large_site, large_site_config

FETCHES = 3
ROUNDS = 2


def fetch_all(config: Path) -> list[tuple[int, str]]:
    """``FETCHES`` simultaneous `aggregator fetch` runs; (exit code, stdout + stderr) of each."""
    runs = [start_fetch(config) for _ in range(FETCHES)]
    outputs = [run.communicate(timeout=120) for run in runs]
    return [(run.returncode, out + err) for run, (out, err) in zip(runs, outputs, strict=True)]


@pytest.mark.slow
def test_daemon_fetches_and_datasette_share_one_database(
    tmp_path: Path, site: Site, figures: dict[str, object]
) -> None:
    served = large_site(site, feeds=3, per_feed=30)
    config = large_site_config(tmp_path, site, feeds=3)
    db, archive = tmp_path / "archive" / "archive.db", tmp_path / "archive"
    daemon = start_daemon(config)
    reads: list[int] = []
    failures: list[str] = []
    stop = threading.Event()
    try:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM feeds") == [(3,)])
        with serving(config) as client:

            def read() -> None:
                while not stop.is_set():
                    try:
                        answer = client.get(
                            "/archive/articles.json", params={"_shape": "array", "_size": "max", "_col": "url"}
                        )
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                        continue
                    if answer.status_code != 200:
                        failures.append(answer.text)
                    else:
                        reads.append(len(answer.json()))

            reader = threading.Thread(target=read)
            reader.start()
            try:
                results = fetch_all(config)
                # the site changes: new stories appear while the writers run again
                served |= large_site(site, feeds=3, per_feed=45, start=6_000_000)
                results += fetch_all(config)
            finally:
                stop.set()
                reader.join(timeout=30)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, daemon_err = daemon.communicate(timeout=15)
    assert [code for code, _ in results] == [0] * FETCHES * ROUNDS, results
    assert not [out for _, out in results if "locked" in out.lower()]
    assert "locked" not in daemon_err.lower()
    assert daemon.returncode == 0
    assert failures == []
    assert reads and reads == sorted(reads)  # the reader only ever saw the archive grow
    assert set(check_archive(db, archive)) == served
    assert query(db, "SELECT COUNT(*) FROM entries WHERE status != 'archived'") == [(0,)]
    figures["concurrency"] = {
        "writers": {"daemon": 1, "simultaneous_fetch_runs": FETCHES, "rounds": ROUNDS},
        "datasette_reads": len(reads),
        "articles": len(served),
    }
