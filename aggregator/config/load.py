"""feeds.yaml -> Config: finding and reading the file, strict validation of its feeds.

The only user of PyYAML for configuration. Every problem names the file, the feed (when there
is one) and the problem, on one line; a file is refused with all of its problems at once (one
ConfigError holding them, ``feeds.yaml: 3 problems:`` and a line for each), unless it is no YAML
or no mapping at all. What the settings may hold is checked in ``config/settings.py``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from aggregator.config.settings import (
    FEED_HELP,
    INTERVAL_RANGE,
    Problems,
    check_keys,
    checked_duration,
    checked_url,
    known_zone,
    parse_revisit,
    parse_settings,
    shown,
    url_problem,
)
from aggregator.errors import ConfigError
from aggregator.models import Config, FeedSpec, Settings
from aggregator.profiles import feed_profile_problem

#: ``sitemaps: auto``: the Sitemap: lines of the site's robots.txt
AUTO_SITEMAPS = "auto"

ENV_VAR = "AGGREGATOR_CONFIG"
DEFAULT_PATH = Path("feeds.yaml")
#: Largest feeds.yaml read (a thousand feeds take about 100 KB).
MAX_CONFIG_BYTES = 32 * 1024 * 1024

_FEED_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config path: ``--config``, else $AGGREGATOR_CONFIG, else ./feeds.yaml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return DEFAULT_PATH


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a feeds.yaml file (at most MAX_CONFIG_BYTES: ``/dev/zero`` never ends)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: cannot read config: larger than {MAX_CONFIG_BYTES} bytes")
    return parse_config(text, path)


#: PyYAML's safe loader, in C when libyaml is there (several times faster on a large feeds.yaml)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_config(text: str, path: Path) -> Config:
    """Validate YAML text; relative paths resolve against ``path``'s folder."""
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)  # a safe loader (libyaml's when built)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    except Exception as exc:  # PyYAML's scalar constructors raise their own errors
        # A scalar PyYAML recognises but cannot build (``2001-02-30``, ``!!int x``, an integer of
        # more than 4300 digits) raises ValueError, AttributeError ...: still the file's fault.
        raise ConfigError(f"{path}: invalid YAML: {type(exc).__name__}: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with 'settings' and 'feeds'")
    problems = Problems(path)
    problems.value(None, check_keys, data, {"settings", "feeds"}, path, "top level")
    settings = problems.value(Settings(), parse_settings, data.get("settings") or {}, path)
    raw_feeds = data.get("feeds") or []
    if not isinstance(raw_feeds, list):
        problems.add("'feeds' must be a list")
        raw_feeds = []
    feeds: list[FeedSpec] = []
    ids: set[str] = set()
    urls: dict[str, str] = {}  # canonical URL (as ``feeds import`` compares them) -> the first feed
    for index, raw in enumerate(raw_feeds, start=1):
        feed_id, url = _named(raw, "id"), _named(raw, "url")
        url_check = checked_url(url) if url is not None else (None, None)  # once a feed: the costly part
        feed = _parse_feed(raw, path, index, problems, url_check[0])
        if feed_id is not None and feed_id in ids:
            problems.add(f"{_label(raw, index)}: duplicate id")
        elif feed_id is not None:
            ids.add(feed_id)
        key = url_check[1]
        if key is not None and key in urls:
            problems.add(f"{_label(raw, index)}: duplicate url '{url}' (the same feed as {urls[key]})")
        elif key is not None:
            urls[key] = _label(raw, index)
        if feed is not None:
            feeds.append(feed)
    problems.raise_any()
    return Config(path=path, settings=settings, feeds=tuple(feeds))


def _label(raw: Any, index: int) -> str:
    """How the problems of the ``index``-th feed name it: by its id, else by its place."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
        return f"feed '{raw['id']}'"
    return f"feed #{index}"


def _named(raw: Any, key: str) -> str | None:
    """A feed entry's ``id`` or ``url`` as written (stripped), when it is a non-empty string."""
    value = raw.get(key) if isinstance(raw, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _parse_feed(raw: Any, path: Path, index: int, problems: Problems, bad_url: str | None) -> FeedSpec | None:
    """The ``index``-th entry of ``feeds:`` as a FeedSpec, every key checked; None when it has
    problems, each of them added to ``problems``. ``bad_url``: what ``url_problem`` says of its URL
    (stripped), already asked."""
    label = _label(raw, index)
    if not isinstance(raw, dict):
        problems.add(f"{label}: must be a mapping with id, url and source")
        return None
    before = len(problems)
    problems.value(None, check_keys, raw, FEED_HELP, path, label)
    for key in ("id", "url", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            problems.add(f"{label}: missing required field '{key}'")
    feed_id, url, source = (raw[k].strip() if isinstance(raw.get(k), str) else "" for k in ("id", "url", "source"))
    if feed_id and not _FEED_ID.match(feed_id):
        problems.add(f"{label}: id may hold only letters, digits, '.', '_' and '-'")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in source):
        problems.add(f"{label}: source {shown(source)} holds control characters or invalid Unicode")
    if url and bad_url:
        problems.add(f"{label}: bad url '{url}' ({bad_url})")
    timezone = raw.get("timezone")
    if timezone is not None and not (isinstance(timezone, str) and known_zone(timezone)):
        problems.add(f"{label}: unknown time zone '{timezone}'")
    profile = raw.get("profile")
    if profile is not None and (not isinstance(profile, str) or not profile.strip()):
        problems.add(f"{label}: profile must be a profile name")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add(f"{label}: enabled must be true or false")
    revisit: tuple[int, ...] | None = None
    if raw.get("revisit") is not None:
        revisit = problems.value(revisit, parse_revisit, raw["revisit"], path, f"{label}: revisit")
    feed = FeedSpec(
        id=feed_id,
        url=url,
        source=source,
        timezone=str(timezone) if timezone is not None else None,
        profile=profile.strip() if isinstance(profile, str) and profile.strip() else None,
        interval=problems.value(FeedSpec.interval, _parse_interval, raw.get("interval"), path, label),
        enabled=enabled is not False,
        selectors=problems.value(None, _parse_selectors, raw.get("selectors"), path, label),
        sitemaps=problems.value((), _parse_sitemaps, raw.get("sitemaps"), path, label),
        wayback=problems.value((), _parse_prefixes, raw.get("wayback"), path, label),
        include=problems.value((), _parse_patterns, raw.get("include"), path, f"{label}: include"),
        exclude=problems.value((), _parse_patterns, raw.get("exclude"), path, f"{label}: exclude"),
        revisit=revisit,
    )
    problem = feed_profile_problem(feed)  # the profile named exists, the selectors given compile
    if problem:
        problems.add(f"{label}: {problem}")
    return feed if len(problems) == before else None


def _strings(value: Any, path: Path, where: str, what: str) -> tuple[str, ...]:
    """A string or a list of non-empty strings, as a tuple (None: empty)."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
        raise ConfigError(f"{path}: {where}: expected {what} or a list of them, got {shown(value)}")
    return tuple(item.strip() for item in items)


def _parse_sitemaps(value: Any, path: Path, label: str) -> tuple[str, ...]:
    """``sitemaps:``: sitemap URLs, or ``auto`` (robots.txt's Sitemap: lines)."""
    sitemaps = _strings(value, path, f"{label}: sitemaps", "a sitemap URL or auto")
    problems = Problems(path)
    for url in sitemaps:
        problem = None if url == AUTO_SITEMAPS else url_problem(url)
        if problem:
            problems.add(f"{label}: sitemaps: bad url '{url}' ({problem}); or write auto")
    problems.raise_any()
    return sitemaps


def _parse_prefixes(value: Any, path: Path, label: str) -> tuple[str, ...]:
    """``wayback:``: URL prefixes, with or without the scheme (``tass.com/politics/``)."""
    prefixes = _strings(value, path, f"{label}: wayback", "a URL prefix")
    problems = Problems(path)
    for prefix in prefixes:
        bare = re.sub(r"^https?://", "", prefix, flags=re.IGNORECASE)
        if re.match(r"^[a-z][a-z0-9+.-]*:", bare, re.IGNORECASE) and not re.match(r"^[^/]+:[0-9]+(/|$)", bare):
            problem: str | None = "expected http://, https:// or no scheme"
        else:
            problem = url_problem(f"http://{bare}") if bare else "empty"
        if problem:
            problems.add(f"{label}: wayback: bad URL prefix '{prefix}' ({problem})")
    problems.raise_any()
    return prefixes


def _parse_patterns(value: Any, path: Path, where: str) -> tuple[str, ...]:
    """``include:`` / ``exclude:``: regular expressions, each one compiled here to check it."""
    patterns = _strings(value, path, where, "a regular expression")
    problems = Problems(path)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            problems.add(f"{where}: bad regular expression {shown(pattern)}: {exc}")
    problems.raise_any()
    return patterns


def _parse_selectors(value: Any, path: Path, label: str) -> tuple[tuple[str, Any], ...] | None:
    """The ``selectors:`` mapping as sorted, hashable pairs; the profiles module checks the keys."""
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{path}: {label}: selectors must be a mapping (container, headline, body, ...)")
    pairs = []
    problems = Problems(path)
    for key, item in sorted(value.items(), key=lambda pair: str(pair[0])):
        if isinstance(item, list) and all(isinstance(selector, str) for selector in item):
            item = tuple(item)  # of strings only: the pairs are hashed (profiles caches by them)
        if not isinstance(item, str | int | tuple) or isinstance(item, bool):
            problems.add(f"{label}: selectors.{key}: expected a selector or a list of them")
        pairs.append((str(key), item))
    problems.raise_any()
    return tuple(pairs)


def _parse_interval(value: Any, path: Path, label: str) -> int:
    """Seconds, or a number with a unit (90s, 15m, 2h, 1.5d), within INTERVAL_RANGE."""
    if value is None:
        return FeedSpec.interval
    return checked_duration(value, INTERVAL_RANGE, path, label, "interval")
