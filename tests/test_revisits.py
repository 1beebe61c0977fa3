"""Revisits end to end over the real pipeline, with an injected clock (no test waits an hour): a
site that rewrites a headline, adds and removes a paragraph, deletes a page and restores it, or
redirects it to its section; every version's document, the removal and restoration events, the
WARC records of each revisit, search over older versions, the schedule, and the command line."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from aggregator.cli import cli
from aggregator.daemon.scheduler import Daemon
from aggregator.models import FeedSpec
from aggregator.store import open_store
from aggregator.tools.serve import build
from tests.helpers.daemon import Clock as DaemonClock
from tests.helpers.daemon import query, wait_for
from tests.helpers.mock import FEED_URL, REFERENCE_PAGE, Harness, html, rss
from tests.helpers.site import FIXTURES, REFERENCE_HTML, Site, tass_config

URL = "https://tass.com/politics/1189047"
ARTICLE_ID = "5c481511b53b5c3e"
FIRST = "tass/2020-08-13/000_5c481511b53b5c3e.txt"
REFERENCE_DOC = (FIXTURES / "tass" / "politics-1189047.txt").read_text(encoding="utf-8")
TITLE = "Presidents of Russia and Azerbaijan discuss regional issues in phone call"
PARAGRAPH = "The two leaders also discussed the situation in the region."


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def page(title: str = TITLE, extra: str | None = None, drop: str | None = None) -> bytes:
    text = REFERENCE_PAGE.decode()
    if title != TITLE:
        text = text.replace(TITLE, title)
    if extra:
        text = _add(text, extra)
    if drop:
        text = _drop(text, drop)
    return text.encode()


def _add(text: str, paragraph: str) -> str:
    start = text.index('<div class="text-block">') + len('<div class="text-block">')
    end = text.index("</div>", start)
    return text[:end] + f"<p>{paragraph}</p>" + text[end:]


def _drop(text: str, words: str) -> str:
    start = text.index('<div class="text-block">')
    at = text.index(words, start)
    opening, closing = text.rindex("<p", 0, at), text.index("</p>", at) + len("</p>")
    return text[:opening] + text[closing:]


async def datasette_json(database: Path, *paths: str) -> list[list[dict[str, object]]]:
    datasette = build(database)
    answers = []
    for path in paths:
        response = await datasette.client.get(path)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again at once: nobody listens there


def harness(tmp_path: Path, clock: Clock, **settings: object) -> Harness:
    routes = {FEED_URL: html(rss(URL), content_type="application/rss+xml"), URL: html(REFERENCE_PAGE)}
    return Harness(tmp_path, routes, clock=clock, retries=0, **settings)  # type: ignore[arg-type]


def rows(h: Harness, sql: str) -> list[tuple[object, ...]]:
    return h.rows(sql)


def test_a_week_of_edits_and_a_deletion_is_on_record(tmp_path: Path) -> None:
    clock = Clock()
    h = harness(tmp_path, clock)
    assert h.run()[0].archived == 1
    archive = tmp_path / "archive"
    assert h.revisit() == {}  # nothing due before the first delay (1 hour)
    # 1 h: the same page (no validators from this server): a WARC revisit record and nothing else
    clock.now += timedelta(hours=1)
    assert h.revisit() == {"unchanged": 1}
    # 6 h: the headline rewritten and a paragraph added
    h.routes[URL] = html(page("Putin and Aliyev discuss the region", extra=PARAGRAPH))
    clock.now += timedelta(hours=5)
    assert h.revisit() == {"edited": 1}
    # 1 d: a paragraph removed
    h.routes[URL] = html(page("Putin and Aliyev discuss the region", extra=PARAGRAPH, drop="coronavirus"))
    clock.now += timedelta(hours=18)
    assert h.revisit() == {"edited": 1}
    # 3 d: gone; 7 d: back
    h.routes[URL] = html("<h1>Not found</h1>", status=404)
    clock.now += timedelta(days=2)
    assert h.revisit() == {"removed": 1}
    h.routes[URL] = html(page("Putin and Aliyev discuss the region", extra=PARAGRAPH, drop="coronavirus"))
    clock.now += timedelta(days=4)
    assert h.revisit() == {"restored": 1}
    clock.now += timedelta(days=30)
    assert h.revisit() == {}  # the schedule is over

    (row,) = rows(h, "SELECT version, status, title, path, next_revisit_at, removed_at FROM articles")
    assert row == (3, "live", "Putin and Aliyev discuss the region", FIRST.replace(".txt", ".v3.txt"), None, None)
    versions = rows(h, "SELECT version, title, path FROM article_versions ORDER BY version")
    assert versions == [
        (1, TITLE, FIRST),
        (2, "Putin and Aliyev discuss the region", FIRST.replace(".txt", ".v2.txt")),
        (3, "Putin and Aliyev discuss the region", FIRST.replace(".txt", ".v3.txt")),
    ]
    # the first version is still the reference document, byte for byte, in its own file
    assert (archive / FIRST).read_text(encoding="utf-8") == REFERENCE_DOC
    (first_doc,) = rows(h, "SELECT document FROM article_versions WHERE version = 1")
    assert first_doc == (REFERENCE_DOC,)
    second = (archive / FIRST.replace(".txt", ".v2.txt")).read_text(encoding="utf-8")
    third = (archive / FIRST.replace(".txt", ".v3.txt")).read_text(encoding="utf-8")
    assert "PUTIN AND ALIYEV DISCUSS THE REGION" in second and PARAGRAPH in second and "coronavirus" in second
    assert PARAGRAPH in third and "coronavirus" not in third
    events = rows(h, "SELECT kind, version, detail FROM article_events ORDER BY id")
    assert events == [
        ("edited", 2, "title, body"),
        ("edited", 3, "body"),
        ("removed", 3, "HTTP 404"),
        ("restored", 3, None),
    ]
    # every revisit is in the WARC files: two revisit records, responses for the changed pages and the 404
    records = []
    for path in sorted((archive / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            records += [
                (r.rec_type, r.http_headers.get_statuscode() if r.http_headers else None)
                for r in ArchiveIterator(stream)
                if r.rec_headers.get_header("WARC-Target-URI") == URL and r.rec_type != "request"
            ]
    assert records == [
        ("response", "200"),  # the first fetch
        ("revisit", "200"),
        ("response", "200"),
        ("response", "200"),
        ("response", "404"),
        ("revisit", "200"),  # back, and the same as the last full capture
    ]
    # search finds what only an older version said, and the latest text
    with open_store(h.settings.database) as store:
        assert [r["id"] for r in store.search("coronavirus vaccine")] == [ARTICLE_ID]
        assert [r["id"] for r in store.search("situation region leaders")] == [ARTICLE_ID]
        assert store.integrity_problems() == []
    # history: every version, the diffs, the removal and restoration, in order
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "settings:\n  database: a.db\n  archive_dir: archive\n"
        f"feeds:\n  - {{id: tass, url: '{FEED_URL}', source: TASS}}\n"
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "history", URL])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{ARTICLE_ID} {URL} (3 versions, live)"
    kinds = [line.split("  ", 1)[1].split(":")[0].split(" (")[0] for line in lines[1:] if not line.startswith("    ")]
    assert kinds == ["version 1", "version 2", "version 3", "removed", "restored"]
    assert f"    -{TITLE}" in lines and "    +Putin and Aliyev discuss the region" in lines
    assert f"    +{PARAGRAPH}" in lines
    as_json = json.loads(
        CliRunner().invoke(cli, ["--config", str(config), "history", ARTICLE_ID, "--format", "json"]).output
    )
    assert (as_json["versions"], as_json["status"], [item["kind"] for item in as_json["timeline"]]) == (
        3,
        "live",
        ["version", "version", "version", "removed", "restored"],
    )
    # Datasette's stored queries: the edited article, and the versions linked from its page
    edited, removed, linked = asyncio.run(
        datasette_json(
            h.settings.database,
            "/archive/edited_articles.json?_shape=array",
            "/archive/removed_articles.json?_shape=array",
            f"/archive/article_versions.json?_shape=array&article_id={ARTICLE_ID}",
        )
    )
    assert [(r["id"], r["versions"], r["title_changes"], r["body_changes"], r["first_title"]) for r in edited] == [
        (ARTICLE_ID, 3, 1, 2, TITLE)
    ]
    assert removed == []  # restored since
    assert [r["version"] for r in linked] == [3, 2, 1]
    doctor = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert doctor.output.splitlines()[-1] == "checked 1 article: 0 repaired, 0 problems", doctor.output


def test_a_304_is_a_revisit_record_and_a_redirect_to_the_section_a_removal(tmp_path: Path) -> None:
    clock = Clock()
    h = harness(tmp_path, clock)

    def with_etag(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"etag": '"v1"'})
        return httpx.Response(200, content=REFERENCE_PAGE, headers={"content-type": "text/html", "etag": '"v1"'})

    h.routes[URL] = with_etag
    h.run()
    clock.now += timedelta(hours=1, minutes=1)
    assert h.revisit() == {"unchanged": 1}
    assert rows(h, "SELECT record_type, status FROM captures WHERE kind = 'page' ORDER BY id") == [
        ("response", 200),
        ("revisit", 304),
    ]
    h.routes[URL] = httpx.Response(301, headers={"location": "https://tass.com/politics"})
    h.routes["https://tass.com/politics"] = html("<html><body><h1>Politics</h1></body></html>")
    clock.now += timedelta(hours=5)
    assert h.revisit() == {"removed": 1}
    assert rows(h, "SELECT status, removed_at IS NOT NULL FROM articles") == [("removed", 1)]
    assert rows(h, "SELECT kind, detail FROM article_events") == [
        ("removed", "redirected to https://tass.com/politics")
    ]


def test_a_failed_revisit_is_retried_and_a_feed_s_updated_time_brings_it_forward(tmp_path: Path) -> None:
    clock = Clock()
    h = harness(tmp_path, clock, page_retry_delay=600)
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>T</title>'
        f"<item><title>t</title><link>{URL}</link><pubDate>Wed, 12 Aug 2020 21:26:00 +0000</pubDate>"
        "<atom:updated>{updated}</atom:updated></item></channel></rss>"
    )
    h.routes[FEED_URL] = html(feed.format(updated="2020-08-12T21:26:00Z"), content_type="application/rss+xml")
    h.run()
    h.revisit()  # plans the schedule
    h.routes[URL] = httpx.Response(503)
    clock.now += timedelta(hours=1)
    assert h.revisit() == {"failed": 1}
    assert rows(h, "SELECT revisit_attempts, revisit_step FROM articles") == [(1, 0)]
    assert h.revisit() == {}  # not before its backoff
    h.routes[URL] = html(page("A new headline"))
    clock.now += timedelta(minutes=11)
    assert h.revisit() == {"edited": 1}
    assert rows(h, "SELECT revisit_attempts, revisit_step, version FROM articles") == [(0, 1, 2)]
    # the feed says the item was updated: its article is revisited at once, not at 6 h
    h.routes[FEED_URL] = html(feed.format(updated="2020-08-13T09:00:00Z"), content_type="application/rss+xml")
    h.routes[URL] = html(page("A newer headline"))
    h.run()
    assert h.revisit() == {"edited": 1}
    assert rows(h, "SELECT version, title FROM articles") == [(3, "A newer headline")]


def test_revisit_false_switches_it_off_and_the_command_summarises(tmp_path: Path) -> None:
    clock = Clock()
    h = harness(tmp_path, clock)
    h.run()
    off = FeedSpec(id="tass", url=FEED_URL, source="TASS", revisit=())
    clock.now += timedelta(days=2)
    assert h.revisit((off,)) == {}
    config = tmp_path / "feeds.yaml"
    config.write_text(
        # every request to a closed local port through a proxy that is not there: never the internet
        f"settings:\n  database: a.db\n  archive_dir: archive\n  revisit: [1m]\n  retries: 0\n"
        f"  proxy: http://127.0.0.1:{closed_port()}\nfeeds:\n"
        f"  - {{id: tass, url: '{FEED_URL}', source: TASS}}\n  - {{id: quiet, url: 'https://x.example/rss', "
        "source: X, revisit: false}\n"
    )
    with sqlite3.connect(tmp_path / "a.db") as conn:  # due now (the command runs on the real clock)
        conn.execute("UPDATE articles SET next_revisit_at = '2000-01-01T00:00:00+00:00'")
    result = CliRunner().invoke(cli, ["--config", str(config), "revisit"])
    # the proxy refuses the connection: the revisit fails, recorded, exit code 1
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if line.startswith("tass:")]
    assert line == "tass: 1 revisited: 0 unchanged, 0 edited, 0 removed, 0 restored, 1 failed"
    bad = CliRunner().invoke(cli, ["--config", str(config), "revisit", "nosuch"])
    assert bad.exit_code == 2 and "no feed with id 'nosuch'" in bad.output


def test_the_daemon_revisits_in_the_background_against_a_real_site(tmp_path: Path, tass_site: Site) -> None:
    clock = DaemonClock()
    daemon = Daemon(tass_config(tmp_path, tass_site), clock=clock, tick=0.05, grace=2.0, background_idle=0.1)
    thread = threading.Thread(target=daemon.run, kwargs={"install_signals": False})
    thread.start()
    db = tmp_path / "archive" / "archive.db"
    try:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM articles") == [(2,)])
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM articles WHERE next_revisit_at IS NOT NULL") == [(2,)])
        tass_site["/politics/1189047"] = REFERENCE_HTML.replace(TITLE, "A rewritten headline")
        del tass_site.routes["/world/1189100"]  # gone: the site answers 404
        clock.advance(minutes=61)
        wait_for(
            lambda: (
                query(db, "SELECT title, version FROM articles WHERE url LIKE '%1189047'")
                == [("A rewritten headline", 2)]
            )
        )
        wait_for(lambda: query(db, "SELECT status FROM articles WHERE url LIKE '%1189100'") == [("removed",)])
        assert (tmp_path / "archive" / FIRST.replace(".txt", ".v2.txt")).exists()
    finally:
        daemon.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()
