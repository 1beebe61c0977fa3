"""Site profiles: what a publisher's article pages look like, as data.

Each ``*.yaml`` file in this package is one version of one profile (schema: ``PROFILE_KEYS``
below and the comments in ``tass.yaml``). A redesign adds a file with a new ``version`` and a
later ``valid_from`` instead of editing the old one, so ``tass@2019`` keeps meaning what its
fixtures say. A name without a version means the latest version. The profile whose ``domains``
is ``["*"]`` (``generic``) is the fallback, chosen when no other profile claims the site.

The files are read once, from the installed package (importlib.resources), and checked as they
load: unknown keys, bad selectors, bad regular expressions and unknown agencies are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from aggregator.errors import ConfigError, ExtractError
from aggregator.html import dom
from aggregator.models import Config, FeedSpec
from aggregator.profiles.datelines import DATELINES, compile_datelines
from aggregator.urls import host_of, registrable_domain

WILDCARD = "*"
TIME_FORMATS = frozenset({"unix", "iso", "json-ld"})
CONTAINER_FALLBACKS = frozenset({"densest"})
SECOND_OPINIONS = frozenset({"trafilatura"})


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


#: The keys a profile file may have: exactly the fields of Profile.
PROFILE_KEYS = frozenset(field.name for field in fields(Profile))
#: What a feed may give under ``selectors:`` in feeds.yaml, for a site that has no profile.
INLINE_KEYS = frozenset({"container", "headline", "body", "blocks", "lead", "remove", "title_suffix",
                         "datelines", "min_body_chars"})


def get_profile(name: str) -> Profile:
    """``"tass"`` (latest version) or ``"tass@2019"``; unknown: ExtractError ``unknown_profile``."""
    base, _, version = name.partition("@")
    versions = _registry().get(base, ())
    matching = [p for p in versions if p.version == version] if version else versions[-1:]
    if not matching:
        known = ", ".join(p.id for p in all_profiles())
        raise ExtractError(f"unknown profile {name!r} (known: {known})", reason="unknown_profile")
    return matching[0]


def layouts(profile: str | Profile | None, url: str) -> tuple[Profile, ...]:
    """The profiles to try on a page of ``url``, in order: a profile object or ``name@version`` alone;
    a name, or by default the site's profile, as every version newest first, so that a page kept
    from before a redesign still extracts with the version of its own layout. The fallback's
    versions are not layouts: only its latest is tried."""
    if isinstance(profile, Profile):
        return (profile,)
    if profile and "@" in profile:
        return (get_profile(profile),)
    latest = get_profile(profile) if profile else profile_for_url(url)
    if latest.is_fallback:
        return (latest,)
    return tuple(reversed(_registry()[latest.name]))


@cache
def inline_profile(feed_id: str, selectors: tuple[tuple[str, Any], ...]) -> Profile:
    """The profile of a feed whose site has none, from the selectors its feeds.yaml entry gives.

    The generic profile's rules (time sources, boilerplate, gates) apply; the given container,
    headline, body, blocks, lead and title suffix replace the generic ones, and ``remove`` adds to
    them. There is no fallback: selectors that stop matching give a ``no_body`` failure, recorded
    and retried, which is what tells the user the site changed.
    """
    given = dict(selectors)
    unknown = set(given) - INLINE_KEYS
    if unknown:
        raise ConfigError(f"unknown selectors key {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(INLINE_KEYS))})")
    if "container" not in given:
        raise ConfigError("selectors need at least 'container'")
    generic = _by_domain()[WILDCARD]
    try:
        return replace(
            generic,
            name=f"feed-{feed_id}", version="inline", domains=(),
            container=_selectors(_listed(given["container"])),
            headline=_selectors(_listed(given["headline"])) if "headline" in given else generic.headline,
            body=_selectors(_listed(given.get("body", ()))),
            blocks=_selector(given["blocks"]) if "blocks" in given else generic.blocks,
            lead=_selectors(_listed(given.get("lead", ()))),
            remove=(*generic.remove, *_selectors(_listed(given.get("remove", ())))),
            title_suffix=_regex(given.get("title_suffix")) or generic.title_suffix,
            datelines=_datelines(_listed(given.get("datelines", ()))) or generic.datelines,
            min_body_chars=int(given.get("min_body_chars", generic.min_body_chars)),
            container_fallback=None, second_opinion=None,
        )
    except (TypeError, ValueError, re.error, dom.BadSelector) as exc:
        raise ConfigError(f"bad selectors: {type(exc).__name__}: {exc}") from None


def feed_profile(feed: FeedSpec) -> str | Profile | None:
    """What extraction is told for a feed's pages: its inline profile, its profile name, or None (by site)."""
    return inline_profile(feed.id, feed.selectors) if feed.selectors else feed.profile


def check_feed_profiles(config: Config) -> None:
    """Every ``profile:`` named in a config exists and every ``selectors:`` block is valid."""
    for feed in config.feeds:
        try:
            if feed.selectors:
                inline_profile(feed.id, feed.selectors)
            if feed.profile:
                get_profile(feed.profile)
        except (ConfigError, ExtractError) as exc:
            raise ConfigError(f"{config.path}: feed '{feed.id}': {exc}") from None


def _listed(value: Any) -> tuple[str, ...]:
    """A selector list given as one string or a list of strings."""
    items = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"expected selector strings, got {value!r}")
    return items


def _datelines(agencies: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    unknown = set(agencies) - set(DATELINES)
    if unknown:
        raise ValueError(f"unknown dateline agencies {sorted(unknown)} (known: {', '.join(sorted(DATELINES))})")
    return compile_datelines(agencies)


def profile_for_url(url: str) -> Profile:
    """The profile for the site of ``url`` (pass the final URL, after redirects), else the fallback."""
    domain = registrable_domain(host_of(url))
    return _by_domain().get(domain) or _by_domain()[WILDCARD]


def profile_names() -> list[str]:
    """Profile names, the fallback last."""
    return sorted(_registry(), key=lambda name: (get_profile(name).is_fallback, name))


def all_profiles() -> list[Profile]:
    """Every version of every profile."""
    return [profile for name in profile_names() for profile in _registry()[name]]


@cache
def _registry() -> dict[str, tuple[Profile, ...]]:
    """name -> versions, oldest first."""
    loaded: dict[str, list[Profile]] = {}
    for item in sorted(resources.files(__name__).iterdir(), key=lambda item: item.name):
        if item.name.endswith(".yaml"):
            profile = load_profile(item.read_text(encoding="utf-8"), item.name)
            versions = loaded.setdefault(profile.name, [])
            if any(known.version == profile.version for known in versions):
                raise ConfigError(f"{item.name}: profile {profile.id} is defined twice")
            versions.append(profile)
    return {name: tuple(sorted(v, key=lambda p: p.valid_from)) for name, v in loaded.items()}


@cache
def _by_domain() -> dict[str, Profile]:
    index: dict[str, Profile] = {}
    for name in _registry():
        profile = get_profile(name)
        for domain in profile.domains:
            if domain in index:
                raise ConfigError(f"profiles {index[domain].name} and {name} both claim {domain}")
            index[domain] = profile
    if WILDCARD not in index:
        raise ConfigError("no fallback profile (domains: ['*'])")
    return index


def load_profile(text: str, source: str = "<profile>") -> Profile:
    """Parse and check one profile document."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a profile is a mapping")
    unknown = set(data) - PROFILE_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown keys {sorted(unknown)}")
    try:
        return _build(data, source)
    except (KeyError, TypeError, ValueError, re.error, dom.BadSelector) as exc:
        raise ConfigError(f"{source}: {type(exc).__name__}: {exc}") from exc


def _build(data: dict[str, Any], source: str) -> Profile:
    domains = tuple(data["domains"])
    for domain in domains:
        if domain != WILDCARD and registrable_domain(domain) != domain:
            raise ValueError(f"{domain!r} is not a registrable domain")
    profile = Profile(
        name=str(data["name"]),
        version=str(data["version"]),
        valid_from=_date(data["valid_from"]),
        domains=domains,
        container=_selectors(data["container"]),
        headline=_selectors(data["headline"]),
        blocks=_selector(data["blocks"]),
        body=_selectors(data.get("body", ())),
        lead=_selectors(data.get("lead", ())),
        remove=_selectors(data.get("remove", ())),
        time=tuple(_time_source(item) for item in data.get("time", ())),
        title_suffix=_regex(data.get("title_suffix")),
        datelines=_datelines(tuple(data.get("datelines", ()))),
        not_article=_not_article(data.get("not_article") or {}),
        min_body_chars=int(data.get("min_body_chars", 1)),
        max_link_density=float(data.get("max_link_density", 1.0)),
        boilerplate=_regex(data.get("boilerplate"), re.IGNORECASE),
        boilerplate_max_chars=int(data.get("boilerplate_max_chars", 0)),
        container_fallback=data.get("container_fallback"),
        unlikely=_regex(data.get("unlikely"), re.IGNORECASE),
        second_opinion=data.get("second_opinion"),
    )
    if profile.container_fallback not in CONTAINER_FALLBACKS | {None}:
        raise ValueError(f"container_fallback must be one of {sorted(CONTAINER_FALLBACKS)}")
    if profile.second_opinion not in SECOND_OPINIONS | {None}:
        raise ValueError(f"second_opinion must be one of {sorted(SECOND_OPINIONS)}")
    if "@" in profile.name or not profile.version:
        raise ValueError(f"bad profile id {profile.id!r} in {source}")
    return profile


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _selector(selector: str) -> str:
    return dom.check_selector(selector)  # fail at load time, not on the first page


def _selectors(selectors: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_selector(s) for s in selectors)


def _regex(source: str | None, flags: int = 0) -> re.Pattern[str] | None:
    return re.compile(source, flags) if source else None


def _not_article(item: dict[str, Any]) -> NotArticleRule:
    return NotArticleRule(selectors=_selectors(item.get("selectors", ())), text=tuple(item.get("text", ())))


def _time_source(item: dict[str, Any]) -> TimeSource:
    source = TimeSource(**item)
    _selector(source.selector)
    if source.format not in TIME_FORMATS or source.scope not in ("document", "container"):
        raise ValueError(f"bad time source {item!r}")
    return source
