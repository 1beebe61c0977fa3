"""``aggregator article``: the source, time zone and profile of a page come from the feed configured
on its site (the same host first, then the same registrable domain), options win, a site no feed
covers gets its host name; ``--html`` takes the page's address from its canonical link when
``--url`` is not given. Whole documents compared; nothing reaches the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import feed_for_page, site_source
from aggregator.models import FeedSpec
from tests.helpers.archive import invoke
from tests.helpers.site import FIXTURES

PAGE = FIXTURES / "tass" / "politics-1189047.html"
URL = "https://tass.com/politics/1189047"
REFERENCE_DOC = (FIXTURES / "tass" / "politics-1189047.txt").read_text(encoding="utf-8")
USAGE_HINT = " (see 'cli article --help')\n"  # CliRunner calls the program "cli"


def config(tmp_path: Path, feeds: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"settings:\n  database: a.db\nfeeds:\n{feeds}", encoding="utf-8")
    return path


def redated(document: str, source: str, date_line: str, source_day: str) -> str:
    """The reference document with another source line (and date line)."""
    return document.replace("- 13.08.2020", date_line, 1).replace("TASS (13 August 2020)", f"{source} ({source_day})")


TASS_FEED = "  - {id: tass, url: 'https://tass.com/rss/v2.xml', source: TASS, timezone: Europe/Moscow}\n"
# The page's own time is a UNIX time (dateformat): without a zone, its UTC day, 12 August.
UTC_DOC = redated(REFERENCE_DOC, "tass.com", "- 12.08.2020", "12 August 2020")


def test_the_feed_on_the_pages_site_gives_source_and_zone(tmp_path: Path) -> None:
    result = invoke("article", "--html", str(PAGE), "--url", URL, config=config(tmp_path, TASS_FEED))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == REFERENCE_DOC
    assert not (tmp_path / "a.db").exists()  # nothing is stored


def test_a_site_no_feed_covers_gets_its_host_name_and_the_pages_offset(tmp_path: Path) -> None:
    other = "  - {id: bbc, url: 'https://feeds.bbci.co.uk/news/rss.xml', source: BBC News, timezone: Europe/London}\n"
    for path in (config(tmp_path, other), tmp_path / "absent.yaml"):
        result = invoke("article", "--html", str(PAGE), "--url", URL, config=path)
        assert (result.returncode, result.stdout, result.stderr) == (0, UTC_DOC, "")
    www = invoke("article", "--html", str(PAGE), "--url", "https://www.tass.com/politics/1189047", config=path)
    assert www.stdout == UTC_DOC  # "www." is not part of the name


def test_the_same_host_wins_over_the_same_domain_and_feeds_yaml_order_breaks_ties(tmp_path: Path) -> None:
    feeds = (
        "  - {id: mirror, url: 'https://feeds.tass.com/rss', source: TASS Mirror, timezone: UTC}\n"
        "  - {id: mirror-2, url: 'https://rss.tass.com/rss', source: TASS Mirror 2, timezone: Asia/Tokyo}\n" + TASS_FEED
    )
    path = config(tmp_path, feeds)
    exact = invoke("article", "--html", str(PAGE), "--url", URL, config=path)
    assert exact.stdout == REFERENCE_DOC
    # www.tass.com is no feed's host: the first feed on tass.com's registrable domain
    by_domain = invoke("article", "--html", str(PAGE), "--url", "https://www.tass.com/politics/1189047", config=path)
    assert (by_domain.returncode, by_domain.stderr) == (0, "")
    assert by_domain.stdout == redated(REFERENCE_DOC, "TASS Mirror", "- 12.08.2020", "12 August 2020")


def test_options_win_over_the_feed(tmp_path: Path) -> None:
    # the feed's inline selectors find no body on this page: they are what extraction was told
    broken = "  - {id: tass, url: 'https://tass.com/rss/v2.xml', source: TASS, selectors: {container: div.nosuch}}\n"
    path = config(tmp_path, broken)
    failed = invoke("article", "--html", str(PAGE), "--url", URL, config=path)
    assert (failed.returncode, failed.stdout) == (1, "")
    assert failed.stderr.startswith("error: ") and failed.stderr.count("\n") == 1
    forced = ["--profile", "tass", "--source", "Agency", "--timezone", "Asia/Tokyo"]
    result = invoke("article", "--html", str(PAGE), "--url", URL, *forced, config=path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == redated(REFERENCE_DOC, "Agency", "- 13.08.2020", "13 August 2020")
    utc = invoke("article", "--html", str(PAGE), "--url", URL, "--timezone", "UTC", config=config(tmp_path, TASS_FEED))
    assert utc.stdout == redated(REFERENCE_DOC, "TASS", "- 12.08.2020", "12 August 2020")


def test_html_without_url_takes_the_canonical_link(tmp_path: Path) -> None:
    result = invoke("article", "--html", str(PAGE), config=config(tmp_path, TASS_FEED))
    assert (result.returncode, result.stdout, result.stderr) == (0, REFERENCE_DOC, "")


def _saved(tmp_path: Path, head: str) -> Path:
    """The reference page with its canonical link and og:url replaced by ``head``."""
    html = PAGE.read_text(encoding="utf-8")
    html = html.replace(f'<link rel="canonical" href="{URL}">', head).replace(
        f'<meta property="og:url" content="{URL}">', ""
    )
    saved = tmp_path / "saved.html"
    saved.write_text(html, encoding="utf-8")
    return saved


def test_html_without_url_takes_og_url_when_there_is_no_canonical_link(tmp_path: Path) -> None:
    saved = _saved(tmp_path, f'<meta property="og:url" content="{URL}?utm_source=rss">')
    result = invoke("article", "--html", str(saved), config=config(tmp_path, TASS_FEED))
    assert (result.returncode, result.stdout, result.stderr) == (0, REFERENCE_DOC, "")


@pytest.mark.parametrize(
    "head",
    [
        "",  # no claim at all
        '<link rel="canonical" href="/politics/1189047">',  # relative: nothing to resolve it against
        '<link rel="canonical" href="http://[::1/x">',  # malformed
        '<link rel="canonical" href="ftp://tass.com/politics/1189047">',
        f'<link rel="canonical" href="http://{"a" * 64}.com/x">',  # a label IDNA refuses
    ],
    ids=["none", "relative", "bracket", "ftp", "long-label"],
)
def test_html_without_url_or_usable_canonical_link_is_one_usage_error(tmp_path: Path, head: str) -> None:
    saved = _saved(tmp_path, head)
    result = invoke("article", "--html", str(saved), config=config(tmp_path, TASS_FEED))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "error: --html needs the page's address: the page has no usable <link rel=canonical> or og:url, "
        "give --url URL" + USAGE_HINT
    )
    given = invoke("article", "--html", str(saved), "--url", URL, config=config(tmp_path, TASS_FEED))
    assert (given.returncode, given.stderr) == (0, "")


def test_neither_url_nor_html_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("article", config=tmp_path / "absent.yaml")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: give a URL, or --html FILE" + USAGE_HINT


FEEDS = (
    FeedSpec(id="news", url="https://news.example.org/rss", source="News"),
    FeedSpec(id="main", url="https://example.org/feed", source="Main"),
    FeedSpec(id="other", url="https://example.com/feed", source="Other"),
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a", "main"),  # the same host, though a feed before it shares the domain
        ("https://news.example.org/a", "news"),
        ("https://www.example.org/a", "news"),  # no host matches: the first on example.org
        ("http://EXAMPLE.COM:8080/a", "other"),
        ("https://example.net/a", None),
        ("https://org/a", None),
        ("not a url", None),
    ],
)
def test_feed_for_page(url: str, expected: str | None) -> None:
    found = feed_for_page(FEEDS, url)
    assert (found.id if found else None) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.tass.com/a", "tass.com"),
        ("https://news.bbc.co.uk/a", "news.bbc.co.uk"),
        ("http://127.0.0.1:8000/a", "127.0.0.1"),
        ("https://www.xn--80aswg.xn--p1ai/a", "сайт.рф"),
        ("https://xn--zz.com/a", "xn--zz.com"),  # not valid punycode: as written
    ],
)
def test_site_source(url: str, expected: str) -> None:
    assert site_source(url) == expected
