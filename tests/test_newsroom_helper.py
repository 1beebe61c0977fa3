"""The backfill test servers (tests/helpers/newsroom.py) answer as documented: robots.txt, the
sitemap index and its monthly (some gzipped) and news sitemaps, the RSS feed rolling over, story
pages the project's extractor reads, the CDX API's paging and date bounds, and replays."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from aggregator import extract_article
from tests.helpers.newsroom import CAPTURE_DELAY, NEWS_NS, SITEMAP_NS, Newsroom, Story, Wayback

SM = {"sm": SITEMAP_NS, "news": NEWS_NS}
CDX = "/cdx/search/cdx"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Newsroom, Wayback]]:
    """A newsroom of 400 stories over a year (story 12 gone) and its archive (odd stories captured)."""
    with Newsroom(stories=400, gone={12}, crawl_delay=2) as site, Wayback(site, captured=range(1, 401, 2)) as archive:
        yield site, archive


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5) as client:
        yield client


def xml(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    return ET.fromstring(response.content)


def captures_of(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


def test_robots(servers: tuple[Newsroom, Wayback], client: httpx.Client) -> None:
    site, archive = servers
    response = client.get(site.base_url + "/robots.txt")
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[:3] == ["User-agent: *", "Disallow: /private/", "Crawl-delay: 2"]
    assert f"Sitemap: {site.base_url}/sitemap.xml" in lines
    assert client.get(archive.base_url + "/robots.txt").status_code == 404
    with Newsroom(stories=3, fail_robots=True) as failing:
        assert client.get(failing.base_url + "/robots.txt").status_code == 503
        failing.fail_robots = False
        assert "Crawl-delay" not in client.get(failing.base_url + "/robots.txt").text
        assert [entry.status for entry in failing.requests] == [503, 200]


def test_sitemap_index_lists_the_months_and_the_gzipped_ones_decompress(
    servers: tuple[Newsroom, Wayback], client: httpx.Client
) -> None:
    site, _ = servers
    index = xml(client.get(site.base_url + "/sitemap.xml"))
    assert index.tag == f"{{{SITEMAP_NS}}}sitemapindex"
    locs = [loc.text or "" for loc in index.findall("sm:sitemap/sm:loc", SM)]
    months = [f"2025-{month:02d}" for month in range(1, 13)]
    expected = [f"/sitemaps/{m}.xml" + (".gz" if int(m[5:]) in (2, 5, 11) else "") for m in months]
    assert locs == [site.base_url + path for path in [*expected, "/sitemaps/news.xml"]]
    lastmods = [element.text for element in index.findall("sm:sitemap/sm:lastmod", SM)]
    assert lastmods == [stories[-1].published.isoformat() for stories in site.months().values()]

    response = client.get(site.base_url + "/sitemaps/2025-05.xml.gz")
    assert response.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in response.headers
    urlset = ET.fromstring(gzip.decompress(response.content))
    may = [story for story in site.stories if story.published.month == 5]
    assert [loc.text for loc in urlset.findall("sm:url/sm:loc", SM)] == [site.url(story) for story in may]
    assert client.get(site.base_url + "/sitemaps/2025-05.xml").status_code == 404  # only the advertised name
    assert client.get(site.base_url + "/sitemaps/2024-12.xml").status_code == 404


def test_a_month_sitemap_lists_its_stories_private_ones_too(
    servers: tuple[Newsroom, Wayback], client: httpx.Client
) -> None:
    site, _ = servers
    month = site.story(250).published.month  # a private story's, not gzipped
    urlset = xml(client.get(site.base_url + f"/sitemaps/2025-{month:02d}.xml"))
    stories = [story for story in site.stories if story.published.month == month]
    urls = [(u.findtext("sm:loc", "", SM), u.findtext("sm:lastmod", "", SM)) for u in urlset]
    assert urls == [(site.url(story), story.published.isoformat()) for story in stories]
    assert any("/private/" in url for url, _ in urls)
    assert {story.section for story in site.stories} == {"world", "politics", "sport", "private"}


def test_news_sitemap(servers: tuple[Newsroom, Wayback], client: httpx.Client) -> None:
    site, _ = servers
    urlset = xml(client.get(site.base_url + "/sitemaps/news.xml"))
    newest = site.stories[-1].published
    recent = [story for story in site.stories if story.published >= newest - timedelta(days=2)]
    assert 2 < len(recent) < 20
    entries = urlset.findall("sm:url", SM)
    assert [entry.findtext("sm:loc", namespaces=SM) for entry in entries] == [site.url(s) for s in recent]
    news = entries[-1].find("news:news", SM)
    assert news is not None
    assert news.findtext("news:publication/news:name", namespaces=SM) == "Newsroom"
    assert news.findtext("news:publication/news:language", namespaces=SM) == "en"
    assert news.findtext("news:publication_date", namespaces=SM) == newest.isoformat()
    assert news.findtext("news:title", namespaces=SM) == site.stories[-1].title


def test_rss_holds_the_newest_stories_and_rolls_over(client: httpx.Client) -> None:
    def items(site: Newsroom) -> list[tuple[str, str, datetime]]:
        channel = xml(client.get(site.base_url + "/rss.xml")).find("channel")
        assert channel is not None
        return [
            (item.findtext("link", ""), item.findtext("guid", ""), parsedate_to_datetime(item.findtext("pubDate", "")))
            for item in channel.findall("item")
        ]

    with Newsroom(stories=100, feed_size=5) as site:
        newest_first = site.stories[::-1]
        assert items(site) == [(site.url(s), site.url(s), s.published) for s in newest_first[:5]]
        added = site.publish(3)
        assert [story.number for story in added] == [101, 102, 103]
        assert added[0].published > newest_first[0].published
        assert [link for link, _, _ in items(site)] == [site.url(s) for s in [*added[::-1], *newest_first[:2]]]
        assert client.get(site.url(added[-1])).status_code == 200
        later = site.publish(1, at=datetime(2026, 3, 1, 12, tzinfo=UTC))
        assert later[0].published == datetime(2026, 3, 1, 12, tzinfo=UTC)
        assert site.base_url + "/sitemaps/2026-03.xml" in client.get(site.base_url + "/sitemap.xml").text
        with pytest.raises(ValueError):
            site.publish(1, at=datetime(2025, 6, 1, tzinfo=UTC))


def test_a_story_page_extracts(servers: tuple[Newsroom, Wayback], client: httpx.Client) -> None:
    site, _ = servers
    stories = site.stories
    for story in (stories[0], stories[200], stories[-2]):
        response = client.get(site.url(story))
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(response.content))
        article = extract_article(response.text, site.url(story))
        assert article.title == story.title
        assert article.paragraphs == story.paragraphs
        assert article.published == story.published
        assert article.url == site.url(story)
    assert 4 <= len(story.paragraphs) <= 6
    assert all(30 <= len(text.split()) <= 60 and str(story.number) in text for text in story.paragraphs)
    assert stories[1].paragraphs[1:] != stories[2].paragraphs[1:]


def test_keep_alive_reuses_one_connection(client: httpx.Client) -> None:
    with Newsroom(stories=10) as site:
        for story in site.stories:
            assert client.get(site.url(story)).status_code == 200
        assert client.get(site.base_url + "/nothing").status_code == 404
        assert site.connections == 1


def test_gone_private_and_unknown(servers: tuple[Newsroom, Wayback], client: httpx.Client) -> None:
    site, _ = servers
    private = next(story for story in site.stories if story.section == "private")
    assert private.number == 50
    assert client.get(site.url(site.story(12))).status_code == 404
    assert client.get(site.url(private)).status_code == 200
    assert client.get(site.url(site.story(13)) + "?utm_source=x").status_code == 200
    for path in ("/", "/world/", "/world/99999", site.story(13).path + "/"):
        assert client.get(site.base_url + path).status_code == 404


def cdx(archive: Wayback, client: httpx.Client, **params: str | int) -> httpx.Response:
    return client.get(archive.base_url + CDX, params=params)


def test_cdx_pages_return_every_capture_exactly_once(servers: tuple[Newsroom, Wayback], client: httpx.Client) -> None:
    site, archive = servers
    query = {"url": f"{site.host}/", "matchType": "prefix", "fl": "timestamp,original", "collapse": "urlkey"}
    seen: list[str] = []
    resume = ""
    pages = 0
    while True:
        params: dict[str, str | int] = {**query, "filter": "statuscode:200", "limit": 30, "showResumeKey": "true"}
        response = cdx(archive, client, **params, **({"resumeKey": resume} if resume else {}))
        assert response.status_code == 200
        pages += 1
        body, _, key = response.text.rstrip("\n").partition("\n\n")
        lines = captures_of(body)
        assert len(lines) <= 30
        seen += lines
        if not key:
            break
        assert len(lines) == 30
        resume = key
    expected = {f"{c.timestamp} {c.original}" for c in archive.captures}
    assert len(seen) == len(expected) == 200
    assert set(seen) == expected
    assert pages == 7
    assert {int(line.split("/")[-1].split("?")[0]) for line in seen} == set(range(1, 401, 2))
    with_query = [line for line in seen if line.endswith("?utm_source=x")]
    assert 0.05 < len(with_query) / len(seen) < 0.15

    json_rows = cdx(archive, client, url=f"http://{site.host}/*", output="json", limit=7, showResumeKey="true").json()
    assert json_rows[0] == ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    assert len(json_rows) == 1 + 7 + 2 and json_rows[-2] == []
    four = cdx(archive, client, url=site.host, matchType="host", fl="urlkey,timestamp,original,statuscode", limit=4)
    assert all(line.split()[3] == "200" and line.startswith("127.0.0.1:") for line in captures_of(four.text))
    assert "\n\n" not in four.text  # no resume key unless asked


def test_cdx_from_and_to(servers: tuple[Newsroom, Wayback], client: httpx.Client) -> None:
    site, archive = servers
    spring = cdx(
        archive, client, url=f"{site.host}/", matchType="prefix", fl="timestamp", **{"from": "202503"}, to="202504"
    )
    expected = sorted(c.timestamp for c in archive.captures if "20250301" <= c.timestamp[:8] <= "20250430")
    assert sorted(captures_of(spring.text)) == expected and len(expected) > 20
    first = archive.captures[0]
    exact = cdx(archive, client, url=first.original, **{"from": first.timestamp}, to=first.timestamp)
    [line] = captures_of(exact.text)  # every field, in the real server's order
    urlkey, timestamp, original, mimetype, status, digest, length = line.split(" ")
    assert (urlkey, timestamp, original, mimetype, status) == (
        first.urlkey, first.timestamp, first.original, "text/html", "200"
    )  # fmt: skip
    assert len(digest) == 32 and int(length) == len(site.html(first.story))
    after = cdx(archive, client, url=first.original, **{"from": str(int(first.timestamp) + 1)})
    assert after.text == ""
    assert cdx(archive, client, url=site.host, **{"from": "2025x"}).status_code == 400


def test_a_replay_redirects_to_the_capture_and_serves_the_page(
    servers: tuple[Newsroom, Wayback], client: httpx.Client
) -> None:
    site, archive = servers
    gone = site.story(12)  # gone from the site, and never captured (only odd stories are)
    captured = next(c for c in archive.captures if "?" not in c.original)
    assert captured.timestamp == f"{captured.story.published + CAPTURE_DELAY:%Y%m%d%H%M%S}"
    inexact = client.get(f"{archive.base_url}/web/2025id_/{captured.original}")
    assert inexact.status_code == 302
    assert inexact.headers["location"] == archive.replay_url(captured)
    replay = client.get(f"{archive.base_url}/web/{captured.timestamp}id_/{site.host}{captured.story.path}")
    assert replay.status_code == 200 and replay.content == site.html(captured.story)
    assert client.get(f"{archive.base_url}/web/{captured.timestamp}id_/{site.url(gone)}").status_code == 404
    with_query = next(c for c in archive.captures if "?" in c.original)
    assert client.get(archive.replay_url(with_query)).content == site.html(with_query.story)

    with Newsroom(stories=20, gone={4}) as small, Wayback(small) as full:
        lost: Story = small.story(4)
        assert client.get(small.url(lost)).status_code == 404
        page = client.get(f"{full.base_url}/web/2026id_/{small.url(lost)}", follow_redirects=True)
        assert page.status_code == 200 and page.content == small.html(lost)
        assert extract_article(page.text, small.url(lost)).title == lost.title


def test_the_request_log(client: httpx.Client) -> None:
    with Newsroom(stories=5) as site, Wayback(site) as archive:
        client.get(site.base_url + "/robots.txt", headers={"User-Agent": "backfill-test/1"})
        client.get(site.url(site.stories[0]) + "?a=1")
        client.get(site.base_url + "/missing")
        client.get(archive.base_url + CDX, params={"url": site.host, "matchType": "host"})
        assert site.paths_requested() == ["/robots.txt", site.stories[0].path, "/missing"]
        log = site.requests
        assert [(entry.status, entry.query) for entry in log] == [(200, ""), (200, "a=1"), (404, "")]
        assert log[0].user_agent == "backfill-test/1" and log[0].time <= log[1].time <= log[2].time
        assert archive.paths_requested() == [CDX]
        assert archive.requests[0].query == f"url={site.host.replace(':', '%3A')}&matchType=host"
