"""aggregator.feeds.sitemaps: sitemaps.org XML, sitemap indexes, Google News sitemaps and plain-text
URL lists, as bytes (gzipped or not); every document is written inline, nothing touches the network."""

from __future__ import annotations

import dataclasses
import gzip
import zlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from aggregator.errors import FeedError
from aggregator.feeds.sitemaps import SITEMAP_NS, Sitemap, SitemapURL, is_sitemap, parse_sitemap

URL = "https://news.example.org/sitemap.xml"
MAX = 10 * 1024 * 1024
MSK = timezone(timedelta(hours=3))
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def parse(body: bytes, max_bytes: int = MAX) -> Sitemap:
    return parse_sitemap(body, url=URL, max_bytes=max_bytes)


def refused(body: bytes, reason: str, max_bytes: int = MAX) -> str:
    """The message of the FeedError parsing ``body`` raises, checked: its reason, one line, the URL in it."""
    with pytest.raises(FeedError) as caught:
        parse(body, max_bytes)
    message = str(caught.value)
    assert caught.value.reason == reason, message
    assert URL in message and "\n" not in message and "\r" not in message
    return message


def urlset(*entries: str, attrs: str = f' xmlns="{SITEMAP_NS}"', prolog: str = '<?xml version="1.0"?>\n') -> bytes:
    return (prolog + f"<urlset{attrs}>\n" + "\n".join(entries) + "\n</urlset>\n").encode()


def locs(sitemap: Sitemap) -> list[str]:
    return [entry.loc for entry in sitemap.urls]


# --- urlset, index, news -------------------------------------------------------------------------


def test_a_urlset_gives_each_loc_and_lastmod_in_order() -> None:
    sitemap = parse(
        urlset(
            "<url><loc>https://news.example.org/a</loc><lastmod>2024-03-05</lastmod>"
            "<changefreq>daily</changefreq><priority>0.8</priority></url>",
            "<url>\n  <loc>\n   https://news.example.org/b?x=1&amp;y=2  \n</loc>\n</url>",
            "<url><loc><![CDATA[http://news.example.org/c?a&b]]></loc></url>",
        )
    )
    assert sitemap == Sitemap(
        kind="urlset",
        urls=(
            SitemapURL("https://news.example.org/a", lastmod=datetime(2024, 3, 5, tzinfo=UTC)),
            SitemapURL("https://news.example.org/b?x=1&y=2"),
            SitemapURL("http://news.example.org/c?a&b"),
        ),
        skipped=0,
        warning=None,
    )


def test_urls_are_kept_as_written_and_nothing_is_deduplicated() -> None:
    written = "https://News.Example.org:443/a/../b/?utm_source=x#top"
    sitemap = parse(urlset(*[f"<url><loc>{written}</loc></url>"] * 3))
    assert locs(sitemap) == [written] * 3


def test_a_sitemap_index_lists_its_child_sitemaps() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="{SITEMAP_NS}">\n'
        "  <sitemap><loc>https://news.example.org/sitemap-1.xml.gz</loc><lastmod>2024-03-05T10:20:30Z</lastmod></sitemap>\n"
        "  <sitemap>\n    <loc>https://news.example.org/sitemap-2.xml</loc>\n  </sitemap>\n"
        "</sitemapindex>\n"
    ).encode()
    sitemap = parse(body)
    assert sitemap.kind == "index"
    assert sitemap.urls == (
        SitemapURL("https://news.example.org/sitemap-1.xml.gz", lastmod=datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        SitemapURL("https://news.example.org/sitemap-2.xml"),
    )


def test_entries_of_the_other_kind_and_nested_ones_are_not_entries() -> None:
    body = (
        b"<sitemapindex><sitemap><loc>https://news.example.org/s1.xml</loc></sitemap>"
        b"<url><loc>https://news.example.org/not-a-child-sitemap</loc></url>"
        b"<sitemap><loc>https://news.example.org/s2.xml</loc><sitemap><loc>https://news.example.org/nested</loc>"
        b"</sitemap></sitemap></sitemapindex>"
    )
    assert locs(parse(body)) == ["https://news.example.org/s1.xml", "https://news.example.org/s2.xml"]


NEWS_ENTRY = """
<url>
  <loc>https://news.example.org/world/1001</loc>
  <lastmod>2024-03-05T08:00:00Z</lastmod>
  <image:image><image:loc>https://cdn.example.org/1001.jpg</image:loc><image:title>Photo</image:title></image:image>
  <video:video><video:title>Not the title</video:title><video:content_loc>https://cdn.example.org/v.mp4</video:content_loc></video:video>
  <xhtml:link rel="alternate" hreflang="ru" href="https://news.example.org/ru/world/1001"/>
  <news:news>
    <news:publication><news:name>Example News</news:name><news:language>en</news:language></news:publication>
    <news:publication_date>2024-03-05T10:20:30+03:00</news:publication_date>
    <news:title>  Talks  resume
       in Geneva </news:title>
  </news:news>
</url>
<url>
  <loc>https://news.example.org/world/1002</loc>
  <news:news><news:publication_date>2024-03-05</news:publication_date><news:title/></news:news>
</url>
"""
NEWS_ATTRS = (
    f' xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}"'
    ' xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"'
    ' xmlns:video="http://www.google.com/schemas/sitemap-video/1.1"'
    ' xmlns:xhtml="http://www.w3.org/1999/xhtml"'
)


def test_a_google_news_sitemap_gives_title_and_publication_date_and_ignores_other_extensions() -> None:
    sitemap = parse(urlset(NEWS_ENTRY, attrs=NEWS_ATTRS))
    assert sitemap.urls == (
        SitemapURL(
            "https://news.example.org/world/1001",
            lastmod=datetime(2024, 3, 5, 8, tzinfo=UTC),
            published=datetime(2024, 3, 5, 10, 20, 30, tzinfo=MSK),
            title="Talks resume in Geneva",
        ),
        SitemapURL("https://news.example.org/world/1002", published=datetime(2024, 3, 5, tzinfo=UTC), title=None),
    )
    assert sitemap.urls[0].published is not None and sitemap.urls[0].published.utcoffset() == timedelta(hours=3)


# --- dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-03-05T10:20:30+03:00", datetime(2024, 3, 5, 10, 20, 30, tzinfo=MSK)),
        ("2024-03-05T10:20+03:00", datetime(2024, 3, 5, 10, 20, tzinfo=MSK)),
        ("2024-03-05T10:20:30Z", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05T10:20:30.5Z", datetime(2024, 3, 5, 10, 20, 30, 500000, tzinfo=UTC)),
        (
            "2024-03-05T10:20:30.123456-05:00",
            datetime(2024, 3, 5, 10, 20, 30, 123456, tzinfo=timezone(-timedelta(hours=5))),
        ),
        ("2024-03-05T10:20:30", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),  # no offset: UTC
        ("  \n 2024-03-05T10:20:30Z \n", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("yesterday", None),
        ("2024-13-45", None),
        ("05.03.2024", None),
        ("", None),
        ("   ", None),
        ("99999-01-01", None),
    ],
)
def test_lastmod_forms(written: str, expected: datetime | None) -> None:
    sitemap = parse(urlset(f"<url><loc>https://news.example.org/a</loc><lastmod>{written}</lastmod></url>"))
    (entry,) = sitemap.urls
    assert entry.lastmod == expected
    if expected is not None:
        assert entry.lastmod is not None and entry.lastmod.utcoffset() == expected.utcoffset()


def test_an_unreadable_publication_date_is_none_and_the_entry_is_kept() -> None:
    entry = "<url><loc>https://news.example.org/a</loc><news:news><news:publication_date>soon</news:publication_date></news:news></url>"
    sitemap = parse(urlset(entry, attrs=f' xmlns:news="{NEWS_NS}"'))
    assert sitemap.urls == (SitemapURL("https://news.example.org/a"),)


# --- namespaces, prolog, encodings -----------------------------------------------------------------

ENTRY = "<url><loc>https://news.example.org/a</loc><lastmod>2024-03-05</lastmod></url>"
EXPECTED = (SitemapURL("https://news.example.org/a", lastmod=datetime(2024, 3, 5, tzinfo=UTC)),)


@pytest.mark.parametrize(
    "attrs",
    [
        "",  # no namespace at all
        ' xmlns="http://www.google.com/schemas/sitemap/0.84"',  # the old Google one
        ' xmlns="https://www.sitemaps.org/schemas/sitemap/0.9/"',  # a wrong one
        f' xmlns="{SITEMAP_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://www.sitemaps.org/schemas/sitemap/0.9 sitemap.xsd"',
    ],
)
def test_elements_match_by_local_name_in_any_namespace(attrs: str) -> None:
    sitemap = parse(urlset(ENTRY, attrs=attrs))
    assert sitemap.urls == EXPECTED and sitemap.kind == "urlset"


def test_a_prefixed_namespace() -> None:
    body = (
        f'<sm:urlset xmlns:sm="{SITEMAP_NS}"><sm:url><sm:loc>https://news.example.org/a</sm:loc>'
        "<sm:lastmod>2024-03-05</sm:lastmod></sm:url></sm:urlset>"
    ).encode()
    assert parse(body).urls == EXPECTED
    assert is_sitemap(body)


@pytest.mark.parametrize(
    "prefix",
    [
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf \r\n\t ",
        b"\n\n   ",
        b'\xef\xbb\xbf\n<?xml version="1.0" encoding="utf-8"?>\n<!-- generated -->\n<?xml-stylesheet href="s.xsl"?>\n',
        b'<!DOCTYPE urlset SYSTEM "http://www.example.org/sitemap.dtd">\n',
    ],
)
def test_a_byte_order_mark_whitespace_comments_and_a_doctype_before_the_root(prefix: bytes) -> None:
    body = prefix + urlset(ENTRY, prolog="")
    assert parse(body).urls == EXPECTED
    assert is_sitemap(body)


def test_a_declared_legacy_encoding_and_utf16_are_read() -> None:
    loc = "https://news.example.org/мир/1"
    cp1251 = f'<?xml version="1.0" encoding="windows-1251"?><urlset><url><loc>{loc}</loc></url></urlset>'
    assert locs(parse(cp1251.encode("cp1251"))) == [loc]
    utf16 = f'<?xml version="1.0" encoding="UTF-16"?><urlset><url><loc>{loc}</loc></url></urlset>'
    assert locs(parse(utf16.encode("utf-16"))) == [loc]  # with its byte order mark
    assert is_sitemap(utf16.encode("utf-16"))


def test_an_invalid_utf8_byte_is_replaced_and_noted() -> None:
    body = urlset(
        "<url><loc>https://news.example.org/a</loc><news:news><news:title>Caf\xe9</news:title></news:news></url>",
        "<url><loc>https://news.example.org/b</loc></url>",
        attrs=f' xmlns:news="{NEWS_NS}"',
    ).replace("é".encode(), b"\xe9")  # latin-1 é inside a UTF-8 document
    sitemap = parse(body)
    assert locs(sitemap) == ["https://news.example.org/a", "https://news.example.org/b"]
    assert sitemap.urls[0].title == "Caf\ufffd"
    assert sitemap.warning == "1 invalid utf-8 byte sequence(s) replaced with U+FFFD"


# --- gzip --------------------------------------------------------------------------------------------


def test_a_gzipped_sitemap_is_decompressed() -> None:
    body = urlset(NEWS_ENTRY, attrs=NEWS_ATTRS)
    assert parse(gzip.compress(body)) == parse(body)
    assert len(parse(gzip.compress(body)).urls) == 2


def test_gzip_members_one_after_another_are_one_document_and_trailing_bytes_are_ignored() -> None:
    body = urlset(*[f"<url><loc>https://news.example.org/{i}</loc></url>" for i in range(3)])
    joined = gzip.compress(body[:50]) + gzip.compress(body[50:]) + b"\x00\x00trailing junk"
    assert locs(parse(joined)) == [f"https://news.example.org/{i}" for i in range(3)]


def _gzip_of_whitespace(head: bytes, megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(head)]
    block = b" " * (1024 * 1024)
    parts.extend(compressor.compress(block) for _ in range(megabytes))
    parts.append(compressor.compress(b"</urlset>") + compressor.flush())
    return b"".join(parts)


def test_a_gzip_bomb_over_max_bytes_is_too_large() -> None:
    bomb = _gzip_of_whitespace(b'<?xml version="1.0"?><urlset><url><loc>https://news.example.org/a</loc></url>', 64)
    assert len(bomb) < 200_000  # 64 MB of whitespace
    message = refused(bomb, "too_large", max_bytes=2 * 1024 * 1024)
    assert "2,097,152 bytes" in message
    assert is_sitemap(bomb)  # judged from its first kilobytes only


def test_max_bytes_counts_the_decompressed_document_and_a_plain_one_too() -> None:
    body = urlset(*[f"<url><loc>https://news.example.org/{i}</loc></url>" for i in range(2000)])
    assert len(parse(gzip.compress(body), max_bytes=len(body)).urls) == 2000
    refused(gzip.compress(body), "too_large", max_bytes=len(body) - 1)
    refused(body, "too_large", max_bytes=len(body) - 1)


def test_a_truncated_gzip_stream_keeps_the_urls_before_the_break() -> None:
    body = urlset(*[f"<url><loc>https://news.example.org/{i}</loc></url>" for i in range(5000)])
    compressed = gzip.compress(body)
    sitemap = parse(compressed[: len(compressed) // 2])
    assert 0 < len(sitemap.urls) < 5000
    assert locs(sitemap) == [f"https://news.example.org/{i}" for i in range(len(sitemap.urls))]
    assert sitemap.warning is not None and "gzip data is cut short" in sitemap.warning
    assert "\n" not in sitemap.warning


def test_corrupt_gzip_before_any_url_is_malformed() -> None:
    assert "gzip data is corrupt" in refused(b"\x1f\x8b" + b"\x00" * 40, "malformed")
    assert "cut short" in refused(gzip.compress(urlset(ENTRY))[:12], "malformed")


# --- plain text --------------------------------------------------------------------------------------


def test_a_plain_text_sitemap_is_one_url_per_line() -> None:
    body = (
        "\ufeffhttps://news.example.org/a\r\n"
        "\r\n"
        "   http://news.example.org/b   \n"
        "/relative/path\n"
        "ftp://files.example.org/x\n"
        "https://news.example.org/мир\n"
    ).encode()
    sitemap = parse(body)
    assert sitemap == Sitemap(
        "urlset",
        (
            SitemapURL("https://news.example.org/a"),
            SitemapURL("http://news.example.org/b"),
            SitemapURL("https://news.example.org/мир"),
        ),
        skipped=2,
    )
    assert parse(gzip.compress(body)) == sitemap
    assert not is_sitemap(body)  # XML only: what is_sitemap tells from a feed body


# --- what is not a sitemap ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "looks_like"),
    [
        (b"", "empty body"),
        (b" \r\n\t ", "empty body"),
        (
            b"<!DOCTYPE html><html><head><title>404 Not\nFound</title></head><body>No such page</body></html>",
            "HTML page “404 Not Found”",
        ),
        (b"<html><body>hello</body></html>", "HTML page"),
        (b"<html><head><title>Just a moment...</title></head></html>", "anti-bot challenge page"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>', "RSS feed"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title></feed>', "Atom feed"),
        (b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', "RSS 1.0"),
        (b'<?xml version="1.0"?><URLSET><URL><LOC>https://a.example/</LOC></URL></URLSET>', "root element <URLSET>"),
        (b'{"urls": ["https://news.example.org/a"]}', "JSON"),
        (b"User-agent: *\nDisallow: /private\nSitemap: https://news.example.org/sitemap.xml\n", "User-agent: *"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b'<?xml version="1.0" encoding="x-no-such-encoding"?><urlset/>', "unknown encoding"),
        (
            gzip.compress(b"<html><head><title>Gone</title></head></html>", mtime=0),
            "HTML page “Gone” (gzip-compressed)",
        ),
    ],
)
def test_what_is_not_a_sitemap_is_named(body: bytes, looks_like: str) -> None:
    message = refused(body, "not_a_sitemap")
    assert message.startswith(f"{URL}: not a sitemap: ")
    assert looks_like in message
    assert not is_sitemap(body)


# --- unsafe and broken XML --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "https://news.example.org/">]>'
        b"<urlset><url><loc>&a;x</loc></url></urlset>",
        b'<!DOCTYPE urlset [<!ENTITY a0 "lol"><!ENTITY a1 "&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;">'
        + b"".join(b'<!ENTITY a%d "%s">' % (i, b"&a%d;" % (i - 1) * 10) for i in range(2, 10))
        + b"]><urlset><url><loc>https://news.example.org/&a9;</loc></url></urlset>",
        b'<!DOCTYPE urlset [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]><urlset/>',
        b'<!DOCTYPE urlset [ <!-- ]><urlset> --> <!ENTITY a "&b;&b;"> <!ENTITY b "xx"> ]>'
        b"<urlset><url><loc>https://news.example.org/&a;</loc></url></urlset>",
        # A comment inside the internal subset makes the look at the text see <urlset> early, and the
        # declarations come after the first 16 KB: libxml2's own reading of the DTD catches them.
        b"<!DOCTYPE urlset [ <!-- ]><urlset> " + b"x" * 20_000 + b' --> <!ENTITY a "&b;&b;"> <!ENTITY b "xx"> ]>'
        b"<urlset><url><loc>https://news.example.org/&a;</loc></url></urlset>",
    ],
)
def test_a_document_declaring_entities_is_refused(body: bytes) -> None:
    assert "declares XML entities" in refused(body, "unsafe_xml")
    assert "declares XML entities" in refused(gzip.compress(body), "unsafe_xml")


def test_a_truncated_document_keeps_the_urls_before_the_break_with_a_warning() -> None:
    body = urlset(
        "<url><loc>https://news.example.org/a</loc><lastmod>2024-03-05</lastmod></url>",
        "<url><loc>https://news.example.org/b</loc></url>",
        "<url><loc>https://news.example.org/c</loc><lastmod>2024-03",
    )
    cut = body[: body.index(b"<lastmod>2024-03\n") + len(b"<lastmod>2024-03")]
    sitemap = parse(cut)
    assert locs(sitemap) == ["https://news.example.org/a", "https://news.example.org/b"]
    assert sitemap.warning is not None and "\n" not in sitemap.warning
    assert (
        sitemap.warning.startswith("the XML breaks off (") and "the 2 entries before the break kept" in sitemap.warning
    )


def test_garbage_after_some_urls_keeps_them_with_a_warning() -> None:
    body = urlset(ENTRY, prolog="") + b"<urlset><url><loc>https://news.example.org/second-root</loc></url></urlset>"
    sitemap = parse(body)
    assert sitemap.urls == EXPECTED and sitemap.warning is not None
    mismatched = b"<urlset>" + ENTRY.encode() + b"<url><loc>https://news.example.org/b</lok></url></urlset>"
    sitemap = parse(mismatched)
    assert sitemap.urls == EXPECTED and sitemap.warning is not None and "mismatch" in sitemap.warning


def test_nesting_past_libxml2s_limit_ends_the_document_there() -> None:
    body = b"<urlset>" + ENTRY.encode() + b"<url>" + b"<a>" * 300 + b"</a>" * 300 + b"</url></urlset>"
    sitemap = parse(body)
    assert sitemap.urls == EXPECTED and sitemap.warning is not None


@pytest.mark.parametrize(
    "body",
    [
        b"<urlset><url><loc>https://news.example.org/a",
        b'<?xml version="1.0"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&nbsp;</loc></url>',
        b"<urlset><url><loc>https://news.example.org/a</loc></lru></urlset>",
        b"<urlset",
    ],
)
def test_malformed_before_any_url_is_an_error(body: bytes) -> None:
    assert refused(body, "malformed").startswith(f"{URL}: malformed sitemap: ")


def test_a_urlset_without_urls_is_an_empty_sitemap() -> None:
    assert parse(urlset()) == Sitemap("urlset", ())
    assert parse(b"<sitemapindex/>") == Sitemap("index", ())


# --- locs that are not http(s) URLs ---------------------------------------------------------------------


def test_relative_javascript_and_other_locs_are_skipped_and_counted() -> None:
    sitemap = parse(
        urlset(
            "<url><loc>/news/relative</loc></url>",
            "<url><loc>javascript:alert(1)</loc></url>",
            "<url><loc>https://news.example.org/kept</loc></url>",
            "<url><loc>mailto:desk@example.org</loc></url>",
            "<url><loc>ftp://files.example.org/a</loc></url>",
            "<url><loc>https://</loc></url>",
            "<url><loc>   </loc></url>",
            "<url><lastmod>2024-03-05</lastmod></url>",  # no <loc> at all
            "<url><loc>HTTPS://NEWS.EXAMPLE.ORG/UPPER</loc></url>",
            "<url><loc>https://news.example.org/with space</loc></url>",  # is_http_url's call, kept as written
        )
    )
    assert locs(sitemap) == [
        "https://news.example.org/kept",
        "HTTPS://NEWS.EXAMPLE.ORG/UPPER",
        "https://news.example.org/with space",
    ]
    assert sitemap.skipped == 7


# --- is_sitemap -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        urlset(ENTRY),
        urlset(ENTRY, attrs=""),
        b"<sitemapindex><sitemap><loc>https://news.example.org/s.xml</loc></sitemap></sitemapindex>",
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- a comment -->\n<urlset>',  # only the head is looked at
        gzip.compress(urlset(NEWS_ENTRY, attrs=NEWS_ATTRS), mtime=0),
        gzip.compress(b"<sitemapindex/>", mtime=0),
        urlset(*[ENTRY] * 2000),
    ],
)
def test_is_sitemap_true(body: bytes) -> None:
    assert is_sitemap(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"/>',
        b"<!DOCTYPE html><html><body>urlset</body></html>",
        b"https://news.example.org/a\nhttps://news.example.org/b\n",
        b"<!-- " + b"x" * 20_000 + b" --><urlset/>",  # the root is past the first kilobytes
        gzip.compress(b'<rss version="2.0"><channel/></rss>', mtime=0),
        b"\x1f\x8b\x08\x00garbage",
        b"\x1f\x8b",
    ],
)
def test_is_sitemap_false(body: bytes) -> None:
    assert not is_sitemap(body)


# --- size and shape ---------------------------------------------------------------------------------------


def test_a_50000_url_news_sitemap_parses() -> None:
    entries = [
        f"<url><loc>https://news.example.org/story/{i}</loc><news:news>"
        "<news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>2024-03-05T10:{i % 60:02d}:00+03:00</news:publication_date>"
        f"<news:title>Story number {i}</news:title></news:news></url>"
        for i in range(50_000)
    ]
    body = gzip.compress(urlset(*entries, attrs=f' xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}"'))
    sitemap = parse(body, max_bytes=50 * 1024 * 1024)
    assert len(sitemap.urls) == 50_000 and sitemap.skipped == 0 and sitemap.warning is None
    assert sitemap.urls[-1] == SitemapURL(
        "https://news.example.org/story/49999",
        published=datetime(2024, 3, 5, 10, 49999 % 60, tzinfo=MSK),
        title="Story number 49999",
    )


def test_results_are_frozen() -> None:
    sitemap = parse(urlset(ENTRY))
    with pytest.raises(dataclasses.FrozenInstanceError):
        sitemap.urls[0].loc = "https://elsewhere.example/"  # type: ignore[misc]
    assert isinstance(sitemap.urls, tuple)
