"""The page as a tree: lxml's HTML parser and CSS selectors compiled to XPath (the only user of lxml
and cssselect).

Why not BeautifulSoup: on the extraction dev set's real pages (97 KB median) building its tree
costs 19 ms a page, lxml's 1.2 ms (``benchmarks/extraction.py`` prints the extraction times); the
parser underneath is the same libxml2, so the trees are the same. Selectors are CSS, translated
once by cssselect (the Scrapy project's translator) and cached as compiled XPath.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from cssselect import HTMLTranslator, SelectorError
from lxml import etree
from lxml import html as lxml_html

Element = lxml_html.HtmlElement
#: what a bad selector raises (syntax, or a pseudo-class the translator does not know)
BadSelector = SelectorError
_TRANSLATOR = HTMLTranslator()
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse(markup: str) -> Element:
    """The document's root element (``<html>``); an empty page gives an empty ``<html>``."""
    parser = lxml_html.HTMLParser()
    markup = markup[1:] if markup[:1] == "\ufeff" else markup
    try:
        parser.feed(markup)
    except UnicodeEncodeError:  # lone surrogates (text decoded with "surrogateescape"): as U+FFFD
        parser = lxml_html.HTMLParser()
        parser.feed(_SURROGATE.sub("\ufffd", markup))
    root = parser.close()
    return root if root is not None else lxml_html.Element("html")


@cache
def compiled(selector: str) -> etree.XPath:
    """``selector`` (CSS, a comma-separated group allowed) as XPath over the context's descendants."""
    return etree.XPath(_TRANSLATOR.css_to_xpath(selector, prefix="descendant::"))


def check_selector(selector: str) -> str:
    """``selector`` unchanged, or BadSelector: profiles fail when loaded, not on their first page."""
    compiled(selector)
    return selector


def select(scope: Element, selector: str) -> list[Element]:
    """The elements inside ``scope`` (the whole document for the root) matching ``selector``, in page order."""
    context = scope.getroottree() if scope.getparent() is None else scope
    return [element for element in compiled(selector)(context) if isinstance(element.tag, str)]


def select_first(scope: Element, selector: str) -> Element | None:
    found = select(scope, selector)
    return found[0] if found else None


def text(element: Element) -> str:
    """All the text inside ``element`` (comments left out), as it is in the page."""
    return etree.tostring(element, method="text", encoding=str, with_tail=False)


def remove(element: Element) -> None:
    """Take ``element`` out of the tree, keeping the text that follows it."""
    element.drop_tree()


def describe(element: Element) -> str:
    """``tag#id.class.class``, how the signals name the container."""
    classes = ".".join((element.get("class") or "").split())
    ident = f"#{element.get('id')}" if element.get("id") else ""
    return f"{element.tag}{ident}{'.' + classes if classes else ''}"


def visible_strings(root: Element, invisible: frozenset[str]) -> Iterator[str]:
    """The page's text nodes outside the ``invisible`` elements (scripts, styles)."""
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag not in invisible and element.text:
            yield element.text
        parent = element.getparent()
        if element.tail and parent is not None and parent.tag not in invisible:
            yield element.tail
