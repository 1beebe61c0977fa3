"""Never lose a page to a redesign: a page on which the site's profile finds no body is archived with
the generic profile (``generic@7 via tass@2019``) and alarms (``aggregator feeds``, the daemon's
/metrics, the reading room's stored query, a WARNING line); ``reextract`` after the profile is
fixed gives the profile's exact output. The TASS profile also reads the 2026 layout."""

from __future__ import annotations

import dataclasses
import logging
import signal
import sqlite3
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from aggregator.document.render import render_document
from aggregator.errors import ExtractError
from aggregator.extract.article import extract_article
from aggregator.profiles import get_profile, layouts, registry
from tests.helpers.archive import invoke
from tests.helpers.daemon import Clock, query, start_daemon, wait_for
from tests.helpers.datasette import free_port, serving
from tests.helpers.mock import FEED_URL, PROFILES, Harness, Routes, html, rss, run
from tests.helpers.site import FIXTURES, GALLERY, Site, run_cli, tass_config

URL = "https://tass.com/politics/1189047"
ARTICLE_ID = "5c481511b53b5c3e"
PATH = "tass/2020-08-13/000_5c481511b53b5c3e.txt"
GOLDEN = (FIXTURES / "tass" / "politics-1189047.txt").read_bytes()
REFERENCE = (FIXTURES / "tass" / "politics-1189047.html").read_text(encoding="utf-8")
LEAD = "The Russian side emphasized the importance of avoiding any actions that could enflame tensions"
#: The reference page after a redesign the profile does not know: the body's classes renamed, the
#: lead a <p> (which the generic profile, not knowing it is a lead, keeps as body).
REDESIGNED = (
    REFERENCE.replace('<div class="text-content">', '<div class="article-text">')
    .replace('<div class="text-block">', '<div class="article-text__body">')
    .replace(f'<div class="news-header__lead">{LEAD}</div>', f'<p class="news-header__lead">{LEAD}</p>')
)
BODY = GOLDEN.decode().split("\n\n")[3:-1]  # the golden document's paragraphs
#: what the generic profile makes of the redesigned page: the lead kept, the dateline too
FALLBACK_BODY = (LEAD, "MOSCOW, August 13. /TASS/. " + BODY[0], *BODY[1:])
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
METADATA = Path(__file__).resolve().parents[1] / "aggregator" / "tools" / "reading_room" / "metadata.yaml"


def render(html_text: str) -> bytes:
    article = extract_article(html_text, URL)
    assert article.extractor == "tass@2019" and article.published is not None
    return render_document(
        title=article.title,
        published=article.published.astimezone(ZoneInfo("Europe/Moscow")),
        source="TASS",
        paragraphs=article.paragraphs,
        url=article.url,
    ).encode("utf-8")


# --- the 2026 layout ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["politics-1189047-2026.html", "politics-1189047-2026-text-block.html"])
def test_the_2026_layouts_give_the_golden_document_byte_for_byte(name: str) -> None:
    page = (FIXTURES / "tass" / name).read_text(encoding="utf-8")
    assert '<div class="text-block">' not in page or '<figure class="text-content__media">' in page
    assert render(page) == GOLDEN


def test_the_2019_layout_still_gives_the_golden_document() -> None:
    assert render(REFERENCE) == GOLDEN


# --- extraction: "no body" is a redesign, "not an article" is not ------------------------------


def test_a_page_the_profile_finds_no_body_on_is_extracted_by_the_generic_profile() -> None:
    for profile in (None, "tass"):
        article = extract_article(REDESIGNED, URL, profile=profile)
        assert (article.extractor, article.title, article.paragraphs, article.url) == (
            "generic@7 via tass@2019",
            "Presidents of Russia and Azerbaijan discuss regional issues in phone call",
            FALLBACK_BODY,
            URL,
        )
    with pytest.raises(ExtractError) as caught:  # a version asked for exactly: that layout or nothing
        extract_article(REDESIGNED, URL, profile="tass@2019")
    assert caught.value.reason == "no_body"


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ((PROFILES / "tass" / "gallery.html").read_text(encoding="utf-8"), "not_article"),
        (GALLERY, "not_article"),
        # a section front in an unknown layout: the fallback refuses it, the profile's verdict stands
        (
            '<html><head><title>Politics - TASS</title><meta property="og:type" content="website"></head><body>'
            "<main><ul>"
            + "".join(
                f'<li><a href="/politics/{n}">Story number {n} of the day, a long headline</a></li>' for n in range(30)
            )
            + "</ul></main></body></html>",
            "no_body",
        ),
        # junk in an unknown layout: a few words are no article for the generic gates either
        (
            '<html><head><title>T - TASS</title></head><body><div class="story"><h1>Headline</h1>'
            "<p>MOSCOW, May 5. /TASS/. A few words.</p></div></body></html>",
            "no_body",
        ),
        # the profile found its body, too short: no redesign, no fallback
        (
            '<html><head><title>T</title></head><body><div class="news"><h1 class="news-header__title">H</h1>'
            '<div class="text-content"><div class="text-block"><p>MOSCOW, May 5. /TASS/. Short.</p></div></div>'
            "<main><p>" + "A long paragraph of text elsewhere on the page that generic would take. " * 5 + "</p></main>"
            "</div></body></html>",
            "too_short",
        ),
    ],
)
def test_pages_that_are_not_articles_are_refused_as_before(page: str, reason: str) -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(page, "https://tass.com/society/1150321")
    assert caught.value.reason == reason


# --- the pipeline, the alarms, and reextract after the fix --------------------------------------


@pytest.fixture
def fixed_profile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Call it to "fix" the TASS profile: a new version that knows the redesigned layout."""
    old = get_profile("tass")

    def fix() -> None:
        fixed = dataclasses.replace(old, version="2027", valid_from=date(2027, 1, 1), body=(".article-text",))
        versions = {**registry._registry(), "tass": (old, fixed)}
        monkeypatch.setattr(registry, "_registry", lambda: versions)
        registry._by_domain.cache_clear()
        assert [p.id for p in layouts(None, URL)] == ["tass@2027", "tass@2019"]

    try:
        yield fix
    finally:
        monkeypatch.undo()
        registry._by_domain.cache_clear()


def drift_query(db: sqlite3.Connection) -> list[tuple]:
    sql = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["databases"]["archive"]["queries"]["profile_drift"]
    return [row[3:7] for row in db.execute(sql["sql"]).fetchall()]  # feed_id, url, extractor, profile


def feeds_row(tmp_path: Path) -> str:
    listing = invoke("feeds", config=tmp_path / "feeds.yaml")
    assert listing.returncode == 0, listing.stderr
    header = next(line for line in listing.stdout.splitlines() if "profile_drift" in line)
    row = next(line for line in listing.stdout.splitlines() if line.startswith("│ tass "))
    start = header.index("profile_drift")
    return row[start : header.index("last error")].strip(" │")


def test_a_redesigned_page_is_archived_alarms_and_reextract_restores_the_profile_output(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fixed_profile: Callable[[], None]
) -> None:
    gallery = "https://tass.com/society/1150321"
    routes: Routes = {
        FEED_URL: html(rss(URL, gallery), content_type="application/rss+xml"),
        URL: html(REDESIGNED),
        gallery: html((PROFILES / "tass" / "gallery.html").read_bytes()),
    }
    with caplog.at_level(logging.WARNING, logger="aggregator"):
        (result,), db = run(tmp_path, routes)
    assert (result.archived, result.failed) == (1, 1)
    (tmp_path / "feeds.yaml").write_text(CONFIG, encoding="utf-8")
    assert db.execute("SELECT status, last_error_reason FROM entries ORDER BY link").fetchall() == [
        ("archived", None),
        ("failed", "not_article"),  # the gallery is still refused, not archived through the fallback
    ]
    document, extractor = db.execute("SELECT document, extractor FROM articles").fetchone()
    assert extractor == "generic@7 via tass@2019"
    assert document.split("\n\n")[3:-1] == list(FALLBACK_BODY)
    assert (tmp_path / "archive" / PATH).read_text(encoding="utf-8") == document
    drifts = [r for r in caplog.records if "profile_drift" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in drifts] == [
        (
            "WARNING",
            f"page feed=tass url={URL}: profile tass@2019 found no body (profile_drift): "
            "extracted as generic@7 via tass@2019",
        )
    ]
    assert feeds_row(tmp_path) == "1 (tass@2019)"
    assert drift_query(db) == [("tass", URL, "generic@7 via tass@2019", "tass@2019")]
    with serving(tmp_path / "feeds.yaml") as web:  # the same stored query, in the reading room
        listed = web.get("/archive/profile_drift.json", params={"_shape": "array"}).json()
    assert [(r["id"], r["feed_id"], r["url"], r["extractor"], r["profile"]) for r in listed] == [
        (ARTICLE_ID, "tass", URL, "generic@7 via tass@2019", "tass@2019")
    ]

    # the profile is still broken: reextract keeps the fallback's result
    still = invoke("reextract", config=tmp_path / "feeds.yaml")
    assert (still.returncode, still.stdout) == (0, "checked 1, changed 0, failed 0, no page kept 0\n")
    assert db.execute("SELECT document, extractor FROM articles").fetchone() == (document, extractor)

    fixed_profile()
    fixed = invoke("reextract", config=tmp_path / "feeds.yaml")
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout == (
        f"{ARTICLE_ID} {URL}: body, document, extractor changed (generic@7 via tass@2019 -> tass@2027)\n"
        "checked 1, changed 1, failed 0, no page kept 0\n"
    )
    assert db.execute("SELECT document, extractor FROM articles").fetchone() == (GOLDEN.decode(), "tass@2027")
    assert (tmp_path / "archive" / PATH).read_bytes() == GOLDEN
    assert feeds_row(tmp_path) == ""
    assert drift_query(db) == []


def test_the_daemon_counts_fallbacks_in_its_metrics_and_logs_each(tmp_path: Path, tass_site: Site) -> None:
    tass_site["/politics/1189047"] = REDESIGNED
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    port = free_port()
    daemon = start_daemon(config, run_options=("--metrics-port", str(port)))

    def metrics() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            return str(answer.read().decode())

    try:
        wait_for(lambda: query(db, "SELECT COUNT(*) FROM polls") == [(1,)])
        wait_for(lambda: "aggregator_polls_total{" in metrics())  # the poll counted, and what it archived
        text = metrics()
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=15)
    fallbacks = [line for line in text.splitlines() if line.startswith("aggregator_profile_fallbacks_total")]
    assert fallbacks == ['aggregator_profile_fallbacks_total{feed="tass",profile="tass@2019"} 1.0']
    assert query(db, "SELECT url, extractor FROM articles ORDER BY url") == [
        (URL, "generic@7 via tass@2019"),
        ("https://tass.com/world/1189100", "tass@2019"),
    ]
    warnings = [line for line in stderr.splitlines() if "profile_drift" in line]
    assert len(warnings) == 1 and " WARNING page feed=tass url=http://tass.com/politics/1189047" in warnings[0]
    assert "profile tass@2019 found no body" in warnings[0]
    listing = run_cli("feeds", config=config)
    row = next(line for line in listing.stdout.splitlines() if line.startswith("│ tass "))
    assert "1 (tass@2019)" in row


def test_a_revisit_that_finds_only_the_fallback_s_text_records_no_edit(tmp_path: Path) -> None:
    """The page redesigned since it was archived: the generic profile's text is no measure of an
    edit, so the revisit fails (tried again after its backoff) and no version is made."""
    clock = Clock()
    h = Harness(
        tmp_path,
        {FEED_URL: html(rss(URL), content_type="application/rss+xml"), URL: html(REFERENCE)},
        clock=clock,
        retries=0,
    )
    assert h.run()[0].archived == 1
    assert h.revisit() == {}  # plans the schedule
    h.routes[URL] = html(REDESIGNED)
    clock.now += timedelta(hours=1)
    assert h.revisit() == {"failed": 1}
    assert h.rows("SELECT version, extractor, revisit_attempts, document FROM articles") == [
        (1, "tass@2019", 1, GOLDEN.decode())
    ]
