"""``aggregator reextract`` end to end: archive the TASS page through the pipeline into a real
SQLite file, spoil or change what was stored, run the command, compare whole documents."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result

from aggregator.capture import WarcWriter
from aggregator.cli import cli
from tests.helpers.archive import invoke
from tests.helpers.mock import FEED_URL, PROFILES, REFERENCE_PAGE, Routes, html, rss, run
from tests.helpers.site import FIXTURES

ARTICLE_ID = "5c481511b53b5c3e"
URL = "https://tass.com/politics/1189047"
PATH = "tass/2020-08-13/000_5c481511b53b5c3e.txt"
TITLE = "Presidents of Russia and Azerbaijan discuss regional issues in phone call"
REFERENCE_DOC = (FIXTURES / "tass" / "politics-1189047.txt").read_text(encoding="utf-8")
CONFIG = f"""
settings:
  database: a.db
  archive_dir: archive
feeds:
  - id: tass
    url: {FEED_URL}
    source: TASS
    timezone: Europe/Moscow
"""


def archived(tmp_path: Path, pub_date: str = "Wed, 12 Aug 2020 21:26:00 +0000") -> sqlite3.Connection:
    """The TASS reference page archived by a pipeline run, and a feeds.yaml pointing at it."""
    routes: Routes = {
        FEED_URL: html(rss(URL, pub_date=pub_date), content_type="application/rss+xml"),
        URL: html(REFERENCE_PAGE),
    }
    (result,), db = run(tmp_path, routes)
    assert result.archived == 1
    (tmp_path / "feeds.yaml").write_text(CONFIG, encoding="utf-8")
    return db


def recapture(tmp_path: Path, db: sqlite3.Connection, page: bytes) -> None:
    """A newer capture of the article's page, as a later fetch would have recorded it."""
    folder = tmp_path / "archive" / "warc"
    with WarcWriter(folder, info={}) as writer:
        ref = writer.write_response(URL, datetime.now(UTC), 200, [("Content-Type", "text/html")], page)
    db.execute(
        "INSERT INTO captures (kind, article_id, url, record_type, status, digest, content_type, captured_at, "
        "warc_file, warc_offset, warc_length) VALUES ('page', ?, ?, 'response', 200, ?, ?, ?, ?, ?, ?)",
        [ARTICLE_ID, ref.url, ref.digest, ref.content_type, ref.date, ref.file, ref.offset, ref.length],
    )
    db.commit()


def reextract(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(tmp_path / "feeds.yaml"), "reextract", *args])


def stored(db: sqlite3.Connection) -> tuple:
    return db.execute("SELECT title, document, extractor, published, path FROM articles").fetchone()


def spoil(db: sqlite3.Connection) -> None:
    """What an older, broken profile might have stored."""
    db.execute("UPDATE articles SET title = 'OLD', body = 'old', document = 'old document', extractor = 'tass@2018'")
    db.commit()


def test_nothing_changed_nothing_written(tmp_path: Path) -> None:
    db = archived(tmp_path)
    before = stored(db)
    result = reextract(tmp_path)
    assert (result.exit_code, result.output) == (0, "checked 1, changed 0, failed 0, no page kept 0\n")
    assert stored(db) == before


def test_a_spoiled_row_and_file_are_repaired(tmp_path: Path) -> None:
    db = archived(tmp_path)
    spoil(db)
    (tmp_path / "archive" / PATH).write_text("old document", encoding="utf-8")
    result = reextract(tmp_path)
    assert (result.exit_code, result.output) == (
        0,
        (
            f"{ARTICLE_ID} {URL}: title, body, document, extractor changed (tass@2018 -> tass@2019)\n"
            "checked 1, changed 1, failed 0, no page kept 0\n"
        ),
    )
    assert stored(db) == (TITLE, REFERENCE_DOC, "tass@2019", "2020-08-13T00:26:00+03:00", PATH)
    assert (tmp_path / "archive" / PATH).read_text(encoding="utf-8") == REFERENCE_DOC
    assert db.execute("SELECT text_written_at IS NOT NULL FROM articles").fetchone() == (1,)
    # full-text search follows the repaired body
    assert db.execute("SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH 'Aliyev'").fetchone() == (1,)
    assert reextract(tmp_path).output == "checked 1, changed 0, failed 0, no page kept 0\n"


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    db = archived(tmp_path)
    spoil(db)
    result = reextract(tmp_path, "--dry-run")
    assert result.output.endswith("(dry run: nothing written)\nchecked 1, changed 1, failed 0, no page kept 0\n")
    assert stored(db)[:3] == ("OLD", "old document", "tass@2018")
    assert (tmp_path / "archive" / PATH).read_text(encoding="utf-8") == REFERENCE_DOC


def test_a_forced_profile_and_a_date_change_keep_the_path(tmp_path: Path) -> None:
    """A row dated wrongly gets the page's date back; the file stays where it was numbered."""
    db = archived(tmp_path)
    db.execute("UPDATE articles SET published = '2020-08-14T09:00:00+03:00'")
    db.commit()
    result = reextract(tmp_path, "--profile", "tass", "--since", "2020-08-13")
    assert result.output == (
        f"{ARTICLE_ID} {URL}: published changed; date 2020-08-14T09:00:00+03:00 -> 2020-08-13T00:26:00+03:00, "
        f"file kept at {PATH}\nchecked 1, changed 1, failed 0, no page kept 0\n"
    )
    assert stored(db) == (TITLE, REFERENCE_DOC, "tass@2019", "2020-08-13T00:26:00+03:00", PATH)
    assert reextract(tmp_path, "--since", "2020-08-14").output == "checked 0, changed 0, failed 0, no page kept 0\n"


def test_a_page_that_now_fails_is_reported_and_the_row_kept(tmp_path: Path) -> None:
    db = archived(tmp_path)
    gallery = (PROFILES / "tass" / "gallery.html").read_bytes()
    recapture(tmp_path, db, gallery)  # the page's newest capture is what reextract reads
    before = stored(db)
    result = reextract(tmp_path)
    assert result.exit_code == 1
    first, last = result.output.splitlines()
    assert first.startswith(f"{ARTICLE_ID} {URL}: FAILED (not_article), row kept: not an article")
    assert last == "checked 1, changed 0, failed 1, no page kept 0"
    assert stored(db) == before
    assert (tmp_path / "archive" / PATH).read_text(encoding="utf-8") == REFERENCE_DOC


def test_a_capture_that_cannot_be_read_is_a_failure_named(tmp_path: Path) -> None:
    db = archived(tmp_path)
    db.execute("UPDATE captures SET warc_offset = warc_offset + 1 WHERE kind = 'page'")
    db.commit()
    result = reextract(tmp_path)
    assert result.exit_code == 1
    first, last = result.output.splitlines()
    assert first.startswith(f"{ARTICLE_ID} {URL}: FAILED (capture), row kept: ") and ".warc.gz at " in first
    assert last == "checked 1, changed 0, failed 1, no page kept 0"


def test_no_page_kept(tmp_path: Path) -> None:
    db = archived(tmp_path)
    db.execute("DELETE FROM captures WHERE kind = 'page'")
    db.commit()
    assert reextract(tmp_path).output == "checked 1, changed 0, failed 0, no page kept 1\n"


def test_bad_options(tmp_path: Path) -> None:
    archived(tmp_path)
    assert reextract(tmp_path, "--profile", "nosuch").exit_code == 2


def test_date_options_are_worded_as_exports_are(tmp_path: Path) -> None:
    """The same options, checked the same way, with the same messages as ``export`` and ``search``."""
    archived(tmp_path)
    config = tmp_path / "feeds.yaml"
    for args in (
        ["--since", "13.08.2020"],
        ["--until", "2020-13-01"],
        ["--since", "2020-08-14", "--until", "2020-08-13"],
    ):
        ours = invoke("reextract", *args, config=config)
        exports = invoke("export", "--format", "jsonl", *args, config=config)
        assert (ours.returncode, ours.stdout) == (2, "")
        assert ours.stderr.endswith(" reextract --help')\n") and exports.stderr.endswith(" export --help')\n")
        assert ours.stderr.partition(" (see ")[0] == exports.stderr.partition(" (see ")[0]
    assert invoke("reextract", "--since", "13.08.2020", config=config).stderr.partition(" (see ")[0] == (
        "error: Invalid value for '--since': '13.08.2020' does not match the format '%Y-%m-%d'."
    )


def test_source_since_and_until_select_as_export_does(tmp_path: Path) -> None:
    """The article was published at 21:26 UTC on 12 August, 00:26 on the 13th in Moscow: its day is
    the 13th (the publisher's), both ends are inclusive, the source is matched in any case."""
    db = archived(tmp_path)
    spoil(db)
    none = "checked 0, changed 0, failed 0, no page kept 0\n"
    assert reextract(tmp_path, "--until", "2020-08-12").output == none
    assert reextract(tmp_path, "--since", "2020-08-14").output == none
    assert reextract(tmp_path, "--source", "BBC News").output == none
    assert stored(db)[:3] == ("OLD", "old document", "tass@2018")
    result = reextract(tmp_path, "--source", "tass", "--since", "2020-08-13", "--until", "2020-08-13")
    assert (result.exit_code, result.output) == (
        0,
        (
            f"{ARTICLE_ID} {URL}: title, body, document, extractor changed (tass@2018 -> tass@2019)\n"
            "checked 1, changed 1, failed 0, no page kept 0\n"
        ),
    )
    assert stored(db) == (TITLE, REFERENCE_DOC, "tass@2019", "2020-08-13T00:26:00+03:00", PATH)


def test_a_missing_archive_is_reported_as_the_other_read_commands_do_and_not_created(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    result = invoke("reextract", config=config)
    exported = invoke("export", "--format", "jsonl", config=config)
    assert (result.returncode, result.stdout) == (1, "")
    assert (
        result.stderr
        == exported.stderr
        == (f"error: {tmp_path / 'a.db'}: no archive database yet (run `aggregator fetch` first)\n")
    )
    assert list(tmp_path.iterdir()) == [config]  # no empty database, no archive folder


def test_the_pipeline_flags_a_page_date_far_from_the_feed_date(tmp_path: Path) -> None:
    db = archived(tmp_path, pub_date="Sun, 16 Aug 2020 09:26:00 +0000")
    assert db.execute("SELECT published_via, date_flag FROM articles").fetchone() == (
        "page:dateformat",
        "page date 3.5 days before feed date",
    )
    near = archived(tmp_path / "near")
    assert near.execute("SELECT date_flag FROM articles").fetchone() == (None,)
