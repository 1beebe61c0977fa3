"""dom.select's translation of selectors (a quick test before cssselect's exact one for a class)
matches what cssselect's own translation matches.

The reference is the plain translation (``HTMLTranslator().css_to_xpath``), evaluated on real pages
for every selector of the shipped profiles, and on a sample page for classes among others, oddly
spaced, and words that contain the class without being it.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from cssselect import HTMLTranslator
from lxml import etree

from aggregator.html import dom
from aggregator.profiles.registry import all_profiles

FIXTURES = Path(__file__).parent / "fixtures"
READABILITY = Path(__file__).parent.parent / "benchmarks" / "extraction_sets" / "readability" / "html"


def _pages() -> list[Path]:
    pages = sorted((FIXTURES / "real").glob("*.html.gz")) + sorted((FIXTURES / "tass").glob("*.html"))
    return pages + sorted(READABILITY.glob("*.html.gz"))[::6]  # every sixth: a spread of layouts


def _markup(path: Path) -> str:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.decode("utf-8", errors="replace")


def _groups() -> list[str]:
    """Every selector group the shipped profiles use, and each group's members one by one."""
    found: set[str] = set()
    for profile in all_profiles():
        groups = [*profile.container, *profile.headline, profile.blocks, *profile.body, *profile.lead, *profile.remove]
        groups += [*profile.not_article.selectors, *(source.selector for source in profile.time)]
        for group in groups:
            found.add(group)
            found.update(part.strip() for part in group.split(","))
    return sorted(found)


def _reference(scope: dom.Element, selector: str) -> list[dom.Element]:
    context = scope.getroottree() if scope.getparent() is None else scope
    found = etree.XPath(HTMLTranslator().css_to_xpath(selector, prefix="descendant::"))(context)
    assert isinstance(found, list)
    return [e for e in found if isinstance(e, etree._Element) and isinstance(e.tag, str)]


@pytest.mark.parametrize("page", _pages(), ids=lambda path: path.name)
def test_profile_selectors_match_as_cssselect_translates_them(page: Path) -> None:
    root = dom.parse(_markup(page))
    scopes = [root, *dom.select(root, "body, article, main")[:2]]
    for scope in scopes:
        for selector in _groups():
            assert dom.select(scope, selector) == _reference(scope, selector), selector


SAMPLE = """<html><body>
<div class="a  news x" id="top"><p class="lead">one</p><p>two <a href="#">link</a></p></div>
<div class="newsletter"><p class="news-item">three</p></div>
<ul><li>first</li><li class="x">second</li></ul>
<script type="application/ld+json">{}</script>
<link rel="alternate canonical" href="http://example.com/">
<!-- a comment --><span class="news">four</span>
</body></html>"""


@pytest.mark.parametrize(
    "selector",
    [
        ".news",  # a class among others, spaced oddly; "newsletter" and "news-item" are not it
        ".news, .lead, script",
        "div.news, li:first-child, [rel~=canonical]",
        "div p, .x",  # a combinator: matched as before, one selector at a time
        "ul > li, span",
        ":not(.news)",
        "*",
    ],
)
def test_groups_on_a_sample_page(selector: str) -> None:
    root = dom.parse(SAMPLE)
    assert dom.select(root, selector) == _reference(root, selector)
