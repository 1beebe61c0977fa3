"""Profile data -> a checked Profile: a profile file's YAML, or a feed's inline ``selectors:``.

Everything is checked as it loads, so that a bad profile fails when the program starts rather than
on its first page: unknown keys, selectors cssselect cannot translate, regular expressions that do
not compile, unknown dateline agencies, time sources of no known format or scope.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any

import yaml

from aggregator.errors import ConfigError
from aggregator.html import dom
from aggregator.profiles.datelines import DATELINES, agency_names, compile_datelines
from aggregator.profiles.model import (
    CONTAINER_FALLBACKS,
    INLINE_KEYS,
    PROFILE_KEYS,
    SECOND_OPINIONS,
    TIME_FORMATS,
    TIME_SCOPES,
    WILDCARD,
    NotArticleRule,
    Profile,
    TimeSource,
)
from aggregator.urls import registrable_domain


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
        keep=_selectors(data.get("keep", ())),
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


def inline(generic: Profile, feed_id: str, selectors: tuple[tuple[str, Any], ...]) -> Profile:
    """The profile of a feed whose site has none: ``generic`` with the feed's own selectors.

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
    try:
        return replace(
            generic,
            name=f"feed-{feed_id}",
            version="inline",
            domains=(),
            container=_selectors(_listed(given["container"])),
            headline=_selectors(_listed(given["headline"])) if "headline" in given else generic.headline,
            body=_selectors(_listed(given.get("body", ()))),
            blocks=_selector(given["blocks"]) if "blocks" in given else generic.blocks,
            lead=_selectors(_listed(given.get("lead", ()))),
            remove=(*generic.remove, *_selectors(_listed(given.get("remove", ())))),
            title_suffix=_regex(given.get("title_suffix")) or generic.title_suffix,
            datelines=_datelines(_listed(given.get("datelines", ()))) or generic.datelines,
            min_body_chars=int(given.get("min_body_chars", generic.min_body_chars)),
            container_fallback=None,
            second_opinion=None,
        )
    except (TypeError, ValueError, re.error, dom.BadSelector) as exc:
        raise ConfigError(f"bad selectors: {type(exc).__name__}: {exc}") from None


def _listed(value: Any) -> tuple[str, ...]:
    """A selector list given as one string or a list of strings."""
    items = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"expected selector strings, got {value!r}")
    return items


def _datelines(agencies: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    unknown = set(agencies) - set(DATELINES)
    if unknown:
        raise ValueError(f"unknown dateline agencies {sorted(unknown)} (known: {', '.join(agency_names())})")
    return compile_datelines(agencies)


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
    if source.format not in TIME_FORMATS or source.scope not in TIME_SCOPES:
        raise ValueError(f"bad time source {item!r}")
    return source
