"""extract_article: the golden TASS document, golden fixtures per profile, and the quality gates."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregator.document.render import render_document
from aggregator.errors import ExtractError
from aggregator.extract.article import extract_article
from aggregator.html import dom, markers
from aggregator.models import Article
from tests.helpers.site import run_cli

FIXTURES = Path(__file__).parent / "fixtures"
PROFILE_CASES = sorted((FIXTURES / "profiles").glob("*/*.json"))
TASS_URL = "https://tass.com/politics/1189047?utm_source=rss&utm_medium=feed"


def read_page(path: Path) -> str:
    raw = path.read_bytes()
    return (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")


def load_case(path: Path) -> tuple[dict[str, Any], str]:
    """A profile fixture: its provenance/expectations (``<case>.json``) and its page."""
    case = json.loads(path.read_text(encoding="utf-8"))
    page = path.parent / case.get("page", f"{path.stem}.html")
    return case, read_page(page)


def render(article: Article, source: str, timezone: str, fallback: datetime | None = None) -> str:
    published = article.published or fallback
    assert published is not None, "the page gives no time and the case no feed_published"
    return render_document(
        title=article.title,
        published=published.astimezone(ZoneInfo(timezone)),
        source=source,
        paragraphs=article.paragraphs,
        url=article.url,
    )


def page(body: str, head: str = "", title: str = "A headline for the test page") -> str:
    return f"<html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


LONG = "This paragraph is long enough to count as real article text in the generic profile. " * 3


# --- golden ------------------------------------------------------------------------------------


def test_golden_tass_document() -> None:
    article = extract_article(read_page(FIXTURES / "tass" / "politics-1189047.html"), TASS_URL)
    expected = (FIXTURES / "tass" / "politics-1189047.txt").read_text(encoding="utf-8")
    assert render(article, "TASS", "Europe/Moscow") == expected


def test_golden_tass_article_fields() -> None:
    article = extract_article(read_page(FIXTURES / "tass" / "politics-1189047.html"), TASS_URL)
    assert article.extractor == "tass@2019"
    assert article.published == datetime(2020, 8, 12, 21, 26, tzinfo=UTC)
    assert article.published_via == "page:dateformat"
    assert article.url == "https://tass.com/politics/1189047"
    assert article.signals["paragraphs"] == 6
    assert article.signals["container"] == "div.news"


@pytest.mark.parametrize("path", PROFILE_CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_profile_fixture(path: Path) -> None:
    case, html = load_case(path)
    if "error" in case:
        with pytest.raises(ExtractError) as caught:
            extract_article(html, case["url"])
        assert caught.value.reason == case["error"]
        assert case["url"] in str(caught.value) and "\n" not in str(caught.value)
        return
    article = extract_article(html, case["url"])
    feed_published = case.get("feed_published")
    fallback = datetime.fromisoformat(feed_published) if feed_published else None
    expected = path.with_suffix(".txt").read_text(encoding="utf-8")
    assert render(article, case["source"], case["timezone"], fallback) == expected
    assert (article.extractor, article.published_via) == (case["extractor"], case["published_via"])


def test_generic_agrees_with_readability_metadata() -> None:
    """An independent oracle: mozilla/readability's expected title and time for the BBC page."""
    meta = json.loads((FIXTURES / "real" / "bbc-2015-33646704.meta.json").read_text(encoding="utf-8"))
    html = read_page(FIXTURES / "real" / "bbc-2015-33646704.html.gz")
    article = extract_article(html, "http://www.bbc.com/news/world-us-canada-33646704")
    assert article.title == meta["title"]
    assert article.published == datetime.fromisoformat(meta["publishedTime"])


# --- profile choice ------------------------------------------------------------------------------


def test_profile_chosen_by_final_url_and_forced_by_name() -> None:
    html = read_page(FIXTURES / "tass" / "politics-1189047.html")
    assert extract_article(html, "https://www.tass.com/politics/1189047").extractor == "tass@2019"
    # on another site the TASS page goes to the generic profile, which still finds the body
    mirrored = extract_article(html, "https://mirror.example.org/tass/1189047")
    assert mirrored.extractor == "generic@7"
    assert mirrored.url == "https://mirror.example.org/tass/1189047"  # canonical is off-site
    forced = extract_article(html, "https://mirror.example.org/tass/1189047", profile="tass@2019")
    assert forced.paragraphs == extract_article(html, TASS_URL).paragraphs


def test_unknown_profile() -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(page(f"<p>{LONG}</p>"), "https://example.org/a", profile="nosuch")
    assert caught.value.reason == "unknown_profile"


# --- challenge and consent -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Just a moment...", "<p>Checking if the site connection is secure</p>"),
        ("Attention Required! | Cloudflare", "<h1>Sorry, you have been blocked</h1>"),
        ("DDoS-Guard", "<p>Checking your browser before accessing the site.</p>"),
        ("Checking your browser before accessing example.org", ""),
    ],
)
def test_challenge_pages_by_title(title: str, body: str) -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(page(body + f"<p>{LONG}</p>", title=title), "https://example.org/news/1")
    assert caught.value.reason == "challenge"


@pytest.mark.parametrize(
    "title",
    [
        "Cookie consent rules tighten across the EU",
        "Access denied: travellers stuck at the border",
        "Just a moment of silence for the victims",
        "Checking your browser history is easier than you think",
    ],
)
def test_articles_about_such_things_are_articles(title: str) -> None:
    html = page(f"<h1>{title}</h1><article><p>{LONG}</p></article>", title=title)
    assert extract_article(html, "https://example.org/a").title == title


@pytest.mark.parametrize(
    ("body", "title", "reason"),
    [
        ('<div id="cf-browser-verification"><p>Please enable JavaScript and cookies.</p></div>', "", "challenge"),
        ('<iframe src="https://consent.example-cmp.com/index.html?site=1"></iframe>', "News", "consent"),
    ],
)
def test_blocking_markers_on_a_page_without_article(body: str, title: str, reason: str) -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(page(body, title=title), "https://news.example.org/story/1")
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<script>window._cf_chl_opt={cvId: '3'}</script>", True),
        ('<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/jsch/v1"></script>', True),
        ('<form id="challenge-form" action="/?__cf_chl_jschl_tk__=x">', True),
        ("<p>DDoS-Guard is checking your browser</p>", True),
        ("<p>Enable JavaScript and cookies to continue</p>", True),
        ("<p>A story about a browser that checks spelling.</p>", False),
    ],
)
def test_challenge_markers_read_alike_as_text_and_as_bytes(source: str, expected: bool) -> None:
    """Extraction asks with the decoded page, the feed parser with the undecoded body: one table."""
    assert markers.has_challenge_markers(source) is expected
    assert markers.has_challenge_markers(source.encode("utf-8")) is expected


@pytest.mark.parametrize(
    "extra",
    [
        # Cloudflare adds its challenge-platform script to ordinary pages too
        '<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>',
        '<div class="cookie-banner"><p>We use cookies. Accept all or manage cookie settings.</p></div>',
    ],
)
def test_blocking_markers_on_a_real_article_are_harmless(extra: str) -> None:
    article = extract_article(
        page(f"<h1>Headline</h1>{extra}<article><p>{LONG}</p></article>"), "https://example.org/a"
    )
    assert article.paragraphs == (LONG.strip(),)


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("https://consent.yahoo.com/v2/collectConsent?sessionId=1", "Yahoo is part of the Yahoo family of brands"),
        ("https://news.example.org/story/1", "Before you continue to Example News"),
    ],
)
def test_consent_walls_by_host_or_title(url: str, title: str) -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(page(f"<article><h1>Headline</h1><p>{LONG}</p></article>", title=title), url)
    assert caught.value.reason == "consent"


# --- gates ---------------------------------------------------------------------------------------


def test_generic_too_short() -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(
            page("<h1>Headline</h1><article><p>Only a few words here.</p></article>"), "https://example.org/a"
        )
    assert caught.value.reason == "too_short"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<h1>Headline</h1><div><img src='photo.jpg'></div>", "no_body"),
        # no container and no <p>: the second opinion finds the text, which is too short
        ("<h1>Headline</h1><div>No paragraphs at all.</div>", "too_short"),
    ],
)
def test_generic_no_body(body: str, reason: str) -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(page(body), "https://example.org/a")
    assert caught.value.reason == reason


def test_generic_section_front_is_not_an_article() -> None:
    head = '<meta property="og:type" content="website">'
    links = "".join(f'<li><a href="/story/{n}">Story number {n} of the day</a></li>' for n in range(20))
    with pytest.raises(ExtractError) as caught:
        extract_article(page(f"<main><ul>{links}</ul></main>", head=head), "https://example.org/")
    assert caught.value.reason == "not_article"


def test_no_title() -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(f"<html><body><article><p>{LONG}</p></article></body></html>", "https://example.org/a")
    assert caught.value.reason == "no_title"


def test_tass_empty_text_block_is_no_body_but_one_real_paragraph_is_an_article() -> None:
    def tass(text_block: str) -> str:
        header = '<h1 class="news-header__title">Putin signs law on budget</h1>'
        body = f'<div class="text-content"><div class="text-block">{text_block}</div></div>'
        return page(f'<div class="news">{header}{body}</div>')

    with pytest.raises(ExtractError) as caught:
        extract_article(tass("<p>&nbsp;</p><p>MOSCOW, May 5. /TASS/.</p>"), "https://tass.com/politics/1")
    assert caught.value.reason == "no_body"
    article = extract_article(
        tass("<p>MOSCOW, May 5. /TASS/. President Vladimir Putin has signed the law.</p>"),
        "https://tass.com/politics/1",
    )
    assert article.paragraphs == ("President Vladimir Putin has signed the law.",)


# --- title, url, time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "title", "expected"),
    [
        ('<meta property="og:title" content="From og:title">', "From title - TASS", "From og:title"),
        ("", "From the title - Russian Politics &amp; Diplomacy - TASS", "From the title"),
        ("", "Putin - Aliyev talks - World - TASS", "Putin - Aliyev talks"),
        ('<meta property="og:site_name" content="BBC News">', "Headline - BBC News", "Headline"),
    ],
)
def test_title_fallbacks_without_headline_element(head: str, title: str, expected: str) -> None:
    body = f'<div class="news"><div class="text-content"><div class="text-block"><p>{LONG}</p></div></div></div>'
    assert extract_article(page(body, head=head, title=title), "https://tass.com/world/2").title == expected


def test_headline_not_repeated_and_lead_left_out() -> None:
    body = (
        "<article><h1>Storm hits the coast</h1><p class='standfirst'>A lead that is not body.</p>"
        f"<h2>Storm  hits the&nbsp;coast</h2><p>{LONG}</p></article>"
    )
    article = extract_article(page(body), "https://example.org/a")
    assert (article.title, article.paragraphs) == ("Storm hits the coast", (LONG.strip(),))


def test_inline_markup_keeps_its_spaces() -> None:
    inline = "Visit <a href='/x'>the <b>Kremlin</b></a>,<i>now</i>&#160;or\tnever."
    body = f"<article><h1>H</h1><p>{inline}</p><p>{LONG}</p></article>"
    assert extract_article(page(body), "https://example.org/a").paragraphs[0] == "Visit the Kremlin,now or never."


def test_canonical_on_another_site_is_ignored() -> None:
    head = (
        '<link rel="canonical" href="https://evil.example.net/story">'
        '<meta property="og:url" content="/story?id=7&amp;utm_source=x">'
    )
    article = extract_article(
        page(f"<h1>H</h1><article><p>{LONG}</p></article>", head=head), "https://news.example.org/a#top"
    )
    assert article.url == "https://news.example.org/story?id=7"


@pytest.mark.parametrize(
    ("head", "body", "published", "via"),
    [
        (
            '<meta property="article:published_time" content="2021-05-04T10:00:00+02:00">',
            "",
            datetime(2021, 5, 4, 8, tzinfo=UTC),
            "page:meta",
        ),
        ("", '<time datetime="2021-05-04T08:00:00Z">May 4</time>', datetime(2021, 5, 4, 8, tzinfo=UTC), "page:time"),
        (
            '<script type="application/ld+json">[{"@type": "NewsArticle", "datePublished": "2021-05-04T08:00:00Z"}]'
            "</script>",
            "",
            datetime(2021, 5, 4, 8, tzinfo=UTC),
            "page:json-ld",
        ),
        (
            '<script type="application/ld+json">{not json</script>',
            '<time datetime="2021-05-04T08:00:00+00:00">x</time>',
            datetime(2021, 5, 4, 8, tzinfo=UTC),
            "page:time",
        ),
        ("", '<time datetime="2021-05-04T08:00:00">naive: no zone known</time>', None, None),
    ],
)
def test_published(head: str, body: str, published: datetime | None, via: str | None) -> None:
    article = extract_article(
        page(f"<h1>H</h1><article>{body}<p>{LONG}</p></article>", head=head), "https://example.org/a"
    )
    assert (article.published, article.published_via) == (published, via)


# --- generic body --------------------------------------------------------------------------------


def test_generic_densest_fallback_without_candidate_containers() -> None:
    nav = "".join(f"<p><a href='/s/{n}'>Section {n}</a></p>" for n in range(10))
    footer = "<div class='site-footer'><p>" + "Copyright and legal text of the site. " * 10 + "</p></div>"
    text = f"<div class='c1'><div class='c2'><p>{LONG}</p><p>Second paragraph.</p></div></div>"
    body = f"<div class='menu'>{nav}</div>{text}{footer}"
    article = extract_article(page(f"<h1>Headline</h1>{body}"), "https://example.org/a")
    assert article.paragraphs == (LONG.strip(), "Second paragraph.")
    assert article.signals["container"] == "div.c2"


def test_generic_densest_fallback_counts_no_script_as_prose() -> None:
    """An ad's code in a <div> of the sidebar is longer than the story, but no reader sees it."""
    ad = "<div class='slot'><div class='ad'><script>" + "var slot = render(slot, 'top');" * 40 + "</script></div></div>"
    story = f"<div class='story'><p>{LONG}</p><p>The story itself.</p></div>"
    article = extract_article(page(f"<h1>Headline</h1><div class='c1'>{ad}</div>{story}"), "https://example.org/a")
    assert article.paragraphs == (LONG.strip(), "The story itself.")
    assert article.signals["container"] == "div.story"


def test_generic_keeps_the_containers_own_text_between_its_blocks() -> None:
    """Prose written straight into the container, between <br>s and beside its paragraphs, is body;
    a <div> of its own holding no block (a byline, a box), or a <time>, is not part of such a line."""
    body = (
        f"<article><h1>H</h1><div class='byline'>By A. Writer</div><time>1 May 2025</time><p>{LONG}</p>"
        "The second paragraph, written <b>straight</b> into the article.<br><br>The third one.<p>The last.</p>"
        "</article>"
    )
    article = extract_article(page(body), "https://example.org/a")
    assert article.paragraphs == (
        LONG.strip(),
        "The second paragraph, written straight into the article. The third one.",
        "The last.",
    )


def test_generic_densest_fallback_counts_prose_written_straight_into_an_element() -> None:
    """An <article> whose story is text between <br>s, not <p>s, outweighs the comments' paragraphs."""
    story = "<br><br>".join(f"{LONG} Part {n} of the story." for n in range(3))
    comments = "".join(f"<div class='c'><p>{LONG[:120]} Reader {n}.</p></div>" for n in range(3))
    html = page(f"<h1>H</h1><article class='story'>{story}</article><div class='opinions'>{comments}</div>")
    article = extract_article(html, "https://example.org/a")
    assert article.signals["container"] == "article.story"


def test_generic_drops_boilerplate_blocks_and_strips_wire_datelines() -> None:
    body = (
        f"<article><h1>H</h1><p>WASHINGTON (AP) — {LONG}</p><p>Share this story</p>"
        "<p><a href='/x'>Read more about the storm and its aftermath</a></p>"
        "<figure><img src='x.jpg'><figcaption>A caption</figcaption></figure>"
        "<blockquote><p>First quoted paragraph.</p><p>Second quoted paragraph.</p></blockquote></article>"
    )
    article = extract_article(page(body), "https://example.org/a")
    assert article.paragraphs == (LONG.strip(), "First quoted paragraph.", "Second quoted paragraph.")


def test_generic_merges_a_body_split_around_ads() -> None:
    body = (
        f"<article><h1>H</h1><div class='article-body'><p>{LONG}</p></div><div class='ad'>Advertisement</div>"
        "<div class='article-body'><p>The second part of the body.</p></div></article>"
        "<article><div class='article-body'><p>Another story on the same page.</p></div></article>"
    )
    article = extract_article(page(body), "https://example.org/a")
    assert article.paragraphs == (LONG.strip(), "The second part of the body.")
    assert "body_from" not in article.signals


def test_generic_second_opinion_when_there_is_no_container() -> None:
    """A real page with its text in <div>s and <br>s, no <p>: the densest <div> of text is the
    container, ours covers too little of it, and trafilatura's body wins."""
    html = read_page(FIXTURES / "real" / "entermedia-8723.html.gz")
    article = extract_article(html, "http://entermedia.co.kr/news/news_view.html?idx=8723")
    expected = (FIXTURES / "real" / "entermedia-8723.body.txt").read_text(encoding="utf-8").splitlines()
    assert article.paragraphs == tuple(expected)
    assert (article.extractor, article.signals["body_from"], article.signals["container"]) == (
        "generic@7",
        "trafilatura",
        "div#_article",
    )


def _count_second_opinions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from aggregator.extract import article

    asked: list[str] = []
    real = article.library_paragraphs

    def counting(html: str, url: str) -> list[str]:
        asked.append(url)
        return real(html, url)

    monkeypatch.setattr(article, "library_paragraphs", counting)
    return asked


def test_generic_asks_no_second_opinion_for_a_body_that_fills_its_container(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _count_second_opinions(monkeypatch)
    article = extract_article(
        page(f"<h1>H</h1><div class='article-body'><p>{LONG}</p><p>More.</p></div>"), "https://example.org/a"
    )
    assert (asked, article.paragraphs) == ([], (LONG.strip(), "More."))
    assert float(article.signals["coverage"]) > 0.95


def test_generic_asks_a_second_opinion_when_the_container_holds_text_outside_its_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A results table beside one short paragraph: most of the container is not in our blocks."""
    asked = _count_second_opinions(monkeypatch)
    rows = "".join(f"<tr><td>{n}</td><td>Driver number {n}</td><td>{5000 - n * 7} points</td></tr>" for n in range(30))
    body = f"<h1>Standings</h1><div class='article-body'><p>{LONG}</p><table>{rows}</table></div>"
    article = extract_article(page(body), "https://example.org/standings")
    assert asked == ["https://example.org/standings"]
    assert float(article.signals["coverage"]) < 0.6
    assert any("Driver number 29" in paragraph for paragraph in article.paragraphs)
    assert article.signals["body_from"] == "trafilatura"


def test_generic_passes_over_comment_and_sidebar_candidates() -> None:
    """An <article> that is a reader's comment, or sits in an <aside>, is not the article."""
    comment = f"<article class='comment-body'><p>{LONG} A reader's comment.</p></article>"
    aside = f"<aside><article><p>{LONG} A teaser of another story.</p></article></aside>"
    story = f"<div class='story'><p>{LONG}</p><p>The story itself.</p></div>"
    article = extract_article(page(f"<h1>H</h1>{aside}{comment}{story}"), "https://example.org/a")
    assert article.paragraphs == (LONG.strip(), "The story itself.")


def test_generic_reads_camel_case_class_names_word_by_word() -> None:
    """``commentsDiv`` names comments as ``comments-div`` does: the densest element there is no body."""
    comments = "".join(f"<p>{LONG} Reader {n} wrote this.</p>" for n in range(3))
    story = f"<div class='story'><p>{LONG}</p><p>The story itself.</p></div>"
    article = extract_article(
        page(f"<h1>H</h1>{story}<div id='jc_commentsDiv'>{comments}</div>"), "https://example.org/a"
    )
    assert article.paragraphs == (LONG.strip(), "The story itself.")


def test_generic_finds_the_body_in_a_page_wrapped_in_one_form() -> None:
    """ASP.NET pages put the whole page in a <form>: that is no reason to pass everything over."""
    html = page(f"<form id='aspnetForm'><h1>H</h1><article><p>{LONG}</p><p>Second.</p></article></form>")
    assert extract_article(html, "https://example.org/a").signals["container"] == "article"


def test_embedded_tweets_are_body_for_the_generic_profile_only() -> None:
    """A quoted tweet is part of what a story reports (the benchmark's bodies keep them); TASS's
    profile, whose pages embed tweets as illustrations, leaves them out (see its fixtures)."""
    tweet = "<blockquote class='twitter-tweet'><p>What the minister wrote on Twitter today.</p></blockquote>"
    article = extract_article(page(f"<h1>H</h1><article><p>{LONG}</p>{tweet}</article>"), "https://example.org/a")
    assert article.paragraphs == (LONG.strip(), "What the minister wrote on Twitter today.")


def test_generic_keeps_the_own_text_of_a_block_that_holds_blocks() -> None:
    """A list item that opens a nested list, and a quote whose attribution follows its paragraph:
    their own text is a line of its own, in page order, between the inner blocks' lines."""
    body = (
        f"<article><h1>H</h1><p>{LONG}</p><ul><li>In progress:<ul><li>The first bug being fixed.</li>"
        "<li>The second bug being fixed.</li></ul></li></ul>"
        "<blockquote><p>What was said on the day.</p>A spokesman, on Monday</blockquote></article>"
    )
    article = extract_article(page(body), "https://example.org/a")
    assert article.paragraphs == (
        LONG.strip(),
        "In progress:",
        "The first bug being fixed.",
        "The second bug being fixed.",
        "What was said on the day.",
        "A spokesman, on Monday",
    )


def test_generic_keeps_one_link_items_of_a_list_of_prose_but_not_a_menu() -> None:
    """An item that is one link is body in a list whose items are sentences; a list of links only
    (a menu) and a bar of short labels (a breadcrumb) stay out."""
    prose = (
        "<ul><li><a href='/review'>Our year in review</a></li><li>We have just landed a fix that stops an "
        "update from starting while another copy of the program is running.</li></ul>"
    )
    menu = "<ul><li><a href='/'>Home</a></li><li><a href='/world'>World news and more</a></li></ul>"
    labels = "<ul><li>Wednesday 20 Nov</li><li><a href='/paper'>E-Paper</a></li></ul>"
    article = extract_article(
        page(f"<article><h1>H</h1><p>{LONG}</p>{prose}{menu}{labels}</article>"), "https://example.org/a"
    )
    assert article.paragraphs == (
        LONG.strip(),
        "Our year in review",
        "We have just landed a fix that stops an update from starting while another copy of the program is running.",
        "Wednesday 20 Nov",
    )


def test_generic_definition_lists_descriptions_are_body() -> None:
    """A ``<dd>`` is a line of the text (indented proofs and formulas are written so); the term
    it describes, a label, is not."""
    body = f"<article><h1>H</h1><p>{LONG}</p><dl><dt>Term</dt><dd>Proof: by the definition above.</dd></dl></article>"
    article = extract_article(page(body), "https://example.org/a")
    assert article.paragraphs == (LONG.strip(), "Proof: by the definition above.")


def test_generic_keeps_a_quoted_tweet_inside_a_share_or_embed_wrapper() -> None:
    """The wrapper's class names social media (a ``remove`` selector), the tweet inside is kept;
    the wrapper's other text goes with the rest of what is never body."""
    tweet = (
        "<div class='social-media-embed'><blockquote class='twitter-tweet'><p>What the governor wrote.</p>"
        "— The Governor (@governor) November 18, 2019</blockquote></div>"
    )
    share = "<div class='social-share'><p>Share this on every network you know.</p></div>"
    article = extract_article(
        page(f"<h1>H</h1><article><p>{LONG}</p>{tweet}{share}</article>"), "https://example.org/a"
    )
    assert article.paragraphs == (
        LONG.strip(),
        "What the governor wrote.",
        "— The Governor (@governor) November 18, 2019",
    )


def test_generic_drops_a_heading_whose_section_holds_no_body() -> None:
    """The title of a list of links, and a heading with nothing after it, are not body; a heading
    whose subsections hold text is."""
    links = "".join(f"<li><h4><a href='/s/{n}'>A story people read today, number {n}</a></h4></li>" for n in range(3))
    body = (
        f"<article><h1>H</h1><p>{LONG}</p><h2>Background</h2><h3>The first years</h3><p>Text of the section.</p>"
        f"<h2>Most Popular Articles</h2><ul>{links}</ul><h2>Comments</h2></article>"
    )
    article = extract_article(page(body), "https://example.org/a")
    assert article.paragraphs == (LONG.strip(), "Background", "The first years", "Text of the section.")


def test_generic_drops_teaser_cards_of_other_stories() -> None:
    """A small element holding a linked headline is a teaser of another page: its excerpt and date
    are no body, though they are not links; a paragraph beside an unlinked heading is body."""
    card = (
        "<div class='row-desc'><a href='/other'><h5>Another story of the site</h5></a>"
        "<p>What the other story is about, in one line.</p><p>November 16, 2016</p></div>"
    )
    section = "<div><h3>Background</h3><p>The section's own text.</p></div>"
    article = extract_article(
        page(f"<h1>H</h1><article><p>{LONG}</p>{section}{card}{card}</article>"), "https://example.org/a"
    )
    assert article.paragraphs == (LONG.strip(), "Background", "The section's own text.")


def test_generic_headline_outside_the_container_must_agree_with_the_page_title() -> None:
    """A logo or a section's name in an ``<h1>`` outside the article is not the headline when it
    shares no word with og:title: og:title is. A headline inside the article stands as it is."""
    head = '<meta property="og:title" content="Babies who eat peanuts early may avoid allergy">'
    logo = "<header><h1><a href='/'>Health Center</a></h1></header>"
    outside = extract_article(page(f"{logo}<article><p>{LONG}</p></article>", head=head), "https://example.org/a")
    inside = extract_article(
        page(f"{logo}<article><h1>A study of 600 infants</h1><p>{LONG}</p></article>", head=head),
        "https://example.org/a",
    )
    assert (outside.title, inside.title) == ("Babies who eat peanuts early may avoid allergy", "A study of 600 infants")


def test_generic_drops_the_titles_of_related_and_popular_boxes() -> None:
    """A short line naming a box of other stories is boilerplate; a sentence that starts alike is not."""
    lines = ["related news", "You may also like", "Other People Are Reading", "Most popular this week"]
    sentence = "More people read the news on their phones than ever, the survey found."
    boxes = "".join(f"<p>{line}</p>" for line in lines)
    article = extract_article(
        page(f"<article><h1>H</h1><p>{LONG}</p>{boxes}<p>{sentence}</p></article>"), "https://example.org/a"
    )
    assert article.paragraphs == (LONG.strip(), sentence)


NOT_FREE = '<script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree": false}</script>'
TEASER = "<p>The first two paragraphs of a story that continues behind the paywall for subscribers.</p>" * 3


@pytest.mark.parametrize(
    ("head", "extra"),
    [
        (NOT_FREE, ""),
        ("", "<div class='article-paywall'><p>Subscribe to continue reading.</p></div>"),
        ("", "<div class='gate'><p>Already a subscriber? Log in</p></div>"),
    ],
)
def test_paywall_teaser_is_archived_flagged(head: str, extra: str) -> None:
    """What the public could read is archived, and the record says it is a teaser."""
    html = page(f"<h1>Headline</h1><article>{TEASER}</article>{extra}", head=head)
    article = extract_article(html, "https://example.org/a")
    assert article.teaser is True
    assert (
        article.paragraphs
        == ("The first two paragraphs of a story that continues behind the paywall for subscribers.",) * 3
    )


def test_not_free_page_with_the_whole_story_is_an_article() -> None:
    """A subscriber's page (or one the site serves whole) keeps its isAccessibleForFree: false."""
    html = page(f"<h1>Headline</h1><article>{TEASER}<p>{LONG * 4}</p></article>", head=NOT_FREE)
    article = extract_article(html, "https://example.org/a")
    assert len(article.paragraphs) == 4 and article.teaser is False


def test_only_boilerplate() -> None:
    body = "<article><h1>Headline</h1><p>Share this story</p><p>Advertisement</p><p>Read more</p></article>"
    with pytest.raises(ExtractError) as caught:
        extract_article(page(body), "https://example.org/a")
    assert caught.value.reason == "boilerplate"


def test_text_with_lone_surrogates_extracts_with_replacement_characters() -> None:
    """A caller's str decoded with "surrogateescape" is no reason for a crash outside the error tree."""
    html = page(f"<article><h1>H</h1><p>{LONG} Bad byte: \udcff.</p></article>")
    assert extract_article(html, "https://example.org/a").paragraphs[0].endswith("Bad byte: \ufffd.")


# --- hostile pages: every one gives an article or an ExtractError --------------------------------

STORY = f"<article><h1>Headline</h1><p>{LONG}</p></article>"


def ld_json(script: str) -> str:
    return f'<script type="application/ld+json">{script}</script>'


@pytest.mark.parametrize("graph", ["5", '"text"', "null", "true", "[5, null, []]"])
def test_json_ld_graph_of_any_type(graph: str) -> None:
    article = extract_article(page(STORY, head=ld_json(f'{{"@graph": {graph}}}')), "https://example.org/a")
    assert (article.title, article.published) == ("Headline", None)


def test_json_ld_graph_that_is_one_object_is_read() -> None:
    head = ld_json('{"@graph": {"@type": "NewsArticle", "datePublished": "2020-08-12T21:26:00Z"}}')
    assert extract_article(page(STORY, head=head), "https://example.org/a").published == datetime(
        2020, 8, 12, 21, 26, tzinfo=UTC
    )


def test_json_ld_nested_50000_levels_deep() -> None:
    head = ld_json("[" * 50_000 + "]" * 50_000) + ld_json('{"datePublished": "2020-08-12T21:26:00Z"}')
    article = extract_article(page(STORY, head=head), "https://example.org/a")
    assert (article.published, article.published_via) == (datetime(2020, 8, 12, 21, 26, tzinfo=UTC), "page:json-ld")


def test_a_json_ld_list_of_100000_items_is_read_in_linear_time() -> None:
    head = ld_json("[" + "{}," * 100_000 + '{"datePublished": "2020-08-12T21:26:00Z"}]')
    assert extract_article(page(STORY, head=head), "https://example.org/a").published is not None


@pytest.mark.parametrize(
    "value",
    [
        '"0000-01-01T00:00:00Z"',
        '"0001-01-01T00:00:00+05:00"',
        '"9999-12-31T23:59:00-05:00"',
        '"99999-01-01"',
        "1e30",
        "true",
        "{}",
        '[1, null, {}, "x"]',
        '"2020-08-12T21:26:00"',
        '"2020-13-45T00:00Z"',
        '"\\u0000"',
    ],
)
def test_absurd_json_ld_dates_are_no_date(value: str) -> None:
    head = ld_json(f'{{"@type": "NewsArticle", "datePublished": {value}}}')
    assert extract_article(page(STORY, head=head), "https://example.org/a").published is None


@pytest.mark.parametrize("value", ["0001-01-01T00:00+05:00", "99999-01-01", "\x00", "", "2020-W60", "T" * 10_000])
def test_absurd_time_and_meta_values_are_no_date(value: str) -> None:
    head = f'<meta property="article:published_time" content="{value}">'
    time_element = f'<time itemprop="datePublished" datetime="{value}">x</time>'
    body = f"<article><h1>Headline</h1>{time_element}<p>{LONG}</p></article>"
    assert extract_article(page(body, head=head), "https://example.org/a").published is None


@pytest.mark.parametrize("unix", ["1e30", "99999999999999", "-99999999999999", "1" * 5000, "", "253402300800"])
def test_absurd_unix_times_are_no_date(unix: str) -> None:
    html = read_page(FIXTURES / "tass" / "politics-1189047.html").replace('time="1597267560"', f'time="{unix}"')
    article = extract_article(html, TASS_URL)
    assert article.published_via != "page:dateformat"
    if article.published is not None:  # JSON-LD then; any time kept converts to any zone
        article.published.astimezone(ZoneInfo("Pacific/Kiritimati"))


@pytest.mark.parametrize(
    "href",
    [
        "http://[::1/x",
        f"http://{'a' * 64}.example.org/x",
        "http://example.org:99999/x",
        "http://exa mple.org/",
        "http://\udcff.example.org/",
        "https://user:pass@example.org/a/../canonical#frag",
        "//[",
    ],
)
def test_odd_canonical_links_and_og_urls_are_not_used_when_unusable(href: str) -> None:
    for head in (f'<link rel="canonical" href="{href}">', f'<meta property="og:url" content="{href}">'):
        article = extract_article(page(STORY, head=head), "https://example.org/a?utm_source=rss")
        assert article.url in ("https://example.org/a", "https://example.org/canonical")


def test_credentials_never_reach_the_article_url() -> None:
    head = '<link rel="canonical" href="https://user:pass@example.org/story">'
    assert extract_article(page(STORY, head=head), "https://u:p@example.org/a").url == "https://example.org/story"
    assert extract_article(page(STORY), "https://u:p@example.org/a").url == "https://example.org/a"


def test_base_element_with_odd_values_is_harmless() -> None:
    for base in ("http://[::1", "javascript:alert(1)", "\x00", "x" * 100_000):
        assert extract_article(page(STORY, head=f'<base href="{base}">'), "https://example.org/a").title == "Headline"


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/x",
        f"http://{'a' * 64}.example.org/a",
        "https://example.org/\ud800",
        "http://example.org:99999/",
        "http://",
    ],
)
def test_an_unusable_page_url_is_an_extract_error(url: str) -> None:
    with pytest.raises(ExtractError) as caught:
        extract_article(page(STORY), url)
    assert caught.value.reason == "bad_url"
    assert str(caught.value).startswith("the page's own URL is unusable: invalid URL ")
    str(caught.value).encode("utf-8")


def test_control_characters_and_their_references_are_no_crash_and_no_text() -> None:
    """lxml parses them but refuses to set text holding them, as removing an element next to them does."""
    body = (
        f"<article><h1>Head\x07line</h1><p>{LONG}<br>\x08after</p>\x01<script>x</script>\x02"
        "<p>one&#8;two\x0b three</p><figure>f</figure>\x0c</article>"
    )
    article = extract_article(page(body), "https://example.org/a")
    assert article.title == "Headline"
    assert article.paragraphs == (f"{LONG.strip()} after", "onetwo three")


def test_nul_bytes_and_lone_surrogates_anywhere() -> None:
    body = f"<article><h1>Head\x00line \ud800</h1><p>{LONG}\x00 \udfff</p></article>"
    article = extract_article(page(body, head='<meta property="og:url" content="\ud800">'), "https://example.org/a")
    for text in (article.title, *article.paragraphs, article.url):
        text.encode("utf-8")


def test_a_50_kb_headline_is_cut_at_a_word_boundary_and_says_so() -> None:
    headline = "Words of a very long headline " * 1_700  # 51 KB
    article = extract_article(page(f"<article><h1>{headline}</h1><p>{LONG}</p></article>"), "https://example.org/a")
    whole = " ".join(headline.split())
    kept = article.title.removesuffix("…")
    assert len(article.title) <= 1000 and article.title.endswith("…")
    assert whole.startswith(kept + " ") and len(kept) > 900  # ends with a whole word
    assert article.signals["title_cut"] == len(whole)
    assert "title_cut" not in extract_article(page(STORY), "https://example.org/a").signals


def test_a_huge_title_element_is_cut_too() -> None:
    article = extract_article(page(f"<article><p>{LONG}</p></article>", title="x" * 50_000), "https://example.org/a")
    assert article.title == "x" * 999 + "…"


def test_nesting_deeper_than_the_parser_keeps_is_an_extract_error() -> None:
    """libxml2 stops building the tree 255 levels down: what is below is not on the page."""
    with pytest.raises(ExtractError) as caught:
        extract_article(page("<div>" * 100_000 + STORY), "https://example.org/a")
    assert caught.value.reason == "no_body"
    assert extract_article(page("<div>" * 200 + STORY), "https://example.org/a").title == "Headline"


def test_a_page_of_many_paragraphs_and_list_items_extracts_in_linear_time() -> None:
    """libxml2 merges the node-sets of an XPath union (``p | li``) in quadratic time; 200 levels of
    nesting made finding the innermost blocks quadratic too."""
    blocks = "<p>One paragraph of the story.</p><li>One item of a list.</li>" * 40_000
    html = page(f"<article><h1>Headline</h1>{'<div>' * 200}{blocks}</article>")
    article = extract_article(html, "https://example.org/a")  # minutes before; its time: benchmarks/hostile.py
    assert article.paragraphs[:2] == ("One paragraph of the story.", "One item of a list.")
    assert len(article.paragraphs) == 80_000


def test_selector_groups_give_page_order_on_large_and_small_scopes() -> None:
    for pairs in (3, 5_000):
        root = dom.parse(page("<p>a</p><li>b</li><p>c</p>" * pairs))
        assert [el.text for el in dom.select(root, "li, p")] == ["a", "b", "c"] * pairs
        assert [el.text for el in dom.select(root, "p, p")] == ["a", "c"] * pairs


CLI_PAGES = {
    "graph-5": page(STORY, head=ld_json('{"@graph": 5}')),
    "json-50000-deep": page(STORY, head=ld_json("[" * 50_000 + "]" * 50_000)),
    "canonical-bracket": page(STORY, head='<link rel="canonical" href="http://[::1/x">'),
    "canonical-64-label": page(STORY, head=f'<link rel="canonical" href="http://{"a" * 64}.example.org/x">'),
    "control-characters": page(f"<article><h1>Headline</h1><p>{LONG}</p>\x01<script></script>\x02</article>"),
}


@pytest.mark.parametrize("name", sorted(CLI_PAGES))
def test_crashing_pages_through_the_real_command_line(tmp_path: Path, name: str) -> None:
    saved = tmp_path / "page.html"
    saved.write_text(CLI_PAGES[name], encoding="utf-8")
    result = run_cli("article", "--html", str(saved), "--url", "https://example.org/a", "--timezone", "UTC")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("\nHEADLINE\n") and result.stdout.endswith("<https://example.org/a>")


def test_a_page_rendered_by_script_gives_its_json_ld_article_body() -> None:
    """The HTML holds only an app shell; the article is in the page's data (JSON-LD articleBody)."""
    data = {"@type": "NewsArticle", "headline": "Floods", "articleBody": f"{LONG}\nA second paragraph of the story."}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    article = extract_article(page("<h1>Floods</h1><div id='root'></div>", head=head), "https://example.org/a")
    assert article.paragraphs == (LONG.strip(), "A second paragraph of the story.")
    assert article.signals["body_from"] == "json-ld"
