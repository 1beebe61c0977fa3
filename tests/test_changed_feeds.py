"""The changed-feed poll's fast path (``scan_feed`` + ``parse_new_items``) gives exactly the entries
of a full ``parse_feed`` that are new or changed, on every feed fixture and on generated feeds; a
body it is not sure of is left to the full parse. The quick identity pass (``quick_items``) gives
the expat pass's items (``scan_items``) whenever it answers, odd and hostile feeds included."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.errors import FeedError
from aggregator.feeds import parse_feed, parse_new_items, scan_feed
from aggregator.feeds.items import scan_items
from aggregator.feeds.quickscan import quick_items
from aggregator.models import Entry
from aggregator.pipeline import polling
from aggregator.store.sqlite import entries as sqlite_entries
from tests.helpers.mock import Harness, html
from tests.helpers.shapes import PROPERTIES, feeds

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "feeds").iterdir())
#: every XML document among the fixtures (the shared ones too, when this checkout sits beside them)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
XML_FIXTURES = sorted(
    {*(Path(__file__).parent / "fixtures").rglob("*.xml"), *(SHARED.rglob("*.xml") if SHARED.is_dir() else ())}
)
URL = "https://tass.com/rss/v2.xml"


def _full(content: bytes) -> tuple[Entry, ...] | None:
    try:
        return parse_feed(content, url=URL).entries
    except FeedError:
        return None


def check_quick(content: bytes) -> bool:
    """The quick pass's items are the expat pass's; True when it answered (False: it left the body
    to the expat pass)."""
    quick = quick_items(content, URL)
    if quick is None:
        return False
    assert quick == scan_items(content, URL)
    return True


def check_fast_path(content: bytes, known_every: int = 2) -> bool:
    """Compare the fast path with the full parse for several sets of known entries; True when the
    fast path took the body (False: it left it to the full parse)."""
    check_quick(content)
    full = _full(content)
    scan = scan_feed(content, url=URL)
    if scan is None:
        return False
    assert full is not None, "the fast path took a body the full parse refuses"
    assert scan.keys == [entry.key for entry in full]  # the pre-pass agrees with entries() on every key
    whole = parse_feed(content, url=URL)
    unsure = {item.key for item in scan.items if not item.sure}
    for start in range(known_every):
        subset = full[start::known_every]
        same = {entry.key: entry.updated for entry in subset}
        fast = parse_new_items(scan, same)
        assert fast.entries == _expected(full, same, unsure)
        assert (fast.title, fast.ttl_minutes) == (whole.title, whole.ttl_minutes)
        # stored ``updated`` texts that differ: every such entry that now says otherwise is parsed again
        older = {entry.key: "an older text" for entry in subset}
        again = parse_new_items(scan, older)
        assert again.entries == _expected(full, older, unsure | {e.key for e in full if e.updated is not None})
    assert parse_new_items(scan, {}).entries == full
    everything = {entry.key: entry.updated for entry in full}
    assert parse_new_items(scan, everything).entries == _expected(full, everything, unsure)
    return True


def _expected(full: tuple[Entry, ...], known: dict[str, str | None], parsed_again: set[str]) -> tuple[Entry, ...]:
    """The full parse's entries that are not known, and those known the fast path parses again (an
    ``updated`` it cannot read with certainty, or one that differs): as the archive sees it, the
    same, since recording a known entry again only compares its ``updated``."""
    return tuple(entry for entry in full if entry.key not in known or entry.key in parsed_again)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.name)
def test_every_fixture_gives_the_full_parse_entries(path: Path) -> None:
    check_fast_path(path.read_bytes())
    check_fast_path(path.read_bytes(), known_every=3)


def test_the_fast_path_takes_the_plain_fixtures() -> None:
    taken = {path.name for path in FIXTURES if check_fast_path(path.read_bytes())}
    assert {"bbc-news-home-2021-10-17.rss.xml", "atom10-published.xml", "rss20-relative-links.xml"} <= taken
    assert "rss10-rdf.xml" not in taken  # rdf:about identities: the full parse's


@PROPERTIES
@given(feeds())
def test_generated_feeds_give_the_full_parse_entries(content: bytes) -> None:
    check_fast_path(content)


_texts = st.one_of(
    st.text("abc/:?#&<> \t\n", max_size=12).map(escape),
    st.sampled_from(["", "  ", "http:///x", "https://tass.com/a", "/relative", "<![CDATA[c&d]]>", "&amp;x", "g"]),
)


@st.composite
def _identity_feeds(draw: st.DrawFn) -> bytes:
    """RSS and Atom items with every shape of identity the pre-pass must read as entries() does."""
    atom = draw(st.booleans())
    items = []
    for _ in range(draw(st.integers(0, 6))):
        parts = []
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["guid", "guid-false", "link", "date", "id", "updated", "title", "alink"]))
            text = draw(_texts)
            parts.append(
                {
                    "guid": f"<guid>{text}</guid>",
                    "guid-false": f'<guid isPermaLink="false">{text}</guid>',
                    "link": f"<link>{text}</link>",
                    "date": f"<dc:date>{text}</dc:date>",
                    "id": f"<id>{text}</id>",
                    "updated": f"<updated>{text}</updated>",
                    "title": f"<title>{text}</title>",
                    "alink": f'<link href="{escape(text)}"/>',
                }[kind]
            )
        tag = "entry" if atom else "item"
        items.append(f"<{tag}>{''.join(parts)}</{tag}>")
    if atom:
        document = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{"".join(items)}</feed>'
    else:
        document = (
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>'
            f"<ttl>30</ttl>{''.join(items)}</channel></rss>"
        )
    return ('<?xml version="1.0" encoding="utf-8"?>' + document).encode()


@PROPERTIES
@given(_identity_feeds(), st.integers(1, 3))
def test_generated_identities_give_the_full_parse_entries(content: bytes, every: int) -> None:
    check_fast_path(content, known_every=every)


def test_a_hundred_items_with_two_new_parse_two() -> None:
    items = [
        f"<item><title>story {n}</title><link>https://tass.com/world/{n}</link><guid>https://tass.com/world/{n}</guid>"
        f"<pubDate>Wed, 12 Aug 2020 21:{n % 60:02d}:00 +0000</pubDate></item>"
        for n in range(100)
    ]
    content = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{"".join(items)}</channel></rss>'
    full = parse_feed(content.encode(), url=URL).entries
    scan = scan_feed(content.encode(), url=URL)
    assert scan is not None
    fast = parse_new_items(scan, {entry.key: entry.updated for entry in full[2:]})
    assert fast.entries == full[:2]


# -- the archive a poll leaves: the fast path's against the full parse's --------------------------

ENTRY_COLUMNS = "feed_id, key, link, url, title, feed_published, feed_updated, status, last_error_reason, article_id"


def _archive_after_polls(tmp_path: Path, bodies: list[bytes], fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Poll the TASS feed once per body (the pages answer 404); the entries, polls and feed row left."""
    # an undated item is dated by the time it is first seen: the same moment for both archives
    monkeypatch.setattr(sqlite_entries, "utc_now", lambda: datetime(2026, 1, 1, tzinfo=UTC))
    if not fast:
        monkeypatch.setattr(polling, "scan_feed", lambda *args, **kwargs: None)
    answers = iter(bodies)
    harness = Harness(tmp_path, {URL: lambda request: html(next(answers), content_type="application/rss+xml")})
    results = [harness.run()[0] for _ in bodies]
    monkeypatch.undo()
    return (
        [(r.outcome, r.http_status, r.entries, r.new_entries, r.error_reason) for r in results],
        harness.rows(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY feed_id, key"),
        harness.rows("SELECT status, newest_item_at, last_error_reason, body_ttl FROM feeds"),
        harness.rows("SELECT outcome, http_status, entries, new_articles, duplicates, failed, error_reason FROM polls"),
    )


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.name)
def test_every_fixture_archives_as_a_full_parse_does(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polled with its two first items missing, then whole, then again unchanged: the fast path
    leaves the archive a full parse leaves (entries, polls, the feed's row)."""
    content = path.read_bytes()
    scan = scan_feed(content, url=URL)
    earlier = content
    if scan is not None and len(scan.items) > 2:  # the feed before its two newest items came
        earlier = content[: scan.items[0].start] + content[scan.items[2].start :]
    bodies = [earlier, content, content]
    fast = _archive_after_polls(tmp_path / "fast", bodies, True, monkeypatch)
    full = _archive_after_polls(tmp_path / "full", bodies, False, monkeypatch)
    assert fast == full
    if scan is not None:  # the third poll: the same body, unchanged without a parse
        assert fast[0][2][:2] == ("not_modified", 200)


def test_one_local_name_in_several_namespaces_and_cases() -> None:
    """The pass splits each element name once per document: a name seen again, and the same local
    name in another namespace or case, still mean what a full parse says they do."""
    dated = (
        "<dc:date>2026-12-01T10:00:00Z</dc:date>",
        "<atom:updated>2026-12-01T11:00:00Z</atom:updated>",
        "<DATE>2026-12-01T12:00:00Z</DATE>",
    )
    items = "".join(
        f"<item><title>Story {n}</title><{tag}>https://tass.com/world/{n}</{tag}>{dated[n % 3]}"
        f"<x:link>other {n}</x:link></item>"
        for n, tag in enumerate(("guid", "Guid", "guid", "GUID", "guid", "guid", "Guid", "guid"))
    )
    content = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:x="urn:example"><channel><title>T</title>'
        f"{items}</channel></rss>"
    ).encode()
    assert check_fast_path(content)  # taken: the pass reads every item
    check_fast_path(content, known_every=3)


# -- the quick identity pass against the expat pass ----------------------------------------------


def _rss(items: str, channel: str = "", root: str = '<rss version="2.0">', prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}{root}<channel><title>T</title>{channel}{items}</channel></rss>'
    ).encode()


def _item(n: int, inner: str = "") -> str:
    return (
        f"<item><title>Story {n}</title><link>https://tass.com/world/{n}</link>"
        f"<guid>https://tass.com/world/{n}</guid><pubDate>Wed, 12 Aug 2020 21:{n:02d}:00 +0000</pubDate>{inner}</item>"
    )


_PLAIN = "".join(_item(n) for n in range(5))
_NS = ' version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/"'
_ATOM_NS = ' version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"'

#: odd and hostile feeds: (id, document, whether the quick pass answers)
ODD_FEEDS: list[tuple[str, bytes, bool]] = [
    ("plain", _rss(_PLAIN), True),
    ("cdata-guid", _rss(_PLAIN + "<item><guid><![CDATA[https://tass.com/c]]></guid></item>"), False),
    (
        "cdata-hiding-items",
        _rss(_item(9, "<description><![CDATA[</item><item><guid>fake</guid></item>]]></description>") + _PLAIN),
        True,
    ),
    ("comment-hiding-an-item", _rss(_PLAIN + "<!-- <item><guid>fake</guid></item> -->" + _item(9)), True),
    ("comment-in-guid", _rss("<item><guid>https://tass.com/a<!-- x --></guid></item>"), False),
    ("entities", _rss("<item><guid>https://tass.com/a?x=1&amp;y=&#50;&#x33;&lt;&gt;&quot;&apos;</guid></item>"), True),
    ("dc-date", _rss(_item(1, "<dc:date>2026-12-01T10:00:00Z</dc:date>"), root=f"<rss{_NS}>"), False),
    (
        "atom-updated",
        _rss(_item(1, "<atom:updated>2026-12-01T10:00:00Z</atom:updated>"), root=f"<rss{_ATOM_NS}>"),
        False,
    ),
    (
        "atom-link-in-channel",
        _rss(_PLAIN, '<atom:link href="https://tass.com/rss" rel="self"/>', f"<rss{_ATOM_NS}>"),
        True,
    ),
    ("atom-link-in-item", _rss(_item(1, '<atom:link href="https://tass.com/x"/>'), root=f"<rss{_ATOM_NS}>"), True),
    ("atom-id-in-item", _rss(_item(1, "<atom:id>urn:x</atom:id>"), root=f"<rss{_ATOM_NS}>"), False),
    ("prefixed-guid", _rss("<item><dc:guid>https://tass.com/a</dc:guid></item>", root=f"<rss{_NS}>"), False),
    ("media-empty", _rss(_item(1, '<media:content url="https://tass.com/i.jpg"/>'), root=f"<rss{_NS}>"), True),
    (
        "media-group",
        _rss(_item(1, "<media:group><media:title>x</media:title></media:group>"), root=f"<rss{_NS}>"),
        False,
    ),
    ("unbound-prefix", _rss(_item(1, "<dc:creator>x</dc:creator>")), False),
    ("whitespace", _rss("<item><guid>\n   https://tass.com/a \r\n</guid></item><item><guid>\tb\r</guid></item>"), True),
    ("end-tag-space", _rss("<item><guid>https://tass.com/a</guid ><title>t</title ></item>"), True),
    ("duplicate-guids", _rss(_item(1) + _item(1)), False),
    ("no-guid", _rss("<item><title>t</title><link>https://tass.com/a</link></item>" + _PLAIN), False),
    ("two-guids", _rss("<item><guid>a</guid><guid>b</guid></item>"), False),
    ("empty-guid", _rss("<item><guid></guid><link>https://tass.com/a</link></item>"), False),
    (
        "empty-not-permalink",
        _rss('<item><guid isPermaLink="false"> </guid><link>https://tass.com/a</link></item>'),
        False,
    ),
    ("not-permalink", _rss("<item><guid isPermaLink='false'>12345</guid></item>" + _PLAIN), True),
    ("permalink-true", _rss('<item><guid isPermaLink="true">/relative/1</guid></item>'), True),
    ("permalink-other", _rss('<item><guid isPermaLink="yes">x</guid><guid2>y</guid2></item>'), True),
    ("uri-fix", _rss("<item><guid>http:///tass.com/a</guid></item>" + _PLAIN), True),
    ("control-character", _rss("<item><guid>a&#1;b</guid></item>"), False),
    ("long-guid", _rss(f"<item><guid>https://tass.com/{'a' * 3000}</guid></item>"), False),
    ("upper-case-guid", _rss("<item><GUID>https://tass.com/a</GUID></item>"), False),
    ("upper-case-item", _rss("<Item><guid>https://tass.com/a</guid></Item>" + _PLAIN), False),
    ("item-attribute", _rss('<item xml:lang="en"><guid>https://tass.com/a</guid></item>'), False),
    ("item-count", _rss(_PLAIN, "<itemCount>5</itemCount>"), False),
    ("nested-item", _rss("<item><guid>a</guid><item>x</item></item>"), False),
    ("item-in-image", _rss(_PLAIN, "<image><item>x</item></image>"), False),
    ("image", _rss(_PLAIN, "<image><url>https://tass.com/i.gif</url><title>T</title></image>"), True),
    ("between-items", _rss(_item(1) + "<lastBuildDate>Wed, 12 Aug 2020</lastBuildDate>" + _item(2)), True),
    ("entry-outside", _rss(_PLAIN, "<entry>x</entry>"), False),
    ("default-namespace", _rss(_PLAIN, root='<rss version="2.0" xmlns="urn:x">'), False),
    ("xml-base", _rss(_PLAIN, root='<rss version="2.0" xml:base="https://tass.com/">'), False),
    ("doctype", _rss(_PLAIN, prolog="<!DOCTYPE rss>"), False),
    ("stylesheet", _rss(_PLAIN, prolog='<?xml-stylesheet type="text/xsl" href="/rss.xsl"?>'), True),
    ("pi-in-channel", _rss(_PLAIN, "<?php echo 1 ?>"), False),
    ("gt-in-attribute", _rss(_PLAIN, '<x a="1>2"/>'), False),
    ("gt-in-text", _rss(_PLAIN, "<x>1 > 2</x>"), False),
    ("cp1251", _rss(_PLAIN).replace(b"utf-8", b"windows-1251"), False),
    ("bom", b"\xef\xbb\xbf" + _rss(_PLAIN), False),
    ("truncated", _rss(_PLAIN)[:-20], False),
    (
        "atom-xml-base",
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://tass.com/"><entry><id>a</id></entry></feed>',
        False,
    ),
    (
        "atom-changed-updated",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>a</id>'
        b"<updated>2026-12-02T10:00:00Z</updated></entry></feed>",
        False,
    ),
]


@pytest.mark.parametrize(("content", "answers"), [(c, a) for _, c, a in ODD_FEEDS], ids=[i for i, _, _ in ODD_FEEDS])
def test_odd_feeds_give_the_full_parse_entries(content: bytes, answers: bool) -> None:
    """The quick pass answers only for what it can read (and then as the expat pass), and the fast
    path, whichever pass read the items, gives the full parse's entries."""
    assert check_quick(content) == answers
    check_fast_path(content)
    check_fast_path(content, known_every=3)


@pytest.mark.parametrize("path", XML_FIXTURES, ids=lambda path: path.name)
def test_every_xml_fixture_gives_the_expat_pass_items(path: Path) -> None:
    check_quick(path.read_bytes())


def test_the_quick_pass_takes_the_plain_feeds() -> None:
    from benchmarks.site import RING_BASE, feed_xml

    taken = {path.name for path in XML_FIXTURES if check_quick(path.read_bytes())}
    assert {"bbc-news-home-2021-10-17.rss.xml", "tass-rss-v2.xml", "rss20-guid-permalink.xml"} <= taken
    assert check_quick(feed_xml("tass.com", [RING_BASE + n for n in range(100)]))  # the benchmark's feed


@PROPERTIES
@given(feeds())
def test_generated_feeds_give_the_expat_pass_items(content: bytes) -> None:
    check_quick(content)


@PROPERTIES
@given(_identity_feeds())
def test_generated_identities_give_the_expat_pass_items(content: bytes) -> None:
    check_quick(content)


@pytest.mark.parametrize("name", ["cdata-hiding-items", "entities", "whitespace", "not-permalink", "uri-fix"])
def test_odd_feeds_archive_as_a_full_parse_does(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick pass's feeds leave the archive a full parse leaves, polled before and after their
    first item came."""
    content = next(c for i, c, _ in ODD_FEEDS if i == name)
    scan = scan_feed(content, url=URL)
    assert scan is not None
    earlier = content[: scan.items[0].start] + content[scan.items[0].end :]
    bodies = [earlier, content, content]
    assert _archive_after_polls(tmp_path / "fast", bodies, True, monkeypatch) == _archive_after_polls(
        tmp_path / "full", bodies, False, monkeypatch
    )
