"""aggregator.feeds: one fixture per behaviour in tests/fixtures/feeds (each says what it checks
in a comment at its top); bodies that cannot carry a comment (empty, JSON) are written inline."""

from __future__ import annotations

import hashlib
import socket
import tracemalloc
import urllib.request
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.errors import FeedError
from aggregator.feeds import entries, structure
from aggregator.feeds import parse as feeds
from aggregator.feeds.parse import parse_feed
from aggregator.models import Entry, ParsedFeed
from aggregator.urls import canonical_url

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
URL = "https://news.example.ru/rss/feed.xml"
MSK = timezone(timedelta(hours=3))


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, url: str = URL, headers: dict[str, str] | None = None) -> ParsedFeed:
    return parse_feed(load(name), url=url, headers=headers)


def rows(feed: ParsedFeed) -> list[tuple[str | None, ...]]:
    """Entries as plain tuples with ``published`` in ISO form: datetimes compare equal
    across offsets, the ISO text also pins the offset the feed wrote."""
    return [(e.guid, e.link, e.title, e.published.isoformat() if e.published else None) for e in feed.entries]


def refused(content: bytes, url: str = URL, headers: dict[str, str] | None = None) -> FeedError:
    with pytest.raises(FeedError) as info:
        parse_feed(content, url=url, headers=headers)
    return info.value


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """feedparser must never fetch anything (no DTDs, no entities, no URLs)."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(urllib.request, "urlopen", forbidden)


# --- formats ----------------------------------------------------------------------------


def test_tass_rss20_whole_feed() -> None:
    feed = parse("tass-rss-v2.xml", url="https://tass.com/rss/v2.xml")
    assert feed == ParsedFeed(
        title="TASS",
        entries=(
            Entry(
                guid="https://tass.com/politics/1189047",
                link="https://tass.com/politics/1189047?utm_source=rss&utm_medium=feed",
                title="Presidents of Russia and Azerbaijan discuss regional issues in phone call",
                published=datetime(2020, 8, 12, 21, 26, tzinfo=UTC),
            ),
        ),
        ttl_minutes=None,
        warning=None,
    )
    assert feed.entries[0].published is not None
    assert feed.entries[0].published.isoformat() == "2020-08-12T21:26:00+00:00"


def test_bbc_real_feed() -> None:
    feed = parse("bbc-news-home-2021-10-17.rss.xml", url="https://feeds.bbci.co.uk/news/rss.xml")
    assert (feed.title, len(feed.entries), feed.ttl_minutes, feed.warning) == (
        "BBC News - Home",
        69,
        15,
        None,
    )
    assert rows(feed)[0] == (
        "https://www.bbc.co.uk/news/uk-58943184",
        "https://www.bbc.co.uk/news/uk-58943184?at_medium=RSS&at_campaign=KARANGA",
        "Sir David Amess: MP murder suspect held under Terrorism Act",
        "2021-10-17T12:07:17+00:00",
    )
    # isPermaLink="false": the guid is the guid, the link keeps BBC's tracking parameters
    assert all(e.guid and e.link == f"{e.guid}?at_medium=RSS&at_campaign=KARANGA" for e in feed.entries)
    assert all(e.published and e.published.utcoffset() == timedelta(0) for e in feed.entries)
    assert len({e.key for e in feed.entries}) == 69


def test_rss091_with_netscape_dtd_not_fetched() -> None:
    feed = parse("rss091.xml")
    assert feed == ParsedFeed(
        title="Example 0.91",
        entries=(Entry(None, "http://www.example.com/stories/1", "First story", None),),
    )


def test_rss090() -> None:
    assert parse("rss090.xml") == ParsedFeed(
        title="Example 0.90",
        entries=(Entry(None, "http://www.example.com/stories/old", "Old story"),),
    )


def test_rss10_rdf() -> None:
    feed = parse("rss10-rdf.xml")
    assert (feed.title, feed.warning) == ("Example RDF", None)
    assert rows(feed) == [
        (
            "https://news.example.ru/a/1",
            "https://news.example.ru/a/1",
            "RDF story",
            "2021-10-17T15:07:17+03:00",
        )
    ]


def test_atom10_published_wins_and_keeps_offset() -> None:
    feed = parse("atom10-published.xml")
    assert (feed.title, feed.warning) == ("Example Atom", None)
    assert rows(feed) == [
        (
            "urn:example:entry:1",
            "https://news.example.ru/a/1",
            "Atom story",
            "2021-10-17T15:07:17+03:00",
        )
    ]
    assert feed.entries[0].published == datetime(2021, 10, 17, 15, 7, 17, tzinfo=MSK)


def test_atom10_updated_only() -> None:
    assert rows(parse("atom10-updated-only.xml")) == [
        (
            "urn:example:entry:2",
            "https://news.example.ru/a/2",
            "Updated-only story",
            "2021-10-18T09:00:00+03:00",
        )
    ]


def test_atom03() -> None:
    feed = parse("atom03.xml")
    assert feed.title == "Example Atom 0.3"
    assert rows(feed) == [
        (
            "tag:news.example.ru,2004:1",
            "https://news.example.ru/2004/1",
            "Atom 0.3 story",
            "2004-01-02T09:30:00-05:00",
        )
    ]


# --- links, guids, duplicates -------------------------------------------------------------


def test_relative_links_resolved_against_feed_url() -> None:
    assert rows(parse("rss20-relative-links.xml")) == [
        ("12345", "https://news.example.ru/world/1", "Path", None),
        (None, "https://news.example.ru/rss/world/2?x=1", "Relative", None),
        (None, "https://cdn.example.ru/world/3", "Scheme-relative", None),
    ]


def test_content_location_header_is_not_the_base() -> None:
    headers = {"content-location": "https://elsewhere.example.com/x/"}
    assert parse("rss20-relative-links.xml", headers=headers) == parse("rss20-relative-links.xml")


def test_non_http_links_become_none() -> None:
    feed = parse("rss20-javascript-link.xml")
    assert feed.entries == (
        Entry("js-1", None, "Script"),
        Entry("mail-1", None, "Mail"),
        Entry("empty-1", None, "Empty"),
    )
    assert feed.warning is None


def test_entries_without_link_or_guid_are_skipped_and_counted() -> None:
    feed = parse("rss20-no-link-no-guid.xml")
    assert feed.entries == (Entry(None, "https://news.example.ru/good", "Good"),)
    assert feed.warning == "2 entries without link or guid skipped"


def test_duplicates_collapse_to_first_occurrence() -> None:
    feed = parse("rss20-duplicate-guids.xml")
    assert feed.entries == (
        Entry("a-1", "https://news.example.ru/a/1", "First copy"),
        Entry(None, "https://news.example.ru/b/2", "No guid"),
    )
    assert feed.warning == "2 entries with a repeated guid or link collapsed"


def test_permalink_guid_is_a_link_only_when_absolute() -> None:
    assert parse("rss20-guid-permalink.xml").entries == (
        Entry("https://news.example.ru/a/1", "https://news.example.ru/a/1", "URL guid"),
        Entry("12345", None, "Number guid"),
    )


# --- dates, ttl, encodings --------------------------------------------------------------


def test_dates_keep_written_offset_naive_is_utc_unreadable_is_none() -> None:
    published = {e.guid: e.published.isoformat() if e.published else None for e in parse("rss20-dates.xml").entries}
    assert published == {
        "est": "2020-08-12T21:26:00-05:00",
        "naive": "2020-08-12T21:26:00+00:00",
        "minus-zero": "2020-08-12T21:26:00+00:00",
        "iso": "2020-08-12T21:26:00+05:30",
        "msk": None,
        "garbage": None,
        "old": "1970-01-01T00:00:00+00:00",
        "future": "2099-12-31T23:59:59+14:00",
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40))
def test_any_date_text_gives_aware_datetime_or_none(text: str) -> None:
    body = (
        '<rss version="2.0"><channel><title>T</title><item><guid>g</guid>'
        f"<pubDate>{escape(text)}</pubDate></item></channel></rss>"
    ).encode()
    published = parse_feed(body, url=URL).entries[0].published
    assert published is None or published.tzinfo is not None


def test_ttl() -> None:
    assert parse("rss20-ttl.xml") == ParsedFeed(title="TTL", entries=(), ttl_minutes=60)


def test_ttl_not_positive_is_ignored() -> None:
    assert parse("rss20-ttl-invalid.xml").ttl_minutes is None


@pytest.mark.parametrize("header", ["content-type", "Content-Type"])
def test_cp1251_decoded_by_header_charset(header: str) -> None:
    feed = parse("rss20-cp1251-header-charset.xml", headers={header: "application/rss+xml; charset=windows-1251"})
    assert feed == ParsedFeed(
        title="Новости",
        entries=(
            Entry(
                "https://news.example.ru/politics/1",
                "https://news.example.ru/politics/1",
                "Президент провёл совещание",
                datetime(2021, 10, 18, 10, 0, tzinfo=MSK),
            ),
        ),
    )


def test_invalid_utf8_replaced_not_reread_as_windows_1252() -> None:
    feed = parse("rss20-invalid-utf8.xml")
    assert feed == ParsedFeed(
        title="Новости",
        entries=(
            Entry(
                "bad-1",
                "https://news.example.ru/a/1",
                "Москва и Баку обсудили ситуаци\ufffd",
            ),
        ),
        warning="2 invalid UTF-8 byte sequence(s) replaced with U+FFFD",
    )


def test_nul_bytes_do_not_crash() -> None:
    feed = parse("rss20-nul-bytes.xml")
    assert (feed.title, feed.entries) == (
        "Nul feed",
        (Entry("nul-1", "https://news.example.ru/a/1", "Null title"),),
    )
    assert feed.warning == "SAXParseException: <unknown>:5:14: not well-formed (invalid token)"


# --- malformed and empty feeds ----------------------------------------------------------


def test_malformed_feed_with_entries_is_kept_with_warning() -> None:
    feed = parse("rss20-malformed.xml")
    assert feed == ParsedFeed(
        title="Broken & proud",
        entries=(
            Entry(
                "https://news.example.ru/a/1",
                "https://news.example.ru/a/1",
                "Tom & Jerry",
            ),
            Entry("https://news.example.ru/a/2", "https://news.example.ru/a/2", "Second"),
        ),
        warning="SAXParseException: <unknown>:5:19: not well-formed (invalid token)",
    )


def test_empty_channel_is_an_empty_feed() -> None:
    assert parse("rss20-empty-channel.xml") == ParsedFeed(title="Quiet day", entries=())


def test_empty_untitled_channel_served_as_html_is_an_empty_feed() -> None:
    feed = parse("rss20-empty-channel-as-html.xml", headers={"content-type": "text/html; charset=utf-8"})
    assert feed == ParsedFeed(
        title=None,
        entries=(),
        warning="NonXMLContentType: text/html; charset=utf-8 is not an XML media type",
    )


def test_truncated_feed_without_entries_or_title_is_an_error() -> None:
    error = refused(load("rss20-truncated.xml"))
    assert (error.reason, str(error)) == (
        "not_a_feed",
        f"{URL}: not a feed: unparseable (SAXParseException: <unknown>:5:4: unclosed token)",
    )


def test_large_feed() -> None:
    items = "".join(f"<item><guid>g{i}</guid><link>/n/{i}</link></item>" for i in range(10_000))
    body = f'<rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()
    feed = parse_feed(body, url=URL)
    assert len(feed.entries) == 10_000
    assert (feed.entries[0], feed.entries[-1], feed.warning) == (
        Entry("g0", "https://news.example.ru/n/0"),
        Entry("g9999", "https://news.example.ru/n/9999"),
        None,
    )


# --- not a feed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("html-page.html", "not a feed: HTML page “404 Not Found”"),
        ("cloudflare-challenge.html", "not a feed: anti-bot challenge page “Just a moment...”"),
        ("js-redirect.html", "not a feed: redirect page"),
    ],
)
def test_html_pages_are_feed_errors(name: str, message: str) -> None:
    error = refused(load(name), url="https://tass.com/rss/v2.xml")
    assert (error.reason, str(error)) == ("not_a_feed", f"https://tass.com/rss/v2.xml: {message}")


def test_html_served_as_xml_is_still_a_feed_error() -> None:
    error = refused(load("html-page.html"), headers={"content-type": "application/rss+xml"})
    assert str(error) == f"{URL}: not a feed: HTML page “404 Not Found”"


@pytest.mark.parametrize("body", [b"", b" \r\n\t ", b"\xef\xbb\xbf"])
def test_empty_body(body: bytes) -> None:
    error = refused(body)
    assert (error.reason, str(error)) == ("not_a_feed", f"{URL}: not a feed: empty body")


def test_json_error_body() -> None:
    error = refused(b'{"error": "Not Found", "status": 404}', headers={"content-type": "application/json"})
    assert (error.reason, str(error)) == ("not_a_feed", f"{URL}: not a feed: JSON document")


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "no XML markup"),
        (b"Service Temporarily Unavailable", "no XML markup"),
        (b'<?xml version="1.0"?><error><code>404</code></error>', "root element <error>"),
    ],
)
def test_garbage_and_other_xml(body: bytes, found: str) -> None:
    assert str(refused(body)) == f"{URL}: not a feed: no RSS or Atom document ({found})"


def test_rss_root_without_channel() -> None:
    assert str(refused(b'<?xml version="1.0"?><rss version="2.0"/>')) == f"{URL}: not a feed: <rss> without a channel"


def test_body_that_is_a_file_path_is_not_opened(tmp_path: Path) -> None:
    # feedparser.parse(bytes) would open() a body that names an existing file
    path = tmp_path / "feed.xml"
    path.write_bytes(load("tass-rss-v2.xml"))
    error = refused(str(path).encode())
    assert str(error) == f"{URL}: not a feed: no RSS or Atom document (no XML markup)"


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_give_a_feed_or_a_feed_error(body: bytes) -> None:
    try:
        parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel>' + body, url=URL)
        parse_feed(body, url=URL)
    except FeedError:
        pass


# --- hostile XML ------------------------------------------------------------------------

UNSAFE = (
    f"{URL}: refused: the document declares XML entities (<!DOCTYPE> with <!ENTITY>), which can"
    " expand without bound or read local files"
)


def _refused_unexpanded(body: bytes, headers: dict[str, str] | None = None) -> FeedError:
    """Refused before any entity is expanded: the parse holds a small multiple of the document."""
    tracemalloc.start()
    try:
        error = refused(body, headers=headers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(body) + 4 * 1024 * 1024, peak
    return error


def test_billion_laughs_refused() -> None:
    error = _refused_unexpanded(load("billion-laughs.xml"))
    assert (error.reason, str(error)) == ("unsafe_xml", UNSAFE)


def test_xxe_refused_and_file_not_read() -> None:
    error = _refused_unexpanded(load("xxe.xml"))
    assert (error.reason, str(error)) == ("unsafe_xml", UNSAFE)


def _laughs(separator: str) -> str:
    entities = ['<!ENTITY a0 "lol">'] + [f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)]
    return (
        f'<?xml version="1.0"?>{separator}<!DOCTYPE rss [{separator.join(entities)}]>{separator}'
        '<rss version="2.0"><channel><title>&a9;</title><item><title>&a9;</title>'
        "<guid>g</guid></item></channel></rss>"
    )


def _utf7(text: str) -> bytes:
    """UTF-7 with every "<" written as "+ADw-", so no "<!" is visible in the bytes."""
    return text.encode("utf-7").replace(b"<", b"+ADw-")


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        # on one line: feedparser's line-anchored stripping misses it, expat gets the DTD
        pytest.param(_laughs("").encode(), None, id="one-line"),
        # UTF-16 (with and without BOM): the markup is not visible as ASCII bytes
        pytest.param(
            _laughs("\n").replace('"1.0"?>', '"1.0" encoding="utf-16"?>', 1).encode("utf-16"),
            None,
            id="utf-16",
        ),
        pytest.param(_laughs("\n").encode("utf-16-be"), None, id="utf-16-be-no-bom"),
        # EBCDIC, which feedparser sniffs from "<?xm"
        pytest.param(
            _laughs("\n").replace('"1.0"?>', '"1.0" encoding="cp037"?>', 1).encode("cp037"), None, id="ebcdic"
        ),
        # only the Content-Type charset says how to read it
        pytest.param(_utf7(_laughs("\n")), {"content-type": "application/xml; charset=utf-7"}, id="utf-7"),
        # one large literal entity repeated: feedparser keeps it as "safe" and its fallback
        # parser expands it without limit (160 kB in, GBs out, without this check)
        pytest.param(
            b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * 100_000 + b'">\n]>\n'
            b'<rss version="2.0"><channel><title>T</title><item><title>'
            + b"&a;" * 20_000
            + b"</title><guid>g</guid></item></channel></rss>",
            None,
            id="quadratic",
        ),
    ],
)
def test_entity_declarations_refused_in_any_form(body: bytes, headers: dict[str, str] | None) -> None:
    error = _refused_unexpanded(body, headers=headers)
    assert (error.reason, str(error)) == ("unsafe_xml", UNSAFE)


# --- documents that would cost more than a small multiple of their size -----------------

NESTED_HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><guid>g</guid>'


def _nested_feed(size: int) -> bytes:
    levels = (size - len(NESTED_HEAD)) // 7
    return NESTED_HEAD + b"<a>" * levels + b"</a>" * levels + b"</item></channel></rss>"


def _traced_peak(body: bytes) -> tuple[int, FeedError | ParsedFeed]:
    tracemalloc.start()
    try:
        outcome: FeedError | ParsedFeed = parse_feed(body, url=URL)
    except FeedError as error:
        outcome = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, outcome


def test_a_9_mb_deeply_nested_feed_is_refused_within_bounded_memory() -> None:
    body = _nested_feed(9 * 1024 * 1024)
    peak, outcome = _traced_peak(body)
    assert isinstance(outcome, FeedError) and outcome.reason == "too_complex"
    assert str(outcome) == (
        f"{URL}: refused: elements nested deeper than 256 levels (the limit libxml2 sets), which would"
        " make the parser hold state for every level"
    )
    assert peak < 3 * len(body)  # it was about 50 times the size, and minutes of CPU


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(NESTED_HEAD + b"<a>" * 300, id="unclosed"),
        pytest.param(
            NESTED_HEAD + b"<description>" + b"<b>" * 300 + b"</b>" * 300 + b"</description>", id="inside-description"
        ),
        pytest.param(NESTED_HEAD + b"<a></b>" * 300, id="mismatched-end-tags"),
        pytest.param(NESTED_HEAD + b"<x>&bogus;</x>" + b"<a>" * 300 + b"</a>" * 300, id="loose-parser"),
        pytest.param(
            b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>g</id><content type="xhtml"><div>'
            + b"<span>" * 300
            + b"</span>" * 300
            + b"</div></content></entry></feed>",
            id="atom-xhtml",
        ),
        pytest.param(_nested_feed(100_000).decode().encode("utf-16"), id="utf-16"),
    ],
)
def test_nesting_deeper_than_libxml2s_limit_is_refused_in_any_form(body: bytes) -> None:
    assert refused(body).reason == "too_complex"


def _items_nested(depth: int) -> bytes:
    inner = b"<x>" * depth + b"</x>" * depth
    return NESTED_HEAD + inner + b"</item></channel></rss>"


def test_nesting_up_to_the_limit_parses() -> None:
    # rss, channel, item, and 253 more levels: 256 open elements at the deepest point
    assert [e.guid for e in parse_feed(_items_nested(253), url=URL).entries] == ["g"]
    assert refused(_items_nested(254)).reason == "too_complex"


def test_what_browsers_forgive_is_not_counted_as_nesting() -> None:
    items = "".join(
        f"<Item><guid>g{i}</guid><description><p>line<br>next</description><enclosure url='x'/>"
        f"<category/><category/><atom:link href='x'/></item>"  # unclosed <p>/<br>, case, self-closing
        for i in range(400)
    )
    body = (
        f'<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>T</title>{items}'
        "<!-- <a><a><a> --><![CDATA[<b><b>]]></channel></rss>"
    )
    assert len(parse_feed(body.encode(), url=URL).entries) == 400


@pytest.mark.parametrize(
    "unit",
    [
        pytest.param(b"<item></item>", id="empty-items"),
        pytest.param(b"<a></a>", id="flat-elements"),
        pytest.param(b'<link href="a"/>', id="self-closing"),
    ],
)
def test_documents_denser_than_their_size_explains_are_refused_within_bounded_memory(unit: bytes) -> None:
    body = NESTED_HEAD + b"<description>" + unit * (1_500_000 // len(unit)) + b"</description></item></channel></rss>"
    peak, outcome = _traced_peak(body)
    assert isinstance(outcome, FeedError) and outcome.reason == "too_complex", outcome
    assert str(outcome) == (
        f"{URL}: refused: too many elements and character references for its size (1.5 MB):"
        " parsing it would take more than 46 MB"
    )
    assert peak < 3 * len(body)


def test_dense_character_references_are_parsed_within_the_budget() -> None:
    body = NESTED_HEAD + b"<title>" + b"&#1234;" * 100_000 + b"</title></item></channel></rss>"
    peak, outcome = _traced_peak(body)
    assert isinstance(outcome, ParsedFeed) and outcome.entries[0].title == "\u04d2" * 999 + "…"
    assert peak < structure.MAX_PARSE_FACTOR * len(body)


def test_ordinary_feeds_stay_far_from_the_budget() -> None:
    for path in sorted(FIXTURES.glob("*.xml")):
        view = path.read_bytes()
        elements = sum(1 for m in structure._MARKUP.finditer(view) if m[1] and m[1][:1] != b"/")
        elements += view.count(b"/>")
        estimate = structure._ELEMENT_COST * elements + structure._REFERENCE_COST * view.count(b"&")
        assert estimate < structure.MAX_PARSE_FACTOR * len(view), path.name


def test_a_large_json_body_is_refused_without_decoding_it() -> None:
    body = b"[" + b"{}," * 1_000_000 + b"{}]"
    peak, outcome = _traced_peak(body)
    assert isinstance(outcome, FeedError) and str(outcome) == f"{URL}: not a feed: starts like JSON, not XML"
    assert peak < 3 * len(body)


# --- bounded fields -------------------------------------------------------------------------


def _one_item(fields: str, title: str = "T") -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><item>{fields}</item>'
        "</channel></rss>".encode()
    )


def test_50_kb_titles_are_cut_at_a_word_boundary() -> None:
    words = "headline " * 5_600  # 50 KB
    feed = parse_feed(_one_item(f"<title>{words}</title><guid>g</guid>", title=words), url=URL)
    for title in (feed.title, feed.entries[0].title):
        assert title is not None and len(title) <= entries.MAX_TITLE_CHARS == 1000
        assert title.endswith("headline…") and title.startswith("headline headline")
    huge_word = parse_feed(_one_item(f"<title>{'x' * 50_000}</title><guid>g</guid>"), url=URL).entries[0].title
    assert huge_word == "x" * 999 + "…"


def test_a_1_mb_guid_is_replaced_by_its_hash_distinct_and_stable() -> None:
    first, second = "g" * 1_000_000, "g" * 999_999 + "h"
    body = _one_item(f"<guid>{first}</guid></item><item><guid>{second}</guid>")
    feed = parse_feed(body, url=URL)
    assert [e.guid for e in feed.entries] == [
        "sha256:" + hashlib.sha256(first.encode()).hexdigest(),
        "sha256:" + hashlib.sha256(second.encode()).hexdigest(),
    ]
    assert feed.warning == "2 entries with a guid longer than 2048 characters (replaced by its SHA-256)"
    assert parse_feed(body, url=URL) == feed
    short = "g" * 2048
    assert parse_feed(_one_item(f"<guid>{short}</guid>"), url=URL).entries[0].guid == short


@pytest.mark.parametrize(
    "link",
    [
        "https://news.example.ru/" + "x" * 9000,
        "/relative/" + "x" * 9000,
        "http://[::1/x",
        f"http://{'a' * 64}.example.ru/x",
        "http://news.example.ru:99999/x",
        "http://news..example.ru/x",
    ],
)
def test_links_canonical_url_would_refuse_are_dropped_and_counted(link: str) -> None:
    feed = parse_feed(_one_item(f"<guid>g</guid><link>{escape(link)}</link>"), url=URL)
    assert feed.entries == (Entry("g", None),)
    assert feed.warning == "1 entry with a malformed link or one longer than 8192 characters (link dropped)"


def test_every_link_kept_is_one_canonical_url_accepts() -> None:
    links = [
        "https://news.example.ru/a?utm_source=x",
        "/b",
        "https://user:pw@news.example.ru/c",
        "https://новости.example.ru/d",
        "http://[::1]:8080/e",
    ]
    items = "</item><item>".join(f"<guid>{i}</guid><link>{escape(link)}</link>" for i, link in enumerate(links))
    body = _one_item(items)
    feed = parse_feed(body, url=URL)
    assert [e.link for e in feed.entries] == [
        "https://news.example.ru/a?utm_source=x",
        "https://news.example.ru/b",
        "https://user:pw@news.example.ru/c",
        "https://новости.example.ru/d",
        "http://[::1]:8080/e",
    ]
    assert all(canonical_url(e.link) for e in feed.entries if e.link)
    assert canonical_url(feed.entries[2].link or "") == "https://news.example.ru/c"  # credentials never kept


@pytest.mark.parametrize("ref", ["&#xD800;", "&#55296;", "&#x110000;", "&#99999999999;", "&#" + "9" * 5000 + ";"])
def test_a_reference_to_no_character_does_not_lose_the_feed(ref: str) -> None:
    body = _one_item(f"<guid>g</guid><title>a{ref}b</title><x>&bogus;</x>")  # &bogus;: the loose parser
    feed = parse_feed(body, url=URL)
    assert [(e.guid, e.title) for e in feed.entries] == [("g", "a\ufffdb")]
    assert feed.warning is not None and feed.warning.startswith(
        "1 reference(s) to no character (a surrogate, beyond U+10FFFF) replaced with U+FFFD; "
    )


def test_parser_failures_give_a_storable_one_line_message() -> None:
    assert feeds._describe(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")) == (
        "UnicodeEncodeError: 'utf-8' codec can't encode character '\\ud800' in position 0: surrogates not allowed"
    )
    feeds._describe(ValueError("a\ud800\x00b")).encode("utf-8")
