"""aggregator.discovery: the CDX query and its plain-text pages, the backfill window and URL patterns,
candidates, and Wayback capture URLs and times (pure functions; one capture fetched over MockTransport)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from aggregator.discovery import Candidate, Window, fetch_capture
from aggregator.discovery.cdx import PAGE_SIZE, CdxPage, parse_page, query_url
from aggregator.discovery.wayback import capture_time, capture_url
from aggregator.fetch import Fetcher
from aggregator.models import Response, Settings

WAYBACK = "https://web.archive.org"
MSK = timezone(timedelta(hours=3))


# -- CDX pages -------------------------------------------------------------------------------


def test_parse_page_reads_timestamp_and_url_lines() -> None:
    text = (
        "20200105120000 https://tass.com/politics/1\n"
        "20200106093000 http://tass.com/politics/2?x=1\n"
        "20201231235959 HTTPS://tass.com/economy/3\n"
    )
    assert parse_page(text) == CdxPage(
        captures=(
            ("20200105120000", "https://tass.com/politics/1"),
            ("20200106093000", "http://tass.com/politics/2?x=1"),
            ("20201231235959", "HTTPS://tass.com/economy/3"),
        ),
        resume_key=None,
        skipped=0,
    )


def test_parse_page_takes_the_resume_key_after_a_blank_line() -> None:
    text = "20200105120000 https://tass.com/a\n20200106120000 https://tass.com/b\n\ncom,tass)/b+20200106120000\n"
    page = parse_page(text)
    assert page.captures == (("20200105120000", "https://tass.com/a"), ("20200106120000", "https://tass.com/b"))
    assert page.resume_key == "com,tass)/b+20200106120000"
    assert page.skipped == 0


@pytest.mark.parametrize(
    "text",
    [
        "20200105120000 https://tass.com/a\r\n\r\ncom,tass)/a+1\r\n",  # CRLF
        "20200105120000 https://tass.com/a\n   \n  com,tass)/a+1  ",  # blank of spaces, no final newline
    ],
)
def test_parse_page_resume_key_with_other_line_endings(text: str) -> None:
    page = parse_page(text)
    assert page.captures == (("20200105120000", "https://tass.com/a"),)
    assert page.resume_key == "com,tass)/a+1"


def test_a_page_of_only_a_resume_key() -> None:
    assert parse_page("\ncom,tass)/x+20200101000000\n") == CdxPage((), "com,tass)/x+20200101000000", 0)


def test_parse_page_without_the_blank_line_has_no_resume_key() -> None:
    page = parse_page("20200105120000 https://tass.com/a\ncom,tass)/a+1\n")
    assert page.resume_key is None
    assert page.captures == (("20200105120000", "https://tass.com/a"),)
    assert page.skipped == 1  # the key-like line is junk here


def test_parse_page_skips_and_counts_junk_lines() -> None:
    text = (
        "20200105120000 https://tass.com/a\n"
        "<html><body>Error</body></html>\n"  # one field
        "2020010512 https://tass.com/short-timestamp\n"
        "202001051200000 https://tass.com/long-timestamp\n"
        "2020010512000x https://tass.com/letter\n"
        "20200105120000 ftp://tass.com/not-http\n"
        "20200105120000 https://tass.com/b 200\n"  # three fields
        "20200105120000\n"  # one field
        "\n"
        "20200106120000 https://tass.com/c\n"
        "\n"
        "   \n"
    )
    page = parse_page(text)
    assert page.captures == (("20200105120000", "https://tass.com/a"), ("20200106120000", "https://tass.com/c"))
    assert page.skipped == 7  # blank lines are not counted
    assert page.resume_key is None


@pytest.mark.parametrize("text", ["", "\n", "\n\n\n", "   "])
def test_parse_page_of_empty_text(text: str) -> None:
    assert parse_page(text) == CdxPage((), None, 0)


def test_parse_page_of_binary_junk_does_not_crash() -> None:
    page = parse_page(bytes(range(256)).decode("latin-1") * 10)
    assert page.captures == ()
    assert page.skipped >= 1


# -- the CDX query ---------------------------------------------------------------------------


def params(url: str) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    assert len(pairs) == len(dict(pairs)), pairs  # no parameter twice
    return dict(pairs)


def test_query_url_asks_for_one_page_of_200_captures_under_a_prefix() -> None:
    url = query_url(WAYBACK, "tass.com/politics/", date(2020, 1, 5), date(2020, 12, 31))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{WAYBACK}/cdx/search/cdx"
    assert params(url) == {
        "url": "tass.com/politics/",
        "matchType": "prefix",
        "from": "20200105",
        "to": "20201231",
        "fl": "timestamp,original",
        "collapse": "urlkey",
        "filter": "statuscode:200",
        "limit": str(PAGE_SIZE),
        "showResumeKey": "true",
    }


def test_query_url_without_an_end_day_has_no_to() -> None:
    url = query_url(WAYBACK, "https://tass.com/", date(1999, 3, 7), None)
    query = params(url)
    assert query["from"] == "19990307"
    assert "to" not in query
    assert "resumeKey" not in query
    assert query["url"] == "https://tass.com/"


def test_query_url_carries_the_resume_key_encoded() -> None:
    key = "com,tass)/politics/1?a=b&c=d+20200106120000"
    url = query_url(WAYBACK, "tass.com/politics/", date(2020, 1, 1), date(2020, 1, 31), key)
    assert params(url)["resumeKey"] == key
    assert "&c=d" not in url  # encoded, not a parameter of its own
    assert "resumeKey" not in params(query_url(WAYBACK, "tass.com/", date(2020, 1, 1), None, ""))


def test_query_url_of_a_mirror() -> None:
    url = query_url("http://mirror.example:8080/wayback", "x.org/", date(2020, 1, 1), None)
    assert url.startswith("http://mirror.example:8080/wayback/cdx/search/cdx?")


# -- the window and the feed's patterns ------------------------------------------------------

JAN = Window.of(date(2020, 1, 1), date(2020, 1, 31))


def at(day: date, hour: int = 12, tz: timezone = UTC) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz)


@pytest.mark.parametrize(
    ("published", "allowed"),
    [
        (at(date(2020, 1, 1), 0), True),  # both ends inclusive
        (at(date(2020, 1, 31), 23), True),
        (at(date(2020, 1, 15)), True),
        (at(date(2019, 12, 31), 23), False),
        (at(date(2020, 2, 1), 0), False),
        (datetime(2020, 1, 31, 23, 30, tzinfo=MSK), True),  # its own day, as written
        (datetime(2020, 1, 15, 12), True),  # naive
    ],
)
def test_holds_by_publication_date(published: datetime, allowed: bool) -> None:
    assert JAN.holds(published, None) is allowed


def test_the_publication_date_decides_over_lastmod() -> None:
    assert JAN.holds(at(date(2020, 1, 10)), at(date(2019, 6, 1)))  # lastmod before the window: still in
    assert not JAN.holds(at(date(2019, 12, 1)), at(date(2020, 1, 10)))  # published before: out
    assert not JAN.holds(at(date(2020, 3, 1)), at(date(2020, 1, 10)))  # published after: out


@pytest.mark.parametrize(
    ("lastmod", "allowed"),
    [
        (at(date(2019, 12, 31), 23), False),
        (at(date(2020, 1, 1), 0), True),
        (at(date(2020, 1, 20)), True),
        (at(date(2020, 1, 31), 23), True),
        (at(date(2020, 2, 1), 0), False),  # a news sitemap dates an article by its last change
        (at(date(2030, 1, 1)), False),
    ],
)
def test_lastmod_dates_a_url_without_a_publication_date(lastmod: datetime, allowed: bool) -> None:
    assert JAN.holds(None, lastmod) is allowed


@pytest.mark.parametrize(
    ("lastmod", "allowed"),
    [
        (None, True),
        (at(date(2019, 12, 31), 23), False),  # last changed before since: nothing of the window was added
        (at(date(2020, 1, 1), 0), True),
        (at(date(2020, 6, 1)), True),  # changed after until: may still list URLs of the window
        (at(date(2030, 1, 1)), True),
    ],
)
def test_a_sitemaps_lastmod_only_bounds_from_below(lastmod: datetime | None, allowed: bool) -> None:
    assert JAN.may_hold(lastmod) is allowed


def test_an_undated_url_is_kept() -> None:
    assert JAN.holds(None, None)
    assert Window.of(date(2030, 1, 1), None).holds(None, None)


def test_a_window_without_an_end_holds_up_to_any_day() -> None:
    since = Window.of(date(2020, 1, 1), None)
    assert since.holds(at(date(2099, 1, 1)), None)
    assert not since.holds(at(date(2019, 12, 31)), None)
    assert since.holds_day(date(2099, 12, 31))
    assert not since.holds_day(date(2019, 12, 31))


@pytest.mark.parametrize(
    ("day", "allowed"),
    [(date(2019, 12, 31), False), (date(2020, 1, 1), True), (date(2020, 1, 31), True), (date(2020, 2, 1), False)],
)
def test_holds_day(day: date, allowed: bool) -> None:
    assert JAN.holds_day(day) is allowed


def test_window_of_compiles_the_patterns() -> None:
    window = Window.of(date(2020, 1, 1), None, include=[r"/politics/"], exclude=[r"\?", r"/video/"])
    assert window.include == (re.compile(r"/politics/"),)
    assert window.exclude == (re.compile(r"\?"), re.compile(r"/video/"))
    with pytest.raises(re.error):
        Window.of(date(2020, 1, 1), None, include=["["])


@pytest.mark.parametrize(
    ("include", "exclude", "link", "wanted"),
    [
        ((), (), "https://tass.com/anything", True),  # no include: any
        ((r"/politics/",), (), "https://tass.com/politics/1", True),
        ((r"/politics/",), (), "https://tass.com/economy/1", False),
        ((r"/politics/", r"/economy/"), (), "https://tass.com/economy/1", True),  # one of them
        ((), (r"/video/",), "https://tass.com/video/1", False),
        ((), (r"/video/",), "https://tass.com/politics/1", True),
        ((r"/politics/",), (r"/politics/video",), "https://tass.com/politics/video/1", False),  # exclude wins
        ((r"politics",), (), "https://tass.com/a?section=politics", True),  # searched anywhere
        ((r"^https://tass\.com/",), (), "http://tass.com/a", True),  # http:// also tried as https://
        ((r"^https://tass\.com/",), (), "HTTP://tass.com/a", True),
        ((r"^http://tass\.com/",), (), "http://tass.com/a", True),  # and as itself
        ((r"^http://tass\.com/",), (), "https://tass.com/a", False),  # https:// is not tried as http://
        ((), (r"^https://tass\.com/old/",), "http://tass.com/old/1", False),  # exclude sees both forms too
        ((r"^https://",), (), "ftp://tass.com/a", False),
    ],
)
def test_wants(include: tuple[str, ...], exclude: tuple[str, ...], link: str, wanted: bool) -> None:
    assert Window.of(date(2020, 1, 1), None, include, exclude).wants(link) is wanted


# -- candidates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "month"),
    [
        (Candidate("l", "u", "sitemap"), None),
        (Candidate("l", "u", "sitemap", lastmod=at(date(2020, 3, 1))), "2020-03"),
        (Candidate("l", "u", "wayback", capture="20190708090000"), "2019-07"),
        (Candidate("l", "u", "wayback", lastmod=at(date(2020, 3, 1)), capture="20190708090000"), "2019-07"),
        (
            Candidate(
                "l", "u", "sitemap", published=at(date(2018, 2, 3)), lastmod=at(date(2020, 3, 1)), capture="2019"
            ),
            "2018-02",
        ),
        (Candidate("l", "u", "sitemap", published=datetime(2020, 12, 31, 23, 30, tzinfo=MSK)), "2020-12"),
        (Candidate("l", "u", "wayback", capture=""), None),  # an empty capture is none
    ],
)
def test_candidate_month_by_the_best_date(candidate: Candidate, month: str | None) -> None:
    assert candidate.month() == month


def test_candidate_entry_is_the_row_queued() -> None:
    published = datetime(2020, 1, 5, 12, 30, tzinfo=MSK)
    lastmod = datetime(2020, 1, 6, 8, 0, tzinfo=UTC)
    candidate = Candidate(
        "http://TASS.com/politics/1", "https://tass.com/politics/1", "sitemap", published, lastmod, "Title"
    )
    assert candidate.entry() == {
        "key": "https://tass.com/politics/1",
        "link": "http://TASS.com/politics/1",
        "url": "https://tass.com/politics/1",
        "title": "Title",
        "feed_published": "2020-01-05T12:30:00+03:00",
        "lastmod": "2020-01-06T08:00:00+00:00",
        "origin": "sitemap",
        "capture": None,
    }
    bare = Candidate("https://tass.com/a", "https://tass.com/a", "wayback", capture="20200105120000")
    assert bare.entry() == {
        "key": "https://tass.com/a",
        "link": "https://tass.com/a",
        "url": "https://tass.com/a",
        "title": None,
        "feed_published": None,
        "lastmod": None,
        "origin": "wayback",
        "capture": "20200105120000",
    }


# -- Wayback captures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("20200105120000", f"{WAYBACK}/web/20200105120000id_/https://tass.com/a?x=1"),
        (None, f"{WAYBACK}/web/2id_/https://tass.com/a?x=1"),  # the newest
        ("", f"{WAYBACK}/web/2id_/https://tass.com/a?x=1"),
    ],
)
def test_capture_url(timestamp: str | None, expected: str) -> None:
    assert capture_url(WAYBACK, timestamp, "https://tass.com/a?x=1") == expected


@pytest.mark.parametrize(
    ("final_url", "headers", "when"),
    [
        (f"{WAYBACK}/web/20200105120304id_/https://tass.com/a", {}, "2020-01-05T12:03:04+00:00"),
        (  # the URL's timestamp wins over the header
            f"{WAYBACK}/web/20200105120304id_/https://tass.com/a",
            {"memento-datetime": "Sun, 01 Mar 2020 10:00:00 GMT"},
            "2020-01-05T12:03:04+00:00",
        ),
        (
            "https://tass.com/a",
            {"memento-datetime": "Sun, 05 Jan 2020 12:03:04 GMT"},
            "2020-01-05T12:03:04+00:00",
        ),
        ("https://tass.com/a", {"memento-datetime": "yesterday"}, None),
        ("https://tass.com/a", {"memento-datetime": ""}, None),
        ("https://tass.com/a", {}, None),
        (f"{WAYBACK}/web/20200105120304/https://tass.com/a", {}, None),  # not the id_ form
        (f"{WAYBACK}/web/2id_/https://tass.com/a", {}, None),
    ],
)
def test_capture_time(final_url: str, headers: dict[str, str], when: str | None) -> None:
    assert capture_time(final_url, headers) == when


def test_capture_time_of_an_impossible_timestamp_is_unknown() -> None:
    assert capture_time(f"{WAYBACK}/web/20201345000000id_/https://tass.com/a", {}) is None


def test_fetch_capture_follows_the_wayback_redirect() -> None:
    link = "https://tass.com/politics/1"
    requested: list[str] = []

    def wayback(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        if "/web/2id_/" in str(request.url):
            return httpx.Response(302, headers={"Location": f"{WAYBACK}/web/20200105120304id_/{link}"})
        return httpx.Response(200, content=b"<html>old page</html>", headers={"content-type": "text/html"})

    async def public_dns(host: str) -> list[str]:
        return ["93.184.216.34"]

    async def go() -> tuple[Response, str | None]:
        settings = Settings(respect_robots=False, backfill_rate=100)
        async with Fetcher(settings, transport=httpx.MockTransport(wayback), resolver=public_dns) as fetcher:
            return await fetch_capture(fetcher, WAYBACK, link, None, max_bytes=1000)

    response, when = asyncio.run(go())
    assert requested == [f"{WAYBACK}/web/2id_/{link}", f"{WAYBACK}/web/20200105120304id_/{link}"]
    assert when == "2020-01-05T12:03:04+00:00"
    assert response.url == f"{WAYBACK}/web/20200105120304id_/{link}"
    assert response.final_url == link
    assert response.content == b"<html>old page</html>"
