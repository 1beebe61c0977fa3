"""What a profile is: the frozen records extraction reads, and the keys a profile file may have.

A profile is one version of one publisher's article layout, as data: CSS selectors for the
container, headline, body scopes, blocks and what is never body; where the time is written; the
gates and datelines. ``aggregator.profiles.load`` builds these records from YAML and checks them;
``aggregator.profiles.registry`` knows which exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date

WILDCARD = "*"
TIME_FORMATS = frozenset({"unix", "iso", "json-ld"})
TIME_SCOPES = frozenset({"document", "container"})
CONTAINER_FALLBACKS = frozenset({"densest"})
SECOND_OPINIONS = frozenset({"trafilatura"})
#: joins the fallback's id to the site profile's in Article.extractor: "generic@7 via tass@2019"
VIA = " via "


@dataclass(frozen=True)
class TimeSource:
    """Where a page may say when it was published: the first usable one wins."""

    selector: str
    format: str  # "unix" (epoch seconds), "iso" (ISO 8601), "json-ld" (datePublished in the script)
    via: str  # recorded as Article.published_via, e.g. "page:dateformat"
    attribute: str | None = None  # None: the element's text
    scope: str = "document"  # or "container": only inside the article container


@dataclass(frozen=True)
class NotArticleRule:
    """A page with no body that shows one of these is not an article (a gallery, a section front)."""

    selectors: tuple[str, ...] = ()
    text: tuple[str, ...] = ()  # raw markers searched in the HTML source


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    valid_from: date
    domains: tuple[str, ...]  # registrable domains, or ("*",) for the fallback
    container: tuple[str, ...]  # the article container: first selector that matches wins
    headline: tuple[str, ...]
    blocks: str  # body blocks inside the body scopes, e.g. "p, h2, h3, li, blockquote"
    body: tuple[str, ...] = ()  # body scopes inside the container; () = the container itself
    lead: tuple[str, ...] = ()  # never body
    remove: tuple[str, ...] = ()  # never body: media, captions, tags, share, related, embeds
    keep: tuple[str, ...] = ()  # never removed, nor what holds them: a quoted post in an embed wrapper
    time: tuple[TimeSource, ...] = ()
    title_suffix: re.Pattern[str] | None = None  # cut from og:title / <title>
    datelines: tuple[re.Pattern[str], ...] = ()
    not_article: NotArticleRule = NotArticleRule()
    min_body_chars: int = 1  # less body text than this: too_short
    max_link_density: float = 1.0  # a block with more of its text in links is dropped
    boilerplate: re.Pattern[str] | None = None  # short blocks matching it are dropped
    boilerplate_max_chars: int = 0
    container_fallback: str | None = None  # "densest": score the page when no selector matches
    unlikely: re.Pattern[str] | None = None  # class/id of elements the fallback passes over
    second_opinion: str | None = None  # "trafilatura": its body wins when ours covers too little of it

    @property
    def id(self) -> str:
        """``name@version``, the value of ``Article.extractor``."""
        return f"{self.name}@{self.version}"

    @property
    def is_fallback(self) -> bool:
        return self.domains == (WILDCARD,)


def fallback_from(extractor: str) -> str | None:
    """The site profile that found no body when ``extractor`` is the fallback's ("generic@7 via tass@2019"
    gives "tass@2019"), else None: what the profile-drift alarms count."""
    _, via, site = extractor.partition(VIA)
    return site if via else None


#: The keys a profile file may have: exactly the fields of Profile.
PROFILE_KEYS = frozenset(field.name for field in fields(Profile))
#: What a feed may give under ``selectors:`` in feeds.yaml, for a site that has no profile.
INLINE_KEYS = frozenset(
    {"container", "headline", "body", "blocks", "lead", "remove", "title_suffix", "datelines", "min_body_chars"}
)
