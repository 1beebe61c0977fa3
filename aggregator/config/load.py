"""feeds.yaml -> Config: every setting with its default and help text, strict validation.

The only user of PyYAML for configuration. Every problem is a ConfigError whose message names
the file, the feed (when there is one) and the problem, on one line. Every number has a finite
range (SETTINGS_RANGES, INTERVAL_RANGE) and every URL must be fetchable, so that a config that
passes here cannot overflow a date, hang a wait or fail every request later.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, fields
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from aggregator.errors import ConfigError, InvalidURL
from aggregator.models import Config, FeedSpec, Settings
from aggregator.urls import canonical_url

ENV_VAR = "AGGREGATOR_CONFIG"
DEFAULT_PATH = Path("feeds.yaml")
#: Largest feeds.yaml read (a thousand feeds take about 100 KB).
MAX_CONFIG_BYTES = 32 * 1024 * 1024

_DAY = 86400
_GIB = 1 << 30


@dataclass(frozen=True)
class Bounds:
    """The allowed range of a number: ``low`` to ``high`` inclusive (``low`` excluded when
    ``open_low``); ``note`` says it in words for the error message and the README."""

    low: int | float
    high: int | float
    unit: str = ""
    open_low: bool = False
    note: str = ""

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float | Fraction) or isinstance(value, bool):
            return False
        # NaN compares false with everything, so it is never inside; infinities are past a bound.
        above = value > self.low if self.open_low else value >= self.low
        return above and value <= self.high

    def describe(self) -> str:
        """``1 to 1073741824 bytes (1 GiB)``, ``over 0, up to 86400 seconds (1 day)``."""
        unit = f" {self.unit}" if self.unit else ""
        note = f" ({self.note})" if self.note else ""
        if self.open_low:
            return f"over {self.low}, up to {self.high}{unit}{note}"
        return f"{self.low} to {self.high}{unit}{note}"


#: The allowed range of every numeric setting. Every value in them is finite, and the scheduling
#: arithmetic (schedule.py) and the fetcher's waits stay within datetime's and SQLite's limits.
SETTINGS_RANGES: dict[str, Bounds] = {
    "connect_timeout": Bounds(0, _DAY, "seconds", open_low=True, note="1 day"),
    "read_timeout": Bounds(0, _DAY, "seconds", open_low=True, note="1 day"),
    "total_timeout": Bounds(0, _DAY, "seconds", open_low=True, note="1 day"),
    "max_feed_bytes": Bounds(1, _GIB, "bytes", note="1 GiB"),
    "max_page_bytes": Bounds(1, _GIB, "bytes", note="1 GiB"),
    "max_redirects": Bounds(0, 30),
    "concurrency": Bounds(1, 1000),
    "per_host_concurrency": Bounds(1, 100),
    "retries": Bounds(0, 10),
    "retry_backoff": Bounds(0, 3600, "seconds", note="1 hour"),
    "max_retry_after": Bounds(0, 3600, "seconds", note="1 hour"),
    "max_attempts": Bounds(1, 1000),
    "page_retry_delay": Bounds(0, 30 * _DAY, "seconds", note="30 days"),
    "max_backoff": Bounds(1, 30 * _DAY, "seconds", note="30 days"),
}
#: A feed's ``interval``, in seconds.
INTERVAL_RANGE = Bounds(60, 365 * _DAY, "seconds", note="1 minute to 365 days")
#: Longest ``user_agent``: printable ASCII only, since it goes into every request's header.
MAX_USER_AGENT = 512
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")

#: Help text for every setting, in the order the README documents them.
SETTINGS_HELP: dict[str, str] = {
    "database": "SQLite database file (relative to the config file's folder)",
    "archive_dir": "folder for the text documents (relative to the config file's folder)",
    "write_text": "write a FORMAT.md text file for every archived article",
    "user_agent": "User-Agent header sent with every request",
    "connect_timeout": "seconds to establish a connection",
    "read_timeout": "seconds to wait for each chunk of a response",
    "total_timeout": "seconds for a whole request, redirects and body included",
    "max_feed_bytes": "largest feed accepted, counted after decompression",
    "max_page_bytes": "largest article page accepted, counted after decompression",
    "max_redirects": "redirects followed per request",
    "concurrency": "requests in flight at once, all hosts together",
    "per_host_concurrency": "requests in flight at once to one host (feeds and pages share it)",
    "retries": "extra attempts for a transient failure (connection error, 5xx, 429)",
    "retry_backoff": "first backoff in seconds; doubles on each retry, with jitter",
    "max_retry_after": "longest Retry-After (seconds) waited for within a run; longer ones fail the item",
    "proxy": "http://host:port proxy for all requests; HTTP_PROXY/HTTPS_PROXY/NO_PROXY apply when unset",
    "allow_private_networks": "allow feeds and pages on loopback/private addresses (off: SSRF guard)",
    "max_attempts": "attempts at an article page before it is marked abandoned",
    "page_retry_delay": "seconds before a failed page is tried again; x4 after each further failure",
    "max_backoff": "longest wait (seconds) between polls of a failing feed, and between page retries",
    "keep_html": "keep each archived page's HTML (gzip-compressed) in the database for re-extraction",
}

#: Help text for every key of a feed.
FEED_HELP: dict[str, str] = {
    "id": "short unique name (letters, digits, '.', '_', '-')",
    "url": "the RSS/Atom feed URL (http or https)",
    "source": "the source name written in documents, e.g. TASS",
    "timezone": "IANA zone of the publisher, e.g. Europe/Moscow; dates are rendered in it",
    "profile": "extraction profile to force (default: chosen by the article's site)",
    "interval": "time between polls: seconds, or 90s / 15m / 2h (1 minute to 365 days)",
    "enabled": "false keeps the feed configured but never polled",
    "selectors": "CSS selectors for a site without a profile: container, headline, body, remove, ...",
}

_FEED_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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


#: PyYAML's safe loader in C when libyaml is there: 0.04 instead of 0.30 ms per feed of a large feeds.yaml
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
    _check_keys(data, {"settings", "feeds"}, path, "top level")
    settings = _parse_settings(data.get("settings") or {}, path)
    raw_feeds = data.get("feeds") or []
    if not isinstance(raw_feeds, list):
        raise ConfigError(f"{path}: 'feeds' must be a list")
    feeds: list[FeedSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_feeds, start=1):
        feed = _parse_feed(raw, path, index)
        if feed.id in seen:
            raise ConfigError(f"{path}: feed '{feed.id}': duplicate id")
        seen.add(feed.id)
        feeds.append(feed)
    return Config(path=path, settings=settings, feeds=tuple(feeds))


def _check_keys(data: dict[str, Any], allowed: set[str] | dict[str, str], path: Path, where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ConfigError(f"{path}: {where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")


def _parse_settings(raw: Any, path: Path) -> Settings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 'settings' must be a mapping")
    _check_keys(raw, SETTINGS_HELP, path, "settings")
    defaults = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if raw.get(f.name) is None:
            continue
        values[f.name] = _setting(f.name, raw[f.name], getattr(defaults, f.name), path)
    base = path.parent
    for key in ("database", "archive_dir"):
        values[key] = base / Path(values.get(key, getattr(defaults, key)))
    return Settings(**values)


def _setting(name: str, value: Any, default: Any, path: Path) -> Any:
    """One setting, checked against its default's type, then its range or its format."""
    where = f"settings.{name}"
    value = _coerce(value, default, path, where)
    bounds = SETTINGS_RANGES.get(name)
    if bounds is not None and value not in bounds:
        raise ConfigError(f"{path}: {where}: {_shown(value)} is out of range; allowed: {bounds.describe()}")
    if isinstance(default, float):
        value = float(value)  # in range, so finite and small enough for a float
    if name == "user_agent" and not (_PRINTABLE_ASCII.fullmatch(value) and len(value) <= MAX_USER_AGENT):
        raise ConfigError(f"{path}: {where}: expected printable ASCII (no control characters), at most "
                          f"{MAX_USER_AGENT} characters, got {_shown(value)}")
    if name in ("database", "archive_dir") and not _valid_path(value):
        raise ConfigError(f"{path}: {where}: not a usable path (NUL character or invalid Unicode): {_shown(value)}")
    if name == "proxy":
        problem = proxy_problem(value)
        if problem:
            raise ConfigError(f"{path}: {where}: expected http://host:port, got {_shown(value)} ({problem})")
    return value


def _coerce(value: Any, default: Any, path: Path, where: str) -> Any:
    """Check a setting against its default's type (bool, int, float, str, Path, optional str);
    an int stays an int here, so that a huge one is reported as written."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:  # str, Path, or None (proxy)
        ok = isinstance(value, str) and value.strip() != ""
    if not ok:
        kind = type(default).__name__ if default is not None else "str"
        kind = {"PosixPath": "path", "WindowsPath": "path"}.get(kind, kind)
        raise ConfigError(f"{path}: {where}: expected {kind}, got {_shown(value)}")
    return value


def _shown(value: Any, limit: int = 80) -> str:
    """A value as an error message shows it: its repr, shortened (a message stays one short line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _valid_path(value: str) -> bool:
    """No NUL (no system call takes one) and no lone surrogate (not encodable as UTF-8)."""
    return "\x00" not in value and not _has_surrogate(value)


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def proxy_problem(value: str) -> str | None:
    """What is wrong with a proxy URL (None: nothing): http or https, a host IDNA can encode, a
    port 1..65535, no path, query or fragment."""
    problem = url_problem(value)
    if problem:
        return problem
    parts = urlsplit(value)  # url_problem parsed it already: no ValueError here
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "a proxy URL has no path, query or fragment"
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be fetched (None: it can): an http or https URL with a host, a valid
    port, a host IDNA can encode, and no spaces or control characters."""
    if not re.match(r"^https?://[^/\s?#]+", url, re.IGNORECASE):
        return "expected http:// or https://"
    if any(char.isspace() or unicodedata.category(char) in ("Cc", "Cs") for char in url):
        return "spaces or control characters"
    try:
        ports = urlsplit(url).port, urlsplit(canonical_url(url)).port
    except InvalidURL as exc:
        return str(exc).removeprefix(f"invalid URL {url!r}: ")
    except ValueError as exc:  # urllib's own, should one escape canonical_url
        return str(exc)
    if any(port is not None and not 1 <= port <= 65535 for port in ports):
        return "the port must be 1 to 65535"
    return None


def known_zone(name: str) -> bool:
    """An IANA time zone name the system knows (``Europe`` is a folder, not a zone)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, unreadable data
        return False
    return True


def _parse_feed(raw: Any, path: Path, index: int) -> FeedSpec:
    label = f"feed #{index}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {label}: must be a mapping with id, url and source")
    if isinstance(raw.get("id"), str) and raw["id"].strip():
        label = f"feed '{raw['id']}'"
    _check_keys(raw, FEED_HELP, path, label)
    for key in ("id", "url", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{path}: {label}: missing required field '{key}'")
    feed_id, url, source = raw["id"].strip(), raw["url"].strip(), raw["source"].strip()
    if not _FEED_ID.match(feed_id):
        raise ConfigError(f"{path}: {label}: id may hold only letters, digits, '.', '_' and '-'")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in source):
        raise ConfigError(f"{path}: {label}: source {_shown(source)} holds control characters or invalid Unicode")
    problem = url_problem(url)
    if problem:
        raise ConfigError(f"{path}: {label}: bad url '{url}' ({problem})")
    timezone = raw.get("timezone")
    if timezone is not None and not (isinstance(timezone, str) and known_zone(timezone)):
        raise ConfigError(f"{path}: {label}: unknown time zone '{timezone}'")
    profile = raw.get("profile")
    if profile is not None and (not isinstance(profile, str) or not profile.strip()):
        raise ConfigError(f"{path}: {label}: profile must be a profile name")
    selectors = _parse_selectors(raw.get("selectors"), path, label)
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{path}: {label}: enabled must be true or false")
    return FeedSpec(
        id=feed_id,
        url=url,
        source=source,
        timezone=str(timezone) if timezone is not None else None,
        profile=profile.strip() if profile else None,
        interval=_parse_interval(raw.get("interval"), path, label),
        enabled=enabled,
        selectors=selectors,
    )


def _parse_selectors(value: Any, path: Path, label: str) -> tuple[tuple[str, Any], ...] | None:
    """The ``selectors:`` mapping as sorted, hashable pairs; the profiles module checks the keys."""
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{path}: {label}: selectors must be a mapping (container, headline, body, ...)")
    pairs = []
    for key, item in sorted(value.items(), key=lambda pair: str(pair[0])):
        if isinstance(item, list) and all(isinstance(selector, str) for selector in item):
            item = tuple(item)  # of strings only: the pairs are hashed (profiles caches by them)
        if not isinstance(item, str | int | tuple) or isinstance(item, bool):
            raise ConfigError(f"{path}: {label}: selectors.{key}: expected a selector or a list of them")
        pairs.append((str(key), item))
    return tuple(pairs)


def _parse_interval(value: Any, path: Path, label: str) -> int:
    """Seconds, or a number with a unit (90s, 15m, 2h, 1.5d), within INTERVAL_RANGE."""
    if value is None:
        return FeedSpec.interval
    number = isinstance(value, str | int | float) and not isinstance(value, bool)
    match = _DURATION.match(str(value)) if number else None
    if not match:
        raise ConfigError(f"{path}: {label}: bad interval {_shown(value)} (use seconds or 90s, 15m, 2h)")
    # Exact arithmetic: a float would turn 400 digits into infinity, and int(inf) raises.
    seconds = Fraction(match.group(1)) * _UNITS[match.group(2)]
    if seconds not in INTERVAL_RANGE:
        raise ConfigError(f"{path}: {label}: interval {_shown(value)} is out of range"
                          f"; allowed: {INTERVAL_RANGE.describe()}")
    return int(seconds)
