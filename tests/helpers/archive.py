"""A small real archive for the read-side tests (export, search, serve, doctor), built by the real
pipeline from the fixtures: two TASS stories, a BBC page (another source and extractor), the
first TASS story again through a second feed (a duplicate merged), and two pages that fail; the
command line run on it in this process; and the invariants any archive keeps."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.models import FeedSpec
from tests.helpers.daemon import query
from tests.helpers.mock import FEED_URL, REFERENCE_PAGE, TASS, Routes, html, rss, run
from tests.helpers.site import FIXTURES, GALLERY, SECOND_STORY

REFERENCE_DOC = (FIXTURES / "tass" / "politics-1189047.txt").read_bytes()
REFERENCE_PATH = "tass/2020-08-13/000_5c481511b53b5c3e.txt"
REFERENCE_ID = "5c481511b53b5c3e"
BBC_URL = "https://www.bbc.com/news/world-us-canada-52241221"
BBC_HTML = gzip.decompress((FIXTURES / "real" / "bbc-2020-52241221.html.gz").read_bytes())
BBC_DOC = (FIXTURES / "profiles" / "generic" / "bbc-2020-52241221.txt").read_bytes()
BBC = FeedSpec(id="bbc", url="https://feeds.bbci.co.uk/news/rss.xml", source="BBC News", timezone="Europe/London")
OTHER = FeedSpec(id="other", url="https://tass.com/rss/other.xml", source="TASS", timezone="Europe/Moscow")

CONFIG = """settings:
  database: a.db
  archive_dir: archive
feeds:
  - {id: tass, url: 'https://tass.com/rss/v2.xml', source: TASS, timezone: Europe/Moscow}
  - {id: bbc, url: 'https://feeds.bbci.co.uk/news/rss.xml', source: BBC News, timezone: Europe/London}
  - {id: other, url: 'https://tass.com/rss/other.xml', source: TASS, timezone: Europe/Moscow}
"""


def build_archive(folder: Path) -> Path:
    """Archive the fixtures into ``folder`` (``a.db`` and ``archive/``); returns its feeds.yaml."""
    tass_links = ("https://tass.com/politics/1189047?utm_source=rss", "https://tass.com/world/1189100",
                  "https://tass.com/society/1189200", "https://tass.com/politics/1189999")  # fmt: skip
    routes: Routes = {
        FEED_URL: html(rss(*tass_links), content_type="application/rss+xml"),
        "https://tass.com/politics/1189047": html(REFERENCE_PAGE),
        "https://tass.com/world/1189100": html(SECOND_STORY),
        "https://tass.com/society/1189200": html(GALLERY),
        BBC.url: html(rss(BBC_URL, pub_date="Fri, 10 Apr 2020 10:00:00 +0000"), content_type="application/rss+xml"),
        BBC_URL: html(BBC_HTML),
        OTHER.url: html(
            rss("https://tass.com/politics/1189047?utm_source=twitter"), content_type="application/rss+xml"
        ),
    }
    for feeds in ((TASS, BBC), (OTHER,)):  # one after the other: which feed archives first is fixed
        results, db = run(folder, routes, feeds)
        db.close()
        assert all(result.ok for result in results), results
    config = folder / "feeds.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str, config: Path) -> Ran:
    """The command line in this process (much faster than ``run_cli``; same outputs and exit codes)."""
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)


def check_archive(db: Path, archive: Path) -> list[str]:
    """The invariants after any interruption; returns the archived URLs."""
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT COUNT(*) - COUNT(DISTINCT url) FROM articles") == [(0,)]
    rows = query(db, "SELECT path, document FROM articles")
    for path, document in rows:
        assert (archive / path).read_bytes() == document.encode("utf-8"), path
    files = {p.relative_to(archive).as_posix() for p in archive.rglob("*.txt")}
    assert files == {path for path, _ in rows}  # no file without a row, no temporary file left
    return [url for (url,) in query(db, "SELECT url FROM articles")]
