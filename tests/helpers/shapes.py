"""Hypothesis strategies that more than one test file draws from: URL-shaped text and feed documents."""

from __future__ import annotations

from html import escape

from hypothesis import settings
from hypothesis import strategies as st

EXAMPLES = 150
PROPERTIES = settings(max_examples=EXAMPLES, deadline=None)

word = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=1, max_size=8)
url_junk = st.sampled_from(
    [
        "",
        "[",
        "]",
        "[::1",
        "[::1]",
        "[]",
        "::",
        "@",
        "user:pass@",
        ":@",
        "a" * 64,
        "a" * 63,
        "..",
        ".",
        "%",
        "%zz",
        "%00",
        "\x00",
        "\t",
        " ",
        "\ud800",
        "\udcff",
        "\u200b",
        "ß",
        "bücher",
        "xn--",
        "-",
        "_",
        ":",
        ":99999",
        ":-1",
        ":0",
        ":８０",
        "#",
        "?",
        "&",
        "=",
        "/",
        "//",
        "\\",
        "\u3002",
        "utm_source=x",
        "é" * 3,
    ]
)
url_shaped = st.builds(
    lambda scheme, host, tail, repeat: f"{scheme}{''.join(host)}{''.join(tail) * repeat}",
    st.sampled_from(["http://", "https://", "HTTP://", "//", "ftp://", "javascript:", "", "http:", "http:///"]),
    st.lists(st.one_of(url_junk, word), max_size=6),
    st.lists(st.one_of(url_junk, word), max_size=6),
    st.sampled_from([1, 1, 1, 2, 400]),
)
hrefs = st.one_of(url_shaped, st.text(max_size=40))
xml_text = st.one_of(
    st.text(max_size=20).map(escape),
    word,
    st.sampled_from(
        [
            "&amp;",
            "&lt;p&gt;",
            "&#65;",
            "&#xD800;",
            "&#x110000;",
            "&#99999999999;",
            "&#0;",
            "&bogus;",
            "<![CDATA[<p>x</p>]]>",
            "<!-- c -->",
            "<br>",
            "</b>",
            "<a>",
            "\x00",
            "\ud800",
            "g" * 3000,
        ]
    ),
)
feed_fields = st.sampled_from(
    [
        "title",
        "link",
        "guid",
        "description",
        "pubDate",
        "id",
        "updated",
        "published",
        "summary",
        "category",
        "x",
        "content",
    ]
)


def field_xml(name: str, parts: list[str], closed: bool) -> str:
    return f"<{name}>{''.join(parts)}" + (f"</{name}>" if closed else "")


feed_nodes = st.recursive(
    st.one_of(xml_text, hrefs.map(escape), st.just('<link href="https://example.com/a"/>')),
    lambda inner: st.builds(field_xml, feed_fields, st.lists(inner, max_size=3), st.booleans()),
    max_leaves=15,
)


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    root, entry = draw(st.sampled_from([("rss", "item"), ("feed", "entry"), ("rdf:RDF", "item")]))
    entries = "".join(
        f"<{entry}>{''.join(draw(st.lists(feed_nodes, max_size=5)))}</{entry}>" for _ in range(draw(st.integers(0, 4)))
    )
    depth = draw(st.sampled_from([0, 0, 0, 50, 300]))
    entries += "<x>" * depth + "</x>" * draw(st.sampled_from([0, depth]))
    channel = f"<channel><title>{draw(xml_text)}</title>{entries}</channel>" if root != "feed" else entries
    namespace = ' xmlns="http://www.w3.org/2005/Atom"' if root == "feed" else ' version="2.0"'
    document = f'<?xml version="1.0" encoding="utf-8"?><{root}{namespace}>{channel}</{root}>'
    cut = draw(st.sampled_from([None, None, -7, 60]))  # truncated documents take the loose parser
    return document.encode("utf-8", "surrogatepass")[:cut]
