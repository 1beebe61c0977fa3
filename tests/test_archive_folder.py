"""An archive folder that refuses files: checked before a run starts, and counted, reported and
caught up when it starts refusing in the middle of one; nothing is lost.

Root writes through any permission bits, so the folders are made unusable the way that stops
root too (a file where the folder should be); the permission cases run only when not root.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.daemon.scheduler import Daemon
from aggregator.document.textfiles import check_writable, write_document
from aggregator.errors import ArchiveFolderError
from aggregator.pipeline import texts
from tests.helpers.archive import invoke
from tests.helpers.daemon import Clock, daemon_thread, query, wait_for
from tests.helpers.site import Page, Site, tass_config, write_config

AS_ROOT = os.geteuid() == 0
needs_non_root = pytest.mark.skipif(AS_ROOT, reason="root writes through permission bits")
TWO_STORIES = ("tass/2020-08-13/000_5c481511b53b5c3e.txt", "tass/2020-08-13/001_fa9b0baa3864fdfc.txt")


@pytest.fixture
def read_only() -> Iterator[list[Path]]:
    """Folders a test makes read-only, made writable again afterwards (so that they can be removed)."""
    folders: list[Path] = []
    yield folders
    for folder in folders:
        folder.chmod(stat.S_IRWXU)


def _read_only(folder: Path, made: list[Path]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    made.append(folder)


def _separate_database(tmp_path: Path, site: Site) -> Path:
    """The TASS-like feed with its database outside the archive folder."""
    config = tass_config(tmp_path, site)
    text = config.read_text(encoding="utf-8").replace("settings:\n", "settings:\n  database: a.db\n", 1)
    config.write_text(text, encoding="utf-8")
    return config


# -- the check itself ----------------------------------------------------------------------------


def test_a_writable_folder_passes_and_keeps_nothing_of_the_check(tmp_path: Path) -> None:
    (tmp_path / "archive").mkdir()
    check_writable(tmp_path / "archive")
    check_writable(tmp_path / "archive" / "tass" / "2020-08-13")  # not there yet: its parent takes files
    assert [path.name for path in tmp_path.rglob("*")] == ["archive"]


def test_a_file_in_the_way_is_named_whichever_folder_is_asked_for(tmp_path: Path) -> None:
    (tmp_path / "archive").write_text("not a folder", encoding="utf-8")
    for folder in (tmp_path / "archive", tmp_path / "archive" / "tass" / "2020-08-13"):
        with pytest.raises(ArchiveFolderError) as caught:
            check_writable(folder)
        assert str(caught.value) == f"cannot write files in {tmp_path / 'archive'}: it is a file, not a folder"
        assert caught.value.folder == tmp_path / "archive"


def test_a_document_refused_by_its_folder_names_the_folder_at_fault(tmp_path: Path) -> None:
    (tmp_path / "tass").write_text("in the way", encoding="utf-8")
    with pytest.raises(ArchiveFolderError) as caught:
        write_document(tmp_path, TWO_STORIES[0], "text\n")
    assert str(caught.value) == f"cannot write files in {tmp_path / 'tass'}: it is a file, not a folder"


@needs_non_root
def test_a_read_only_folder_is_permission_denied(tmp_path: Path, read_only: list[Path]) -> None:
    _read_only(tmp_path / "archive", read_only)
    for folder in (tmp_path / "archive", tmp_path / "archive" / "tass"):
        with pytest.raises(
            ArchiveFolderError, match=rf"^cannot write files in {tmp_path / 'archive'}: Permission denied$"
        ):
            check_writable(folder)
    with pytest.raises(ArchiveFolderError, match=r": Permission denied$"):
        write_document(tmp_path / "archive", TWO_STORIES[0], "text\n")


# -- fetch ---------------------------------------------------------------------------------------


def test_fetch_refuses_to_start_when_the_archive_folder_is_a_file(tmp_path: Path, tass_site: Site) -> None:
    config = _separate_database(tmp_path, tass_site)
    (tmp_path / "archive").write_text("not a folder", encoding="utf-8")
    result = invoke("fetch", config=config)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: cannot write files in {tmp_path / 'archive'}: it is a file, not a folder\n"
    assert tass_site.hits == {}  # nothing was fetched


def test_fetch_refuses_to_start_when_a_source_folder_is_blocked(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "tass").write_text("not a folder", encoding="utf-8")
    result = invoke("fetch", config=config)
    assert result.returncode == 1
    assert (
        result.stderr == f"error: cannot write files in {tmp_path / 'archive' / 'tass'}: it is a file, not a folder\n"
    )
    assert tass_site.hits == {}


@needs_non_root
def test_fetch_refuses_to_start_when_the_archive_folder_is_read_only(
    tmp_path: Path, tass_site: Site, read_only: list[Path]
) -> None:
    config = _separate_database(tmp_path, tass_site)
    _read_only(tmp_path / "archive", read_only)
    result = invoke("fetch", config=config)
    assert (result.returncode, result.stderr) == (
        1,
        f"error: cannot write files in {tmp_path / 'archive'}: Permission denied\n",
    )
    assert tass_site.hits == {}


def test_write_text_false_needs_no_archive_folder_for_text(tmp_path: Path, tass_site: Site) -> None:
    config = write_config(
        tmp_path,
        "  - {id: tass, url: 'http://tass.com/rss/v2.xml', source: TASS}\n",
        settings=f"  proxy: {tass_site.origin}\n  database: a.db\n  write_text: false\n  keep_html: false\n"
        "  capture_feeds: false\n",
    )
    (tmp_path / "archive").write_text("not a folder", encoding="utf-8")
    assert invoke("fetch", config=config).stdout.startswith("tass: 4 entries, 2 new")


class _BlockOnFirstPage(dict[str, Page]):
    """The site's routes, which put a file where the archive's ``tass`` folder goes the moment the
    first article page is asked for: the folder stops taking files after the run has started."""

    def __init__(self, routes: dict[str, Page], blocker: Path) -> None:
        super().__init__(routes)
        self.blocker = blocker

    def get(self, path: str, default: Page | None = None) -> Page | None:  # type: ignore[override]
        if path.startswith(("/politics/", "/world/")) and not self.blocker.exists():
            self.blocker.write_text("in the way", encoding="utf-8")
        return super().get(path, default)


def test_a_folder_that_stops_taking_files_mid_run_fails_the_run_and_loses_nothing(
    tmp_path: Path, tass_site: Site
) -> None:
    config = tass_config(tmp_path, tass_site)
    archive, db = tmp_path / "archive", tmp_path / "archive" / "archive.db"
    blocker = archive / "tass"
    tass_site.routes = _BlockOnFirstPage(tass_site.routes, blocker)
    result = invoke("fetch", config=config)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "tass: 4 entries, 2 new, 2 pages failed (2 to retry, 0 abandoned), 2 text files not written"
    ]
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")] == [
        f"error: cannot write files in {blocker}: it is a file, not a folder: 2 text files not written "
        "(their articles are stored; a later run writes them)"
    ]
    logged = [line for line in result.stderr.splitlines() if " ERROR text files not written: " in line]
    assert len(logged) == 1  # once for the folder, not once per article
    assert query(db, "SELECT path FROM articles WHERE text_written_at IS NULL ORDER BY path") == [
        (path,) for path in TWO_STORIES
    ]
    # The next run refuses to start while the file is there; once it is gone, the files are written.
    assert invoke("fetch", config=config).returncode == 1
    blocker.unlink()
    tass_site.routes = dict(tass_site.routes)
    again = invoke("fetch", config=config)
    assert again.returncode == 0 and all((archive / path).is_file() for path in TWO_STORIES)
    assert query(db, "SELECT COUNT(*) FROM articles WHERE text_written_at IS NULL") == [(0,)]


# -- the daemon ----------------------------------------------------------------------------------


def test_the_daemon_refuses_to_start_when_a_folder_is_blocked(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "tass").write_text("not a folder", encoding="utf-8")
    with pytest.raises(ArchiveFolderError, match=r"archive/tass: it is a file, not a folder$"):
        Daemon(config).run(install_signals=False)
    assert tass_site.hits == {}


def test_the_daemon_logs_a_refusing_folder_once_and_catches_up_when_it_takes_files(
    tmp_path: Path, tass_site: Site, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(texts, "RETRY_EVERY", 0.0)  # look again after every poll
    config = tass_config(tmp_path, tass_site)
    archive, db = tmp_path / "archive", tmp_path / "archive" / "archive.db"
    blocker = archive / "tass"
    tass_site.routes = _BlockOnFirstPage(tass_site.routes, blocker)
    clock = Clock()
    with caplog.at_level(logging.WARNING, logger="aggregator"), daemon_thread(config, clock, tick=0.05):
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])
        assert query(db, "SELECT COUNT(*) FROM articles WHERE text_written_at IS NULL") == [(2,)]
        clock.advance(minutes=17)  # a second poll: the folder still refuses, nothing logged again
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(2,)])
        blocker.unlink()
        tass_site.routes = dict(tass_site.routes)
        clock.advance(minutes=17)
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM articles WHERE text_written_at IS NULL") == [(0,)])
    messages = [
        (record.levelname, record.getMessage()) for record in caplog.records if "text files" in record.getMessage()
    ]
    assert messages == [
        (
            "ERROR",
            f"text files not written: cannot write files in {blocker}: it is a file, not a folder (the articles "
            "are stored; their files are written once it takes files)",
        ),
        ("WARNING", f"text files are written in {blocker} again (2 files caught up)"),
    ]
    assert all((archive / path).is_file() for path in TWO_STORIES)
