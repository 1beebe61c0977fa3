"""A fetched page -> Article: the content type checked, the bytes decoded, the article extracted (pure)."""

from __future__ import annotations

from aggregator.errors import ExtractError
from aggregator.extract.article import extract_article
from aggregator.extract.locate import claimed_url
from aggregator.html import dom
from aggregator.html.charset import decode_html
from aggregator.models import Article, Response
from aggregator.profiles import Profile

#: content types a page may have and still be an article (the rest is refused as ``not_html``)
HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "application/xml", "text/xml")


def article_from_response(response: Response, *, profile: str | Profile | None = None) -> Article:
    """The article of a fetched page (its final URL decides the site); ExtractError when there is none."""
    content_type = response.headers.get("content-type", "")
    if content_type and not content_type.lower().startswith(HTML_TYPES):
        raise ExtractError(f"{response.url}: not an HTML page ({content_type.split(';')[0]})", reason="not_html")
    html = decode_html(response.content, content_type or None)
    return extract_article(html, response.final_url, profile=profile)


def saved_page_address(content: bytes, content_type: str | None = None) -> str | None:
    """The address a saved page claims for itself (``<link rel="canonical">``, else ``og:url``), when
    it is an absolute http(s) URL; None when it claims none."""
    return claimed_url(dom.parse(decode_html(content, content_type)))
