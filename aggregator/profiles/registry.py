"""Which profiles exist, and which one a page or a feed gets.

Each ``*.yaml`` file in this package is one version of one profile, read once from the installed
package (importlib.resources) and checked as it loads. A name without a version means the latest
version; a site is matched by the registrable domain of the page's final URL, and the profile whose
``domains`` is ``["*"]`` (``generic``) is the fallback, chosen when no other profile claims the
site. No two profiles may claim one domain, and no profile may define one version twice.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from aggregator.errors import ConfigError, ExtractError
from aggregator.models import Config, FeedSpec
from aggregator.profiles.load import inline, load_profile
from aggregator.profiles.model import WILDCARD, Profile
from aggregator.urls import host_of, registrable_domain

#: the package whose ``*.yaml`` files are the profiles
_PROFILES_PACKAGE = "aggregator.profiles"


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


def fallback_for(profile: str | Profile | None, url: str) -> Profile | None:
    """The fallback profile, for a page on which every layout of the site's profile found no body
    (the site was redesigned), so that the page is archived meanwhile; None when a profile was
    asked for exactly (a profile object, ``name@version``) or the profile is the fallback itself."""
    if isinstance(profile, Profile) or (profile and "@" in profile):
        return None
    chosen = get_profile(profile) if profile else profile_for_url(url)
    return None if chosen.is_fallback else _by_domain()[WILDCARD]


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
def inline_profile(feed_id: str, selectors: tuple[tuple[str, Any], ...]) -> Profile:
    """The profile of a feed whose site has none, from the selectors its feeds.yaml entry gives
    (``aggregator.profiles.load.inline``: the generic profile's rules with the feed's selectors)."""
    return inline(_by_domain()[WILDCARD], feed_id, selectors)


def feed_profile(feed: FeedSpec) -> str | Profile | None:
    """What extraction is told for a feed's pages: its inline profile, its profile name, or None (by site)."""
    return inline_profile(feed.id, feed.selectors) if feed.selectors else feed.profile


def check_feed_profiles(config: Config) -> None:
    """Every ``profile:`` named in a config exists and every ``selectors:`` block is valid."""
    for feed in config.feeds:
        problem = feed_profile_problem(feed)
        if problem:
            raise ConfigError(f"{config.path}: feed '{feed.id}': {problem}")


def feed_profile_problem(feed: FeedSpec) -> str | None:
    """What is wrong with a feed's ``profile:`` (none by that name) or ``selectors:`` (None: nothing)."""
    try:
        if feed.selectors:
            inline_profile(feed.id, feed.selectors)
        if feed.profile:
            get_profile(feed.profile)
    except (ConfigError, ExtractError) as exc:
        return str(exc)
    return None


@cache
def _registry() -> dict[str, tuple[Profile, ...]]:
    """name -> versions, oldest first."""
    loaded: dict[str, list[Profile]] = {}
    for item in sorted(resources.files(_PROFILES_PACKAGE).iterdir(), key=lambda item: item.name):
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
