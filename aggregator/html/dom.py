"""The page as a tree: lxml's HTML parser and CSS selectors compiled to XPath (the only user of lxml
and cssselect).

Why not BeautifulSoup: building its tree costs many times what lxml's does (the README gives the
figures), and the parser underneath is the same libxml2, so the trees are the same.
Selectors are CSS, translated once by cssselect (the Scrapy project's translator) and cached as
compiled XPath.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias

import cssselect
from cssselect import HTMLTranslator, SelectorError
from lxml import etree
from lxml import html as lxml_html

if TYPE_CHECKING:
    from lxml.etree import _XPathObject

#: An element of a page's tree (or of any lxml tree, such as the XML trafilatura returns).
Element: TypeAlias = etree._Element
#: what a bad selector raises (syntax, or a pseudo-class the translator does not know)
BadSelector = SelectorError


class _Translator(HTMLTranslator):
    """cssselect's HTML translation, with a cheap test before the exact one for ``.class`` and
    ``[attr~=word]``: a word that is in the attribute's space-separated list is in its raw text,
    and ``contains()`` on the raw text spares most elements the normalize-space and concat that
    made class selectors the costliest part of an extraction."""

    def xpath_attrib_includes(self, xpath: Any, name: str, value: str | None) -> Any:
        if value and value.split() == [value]:
            xpath.add_condition(f"contains({name}, {self.xpath_literal(value)})")
        return super().xpath_attrib_includes(xpath, name, value)


#: Elements inside a line of text (a run of text goes on across them), not blocks of their own.
INLINE_TAGS = frozenset(
    {"a", "abbr", "acronym", "b", "bdi", "bdo", "big", "br", "cite", "code", "del", "dfn", "em", "font", "i"}
    | {"img", "ins", "kbd", "mark", "nobr", "q", "s", "samp", "small", "span", "strike", "strong", "sub"}
    | {"sup", "tt", "u", "var", "wbr"}
)
_TRANSLATOR = _Translator()
#: A selector group on a scope of more elements than this is matched one selector at a time and the
#: results merged here: libxml2 merges the node-sets of an XPath union in time quadratic in their sizes.
_UNION_MAX_ELEMENTS = 4096
_COUNT_DESCENDANTS = etree.XPath("count(descendant::*)")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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


@cache
def _parts(selector: str) -> tuple[etree.XPath, ...]:
    """Each selector of a group on its own, as ``compiled`` would translate it within the group."""
    return tuple(
        etree.XPath(_TRANSLATOR.selector_to_xpath(part, prefix="descendant::", translate_pseudo_elements=True))
        for part in cssselect.parse(selector)
    )


def check_selector(selector: str) -> str:
    """``selector`` unchanged, or BadSelector: profiles fail when loaded, not on their first page."""
    compiled(selector)
    return selector


def select(scope: Element, selector: str) -> list[Element]:
    """The elements inside ``scope`` (the whole document for the root) matching ``selector``, in page order."""
    context = scope.getroottree() if scope.getparent() is None else scope
    parts = _parts(selector)
    if len(parts) > 1 and _count(_COUNT_DESCENDANTS(context)) > _UNION_MAX_ELEMENTS:
        return _merged([_elements(part(context)) for part in parts], scope)
    return _elements(compiled(selector)(context))


def _elements(found: _XPathObject) -> list[Element]:
    """The elements of a node-set, in its order, without comments and processing instructions."""
    if not isinstance(found, list):
        return []
    return [element for element in found if isinstance(element, etree._Element) and isinstance(element.tag, str)]


def _count(found: _XPathObject) -> float:
    """The number an XPath ``count()`` evaluates to."""
    return found if isinstance(found, float) else 0.0


def _merged(found: list[list[Element]], scope: Element) -> list[Element]:
    """The union of node-sets from ``scope``, in page order, without repeats."""
    nonempty = [elements for elements in found if elements]
    if len(nonempty) <= 1:
        return nonempty[0] if nonempty else []
    # one proxy object per node while any is referenced, so identity is node identity
    position = {element: index for index, element in enumerate(scope.iter())}
    return sorted({element for elements in nonempty for element in elements}, key=position.__getitem__)


def select_first(scope: Element, selector: str) -> Element | None:
    found = select(scope, selector)
    return found[0] if found else None


def text(element: Element) -> str:
    """All the text inside ``element`` (comments left out), as it is in the page."""
    return etree.tostring(element, method="text", encoding=str, with_tail=False)


def remove(element: Element) -> None:
    """Take ``element`` out of the tree, keeping the text that follows it: joined to the text before
    it (the previous sibling's tail, else the parent's text). The root stays."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is None:
            _set_text(parent, (parent.text or "") + element.tail)
        else:
            set_tail(previous, (previous.tail or "") + element.tail)
    parent.remove(element)  # its tail goes with it


def set_tail(element: Element, tail: str) -> None:
    """``element.tail = tail``, without the characters lxml refuses to set (control characters)."""
    try:
        element.tail = tail
    except ValueError:  # characters lxml's parser lets through but its setters refuse
        element.tail = _xml_text(tail)


def _set_text(element: Element, text: str) -> None:
    """``element.text = text``, as ``set_tail`` sets a tail."""
    try:
        element.text = text
    except ValueError:
        element.text = _xml_text(text)


def _xml_text(text: str | None) -> str | None:
    """``text`` without what XML 1.0 cannot hold: C0 controls but tab and newlines, U+FFFE, U+FFFF."""
    return _NOT_XML.sub("", text) if text else text


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
