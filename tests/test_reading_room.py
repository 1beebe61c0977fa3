"""The reading room (`aggregator serve`): the front page, ranked search, the article page, a search
followed as Atom, and the same pages in a real headless Chromium that may reach nothing but the
archive."""

from __future__ import annotations

import html
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import httpx
import lxml.html
import pytest

from aggregator.tools.serve import metadata
from tests.helpers.archive import BBC_URL, REFERENCE_DOC, REFERENCE_ID, build_archive
from tests.helpers.datasette import serving

CHROMIUM = Path("/usr/bin/chromium")
HEADLINE = "Presidents of Russia and Azerbaijan discuss regional issues in phone call"
OLD_HEADLINE = "Putin and Aliyev talk by phone"
SENTENCE = "Azerbaijans President has also congratulated Russian leader on the registration of a coronavirus vaccine."
DATE_FLAG = "page date 3.5 days after feed date"
HOSTILE = 'Second story <script>alert("title")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture archive, with one article edited once (its first version only had "zeppelin")
    and one whose page date disagreed with its feed's."""
    config = build_archive(tmp_path_factory.mktemp("room"))
    conn = sqlite3.connect(config.parent / "a.db")
    with conn:
        conn.execute(
            "INSERT INTO article_versions (article_id, version, seen_at, title, body, document, extractor, "
            "published, path) VALUES (?, 1, '2020-08-13T09:00:00+00:00', ?, 'A zeppelin flew over.', "
            "'old document', 'tass@2019', '2020-08-13T00:26:00+03:00', 'tass/2020-08-13/000_x.v1.txt')",
            [REFERENCE_ID, OLD_HEADLINE],
        )
        conn.execute(
            "INSERT INTO article_events (article_id, at, kind, version, detail) "
            "VALUES (?, '2020-08-14T10:00:00+00:00', 'edited', 2, 'title, body')",
            [REFERENCE_ID],
        )
        conn.execute(
            "UPDATE articles SET version = 2, changed_at = '2020-08-14T10:00:00+00:00' WHERE id = ?", [REFERENCE_ID]
        )
        conn.execute("UPDATE articles SET date_flag = ? WHERE url = ?", [DATE_FLAG, BBC_URL])
        conn.execute("UPDATE articles SET title = ? WHERE url = 'https://tass.com/world/1189100'", [HOSTILE])
    conn.close()
    return config


@pytest.fixture(scope="module")
def web(archive: Path) -> Iterator[httpx.Client]:
    with serving(archive) as client:
        yield client


def page(client: httpx.Client, path: str, **params: str) -> lxml.html.HtmlElement:
    response = client.get(path, params=params or None)
    assert response.status_code == 200, response.text
    return lxml.html.fromstring(response.text)


def text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def base(client: httpx.Client) -> str:
    return str(client.base_url).rstrip("/")


def test_the_front_page_has_the_search_box_numbers_charts_and_latest_articles(web: httpx.Client) -> None:
    front = page(web, "/")
    assert front.xpath("//form[@action='/-/search']//input[@name='q']")
    numbers = text(front.xpath("//ul[@class='archive-numbers']")[0])
    assert "3 articles 2020-04-10 to 2020-08-13" in numbers and "1 edited" in numbers and "2 pages missing" in numbers
    charts = [node.get("data-chart") for node in front.xpath("//div[@data-chart]")]
    assert charts == list(metadata()["plugins"]["datasette-dashboards"]["archive"]["charts"])
    latest = front.xpath("//section[@class='archive-latest']//a[@class='headline']")
    assert [(a.text, a.get("href")) for a in latest][1] == (HEADLINE, f"/archive/articles/{REFERENCE_ID}")
    for query in metadata()["databases"]["archive"]["queries"]:  # every stored question is one click away
        assert front.xpath(f"//a[@href='/archive/{query}']"), query


def test_every_chart_query_answers(web: httpx.Client) -> None:
    charts = metadata()["plugins"]["datasette-dashboards"]["archive"]["charts"]
    answers = {}
    for slug, chart in charts.items():
        response = web.get("/archive.json", params={"sql": chart["query"], "_shape": "array"})
        assert response.status_code == 200, (slug, response.text)
        answers[slug] = response.json()
    assert answers["articles_per_day"] == [
        {"day": "2020-08-13", "source": "TASS", "articles": 2},
    ]  # the archive's last 90 days: the BBC article of April is older
    assert sorted((r["reason"], r["pages"]) for r in answers["failures"]) == [("http_404", 1), ("not_article", 1)]
    assert answers["changes"] == [{"day": "2020-08-14", "kind": "edited", "events": 1}]


def test_cells_are_not_read_as_markdown_and_the_dashboards_still_render(web: httpx.Client) -> None:
    # datasette-render-markdown (which datasette-dashboards needs for its templates) would read
    # its configuration for every cell to render the columns named *_markdown: served without
    # that hook, such a column is its text
    result = page(web, "/archive", sql="select '*b* <i>x</i>' as note_markdown")
    cells = [text(cell) for cell in result.xpath("//td[contains(@class, 'col-note_markdown')]")]
    assert cells == ["*b* <i>x</i>"] and not result.xpath("//td//em")
    dashboard = page(web, "/-/dashboards/archive")
    charts = [node.get("id") for node in dashboard.xpath("//*[starts-with(@id, 'card-')]")]
    assert charts, "the dashboard page shows its charts"


def test_search_ranks_highlights_and_counts_facets(web: httpx.Client) -> None:
    results = page(web, "/-/search", q="coronavirus")
    assert "2 articles match" in text(results.xpath("//p[@class='search-summary']")[0])
    headlines = [a.text for a in results.xpath("//li[@class='search-result']/a[@class='headline']")]
    assert headlines == ["Coronavirus: New York ramps up mass burials amid outbreak", HEADLINE]  # in the title first
    marks = results.xpath("//li[@class='search-result']//p[@class='snippet']/mark/text()")
    assert {mark.lower() for mark in marks} == {"coronavirus"}
    facets = {
        section.findtext("h3"): [text(li) for li in section.xpath(".//li")]
        for section in results.xpath("//section[@class='facet']")
    }
    assert facets == {
        "Source": ["BBC News 1", "TASS 1"],
        "Feed": ["bbc 1", "tass 1"],
        "Month": ["2020-08 1", "2020-04 1"],
    }
    narrowed = page(web, "/-/search" + results.xpath("//section[@class='facet']//a[text()='TASS']/@href")[0])
    assert [a.text for a in narrowed.xpath("//a[@class='headline']")] == [HEADLINE]
    assert "source TASS" in text(narrowed.xpath("//p[@class='search-summary']")[0])
    newest = page(web, "/-/search", q="coronavirus", sort="newest")
    assert newest.xpath("//a[@class='headline']")[0].text == HEADLINE


@pytest.mark.parametrize(
    ("query", "headlines"),
    [
        ('"Ilham Aliyev"', [HEADLINE]),
        ("Azerbaij*", [HEADLINE]),
        ("coronavirus -burials", [HEADLINE]),
        ("zeppelin", [HEADLINE]),  # only its first version had the word
        ('"Aliyev Ilham"', []),
    ],
)
def test_search_language_in_the_browser(web: httpx.Client, query: str, headlines: list[str]) -> None:
    results = page(web, "/-/search", q=query)
    assert [a.text for a in results.xpath("//a[@class='headline']")] == headlines


def test_a_search_the_archive_cannot_run_says_why(web: httpx.Client) -> None:
    results = page(web, "/-/search", q="-coronavirus")
    assert results.xpath("//p[@class='message-error']/text()") == [
        "a search needs a word to look for, not only words to leave out (-word)"
    ]
    lone_quote = page(web, "/-/search", q='"')
    assert lone_quote.xpath("//p[@class='message-error']/text()") == ["the search query has no words"]
    for params, message in (
        ({"q": "x", "month": "2020-13"}, "month: not a month (YYYY-MM): '2020-13'"),
        ({"q": "x", "page": "two"}, "page: not a page number: 'two'"),
        ({"q": "x", "sort": "random"}, "sort: relevance or newest, not 'random'"),
    ):
        response = web.get("/-/search", params=params)
        assert response.status_code == 400 and message in html.unescape(response.text)


def test_the_articles_list_opens_on_what_people_read(web: httpx.Client) -> None:
    bare = web.get("/archive/articles")
    assert bare.status_code == 302
    assert bare.headers["location"] == "/archive/articles?_col=published&_col=source&_col=title&_col=url"
    listing = page(web, bare.headers["location"])
    assert [th.get("data-column") for th in listing.xpath("//table[@class='rows-and-columns']//th")] == [
        "id",
        "published",
        "source",
        "title",
        "url",
    ]
    assert listing.xpath(f"//td[@class='col-title type-str']/a[@href='/archive/articles/{REFERENCE_ID}']")
    assert listing.xpath(f"//td[@class='col-url type-str']/a[@href='{BBC_URL}']")
    # "Show all columns" from the list itself, any other choice, and the JSON API stay Datasette's own
    assert (
        web.get(
            "/archive/articles", headers={"referer": f"{str(web.base_url).rstrip('/')}/archive/articles?_col=url"}
        ).status_code
        == 200
    )
    assert web.get("/archive/articles", params={"_sort": "title"}).status_code == 200
    assert len(web.get("/archive/articles.json", params={"_shape": "array"}).json()[0]) > 20
    searched = web.get("/archive/articles", params={"_search": "Aliyev", "source": "TASS"})
    assert (searched.status_code, searched.headers["location"]) == (302, "/-/search?q=Aliyev&source=TASS")
    assert web.get("/archive/articles.json", params={"_search": "Aliyev"}).status_code == 200


def test_the_article_page_is_titled_by_its_headline_and_shows_the_text_once(web: httpx.Client) -> None:
    article = page(web, f"/archive/articles/{REFERENCE_ID}")
    assert article.findtext(".//title") == f"{HEADLINE} (TASS, 2020-08-13)"
    assert article.xpath("//h1[@class='headline']/text()") == [HEADLINE]
    assert lxml.html.tostring(article, encoding="unicode").count(SENTENCE) == 1
    assert article.xpath("//a[text()='https://tass.com/politics/1189047']")
    versions = [text(li) for li in article.xpath("//section[@class='article-versions']//li")]
    assert versions == [f"version 1, seen 2020-08-13T09:00:00+00:00: {OLD_HEADLINE} · document"]
    assert [text(li) for li in article.xpath("//section[@class='article-events']//li")] == [
        "2020-08-14T10:00:00+00:00: edited (version 2): title, body"
    ]
    items = [text(li) for li in article.xpath("//section[@class='article-items']//li")]
    assert len(items) == 2 and "in the feed other" in items[1]
    bbc = page(
        web,
        "/archive/articles/"
        + web.get("/archive/articles.json", params={"url": BBC_URL, "_shape": "array"}).json()[0]["id"],
    )
    assert text(bbc.xpath("//p[@class='date-flag']")[0]) == f"Date check: {DATE_FLAG}"
    described = {dt.text: dt.get("title") for dt in bbc.xpath("//details[@class='article-columns']//dt")}
    assert described["date_flag"].startswith("Set when the page's publication time")
    assert "body" not in described and "document" not in described


def test_documents_are_served_exactly(web: httpx.Client) -> None:
    document = web.get(f"/-/documents/{REFERENCE_ID}.txt")
    assert (document.status_code, document.headers["content-type"]) == (200, "text/plain; charset=utf-8")
    assert document.content == REFERENCE_DOC
    assert web.get(f"/-/documents/{REFERENCE_ID}.v1.txt").text == "old document"
    assert web.get(f"/-/documents/{REFERENCE_ID}.v7.txt").status_code == 404
    assert web.get("/-/documents/nope.txt").status_code == 404


def test_a_search_is_followed_as_atom(web: httpx.Client) -> None:
    response = web.get("/-/search.atom", params={"q": "coronavirus", "source": "TASS"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "News archive: “coronavirus” (source TASS)"
    (entry,) = feed.entries
    assert (entry.id, entry.title, entry.author) == ("https://tass.com/politics/1189047", HEADLINE, "TASS")
    assert [link["href"] for link in entry.links] == [
        f"{str(web.base_url).rstrip('/')}/archive/articles/{REFERENCE_ID}"
    ]
    assert entry.summary == "TASS, 2020-08-13T00:26:00+03:00: https://tass.com/politics/1189047"
    assert SENTENCE in entry.content[0].value
    assert entry.updated.startswith("2020-08-14T10:00:00")  # its last edit
    nothing = feedparser.parse(web.get("/-/search.atom", params={"q": "zebras"}).content)
    assert not nothing.bozo and nothing.entries == []  # subscribe before the first match arrives
    missing = web.get("/-/search.atom")
    assert missing.status_code == 400 and "q: the search to follow is missing" in missing.text
    search = page(web, "/-/search", q="coronavirus", source="TASS")
    assert search.xpath("//link[@type='application/atom+xml']/@href") == ["/-/search.atom?q=coronavirus&source=TASS"]


def test_stored_queries_link_articles_and_urls(web: httpx.Client) -> None:
    latest = page(web, "/archive/latest_articles")
    assert latest.xpath(f"//td[@class='col-id']/a[@href='/archive/articles/{REFERENCE_ID}']")
    assert latest.xpath(f"//td[@class='col-url']/a[@href='{BBC_URL}']")
    edited = page(web, "/archive/edited_articles")
    assert edited.xpath(f"//td[@class='col-id']/a[@href='/archive/articles/{REFERENCE_ID}']")
    health = page(web, "/archive/feed_health")  # feed ids are not article ids
    assert not health.xpath("//td[@class='col-id']/a")


def test_only_the_archive_is_served_and_every_column_is_described(web: httpx.Client, archive: Path) -> None:
    assert [db["name"] for db in web.get("/-/databases.json").json()] == ["archive"]
    assert web.get("/_memory").status_code == 404
    tables = metadata()["databases"]["archive"]["tables"]
    conn = sqlite3.connect(archive.parent / "a.db")
    try:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE '%fts%' "
                "AND name != 'schema_migrations'"
            )
        ]
        undescribed = [
            f"{name}.{column}"
            for name in names
            for (column,) in conn.execute(f"SELECT name FROM pragma_table_info('{name}')")
            if column not in tables.get(name, {}).get("columns", {}) and column != "id"
        ]
    finally:
        conn.close()
    assert undescribed == []
    assert all(tables[name].get("description") for name in names)
    hidden = {name for name, table in tables.items() if table.get("hidden")}
    assert {"articles_fts", "article_versions_fts"} <= hidden


def test_a_hostile_headline_is_text_everywhere(web: httpx.Client) -> None:
    second = web.get("/archive/articles.json", params={"url": "https://tass.com/world/1189100", "_shape": "array"})
    article_id = second.json()[0]["id"]
    for path, params in (
        ("/", {}),
        ("/-/search", {"q": "second story"}),
        (f"/archive/articles/{article_id}", {}),
        ("/archive/articles", {"_col": "title"}),
        ("/archive/latest_articles", {}),
        ("/-/search.atom", {"q": "second story"}),
    ):
        response = web.get(path, params=params)
        assert response.status_code == 200, path
        assert "<script>alert" not in response.text and "<img src=x" not in response.text, path
    headline = page(web, f"/archive/articles/{article_id}").xpath("//h1[@class='headline']/text()")
    assert headline == [HOSTILE]


def chromium(url: str, profile: Path) -> str:
    """The page's DOM once its scripts ran, in a Chromium that can resolve no host but 127.0.0.1
    (a script or style sheet from a CDN would not load)."""
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--user-data-dir={profile}",
            "--window-size=1300,1200",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        timeout=120,
        check=False,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_every_asset_is_the_archives_own(web: httpx.Client) -> None:
    for path in ("/", "/-/search?q=Aliyev", f"/archive/articles/{REFERENCE_ID}", "/-/dashboards/archive"):
        html = lxml.html.fromstring(web.get(path).text)
        for url in html.xpath("//script/@src | //link[@rel='stylesheet']/@href"):
            assert not urlsplit(url).netloc, (path, url)
            assert web.get(url).status_code == 200, (path, url)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium is not installed (apt-get install chromium)")
def test_in_a_real_browser(web: httpx.Client, tmp_path: Path) -> None:
    front = lxml.html.fromstring(chromium(base(web) + "/", tmp_path / "profile"))
    drawn = {
        node.get("data-chart"): len(node.xpath(".//svg//path | .//canvas"))
        for node in front.xpath("//div[@data-chart]")
    }
    assert drawn and all(drawn.values()), drawn  # Vega drew every chart, from local scripts only
    search = lxml.html.fromstring(chromium(base(web) + "/-/search?q=coronavirus", tmp_path / "profile"))
    assert [a.text for a in search.xpath("//a[@class='headline']")][1] == HEADLINE
    assert search.xpath("//p[@class='snippet']/mark")
    article = lxml.html.fromstring(chromium(base(web) + f"/archive/articles/{REFERENCE_ID}", tmp_path / "profile"))
    assert article.findtext(".//title") == f"{HEADLINE} (TASS, 2020-08-13)"
    assert re.search("Vladimir Putin and Ilham Aliyev", text(article.xpath("//div[@class='article-body']")[0]))
