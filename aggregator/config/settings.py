"""What a feeds.yaml may say, and the checks of its values: the help text of every setting and
feed key, the range of every number, and whether a URL, proxy, zone or path can be used.

Every number has a finite range (SETTINGS_RANGES, INTERVAL_RANGE) and every URL must be
fetchable, so that a config that passes here cannot overflow a date, hang a wait or fail every
request later. Every problem is a ConfigError whose message names the file and the setting; ``Problems``
collects them, so that a file is refused with all of its problems at once.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.errors import ConfigError, InvalidURL
from aggregator.models import Settings, is_database_url
from aggregator.urls import canonical_url

_DAY = 86400
_GIB = 1 << 30
T = TypeVar("T")


def config_error(path: Path, problems: Sequence[str]) -> ConfigError:
    """One problem as its one line (``feeds.yaml: feed 'a': ...``), several as one error holding
    them all (``feeds.yaml: 3 problems:`` and a line for each)."""
    if len(problems) == 1:
        return ConfigError(f"{path}: {problems[0]}")
    return ConfigError(f"{path}: {len(problems)} problems:", problems=problems)


class Problems:
    """The problems found in one config file, in the order of the file: each check runs whatever
    the others found, and ``raise_any`` refuses the file with all of them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, problem: str) -> None:
        """A problem, said as the file's one-line errors say it after the file's name."""
        self.items.append(problem)

    def record(self, error: ConfigError) -> None:
        """The problems of an error a check raised (one, or the several it holds)."""
        self.items.extend(error.problems or (str(error).removeprefix(f"{self.path}: "),))

    def value(self, default: T, check: Callable[..., T], *args: Any) -> T:
        """What ``check(*args)`` returns, else ``default`` with its problems recorded."""
        try:
            return check(*args)
        except ConfigError as error:
            self.record(error)
            return default

    def raise_any(self) -> None:
        if self.items:
            raise config_error(self.path, self.items)


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
#: arithmetic (pipeline/timing.py) and the fetcher's waits stay within datetime's and SQLite's limits.
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
    "backfill_rate": Bounds(0, 100, "requests per second", open_low=True),
    "warc_max_bytes": Bounds(1 << 20, 100 * _GIB, "bytes", note="1 MiB to 100 GiB"),
    "worker_lease": Bounds(3, 3600, "seconds", note="3 seconds to 1 hour"),
}
#: A feed's ``interval``, in seconds.
INTERVAL_RANGE = Bounds(60, 365 * _DAY, "seconds", note="1 minute to 365 days")
#: Each delay of a ``revisit:`` list, in seconds after the article was first archived.
REVISIT_RANGE = Bounds(60, 365 * _DAY, "seconds", note="1 minute to 365 days")
#: The most delays one ``revisit:`` list may hold.
MAX_REVISITS = 50
#: A duration: seconds, or a number with a unit (90s, 15m, 2h, 1.5d).
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: Longest ``user_agent``: printable ASCII only, since it goes into every request's header.
MAX_USER_AGENT = 512
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")

#: Help text for every setting, in the order the README documents them.
SETTINGS_HELP: dict[str, str] = {
    "database": "SQLite database file (relative to the config file's folder), or a postgresql:// URL; "
    "AGGREGATOR_DATABASE overrides it",
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
    "keep_html": "keep every HTTP exchange of each article page as WARC records in archive_dir/warc/",
    "capture_feeds": "keep every feed document fetched as WARC records too (an unchanged one as a revisit record)",
    "warc_max_bytes": "a WARC file is closed and the next one started once it is this large (and at each UTC day)",
    "respect_robots": "honour robots.txt (Disallow, Crawl-delay) for every feed, page and sitemap request",
    "backfill_rate": "backfill requests per second to one site (registrable domain), live polls counted in",
    "wayback_url": "the Wayback Machine (or a mirror) that backfill asks for old URLs and lost pages",
    "worker_lease": "seconds a worker's claims on feeds hold without a heartbeat: how soon another worker takes "
    "over the feeds of one that died",
    "revisit": "when each archived article is fetched again for edits and removals (delays after it was first "
    "archived), or false",
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
    "sitemaps": "backfill source: sitemap or sitemap index URLs, or auto (the Sitemap: lines of robots.txt)",
    "wayback": "backfill source: URL prefixes (tass.com/politics/) to enumerate in the Wayback Machine",
    "include": "regular expressions: a backfilled URL must match one of them",
    "exclude": "regular expressions: a backfilled URL matching one of them is left out",
    "revisit": "this feed's own revisit delays (replacing the setting's), or false for none",
}


def duration(value: Any) -> Fraction | None:
    """Seconds (exact) of a duration as feeds.yaml writes it, or None when it is not one."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    match = _DURATION.match(str(value))
    # Exact arithmetic: a float would turn 400 digits into infinity, and int(inf) raises.
    return Fraction(match.group(1)) * _UNITS[match.group(2)] if match else None


def parse_revisit(value: Any, path: Path, where: str) -> tuple[int, ...]:
    """``revisit:``: a list of delays after an article was first archived (durations), or false
    for none; returned sorted, each once."""
    if value is False:
        return ()
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{path}: {where}: expected a list of delays (1h, 6h, 1d, ...) or false, got {shown(value)}")
    if len(value) > MAX_REVISITS:
        raise ConfigError(f"{path}: {where}: at most {MAX_REVISITS} delays, got {len(value)}")
    problems = Problems(path)
    delays = {problems.value(0, checked_duration, item, REVISIT_RANGE, path, where, "delay") for item in value}
    problems.raise_any()
    return tuple(sorted(delays))


def checked_duration(value: Any, bounds: Bounds, path: Path, where: str, name: str) -> int:
    """Whole seconds of a duration (an ``interval``, a ``delay``) within ``bounds``, else a
    ConfigError naming where it is and what it is."""
    seconds = duration(value)
    if seconds is None:
        raise ConfigError(f"{path}: {where}: bad {name} {shown(value)} (use seconds or 90s, 15m, 2h, 1d)")
    if seconds not in bounds:
        raise ConfigError(f"{path}: {where}: {name} {shown(value)} is out of range; allowed: {bounds.describe()}")
    return int(seconds)


def check_keys(data: dict[str, Any], allowed: set[str] | dict[str, str], path: Path, where: str) -> None:
    """Refuse every key of ``data`` (in sorted order) that is not ``allowed``."""
    problems = Problems(path)
    for key in sorted(str(k) for k in data if k not in allowed):
        problems.add(f"{where}: unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")
    problems.raise_any()


def parse_settings(raw: Any, path: Path) -> Settings:
    """The ``settings:`` mapping as Settings: defaults for what it leaves out, every value checked,
    the database and archive folder resolved against ``path``'s folder."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 'settings' must be a mapping")
    problems = Problems(path)
    problems.value(None, check_keys, raw, SETTINGS_HELP, path, "settings")
    defaults = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if raw.get(f.name) is None:
            continue
        default = getattr(defaults, f.name)
        if f.name == "revisit":
            values[f.name] = problems.value(default, parse_revisit, raw[f.name], path, "settings.revisit")
            continue
        values[f.name] = problems.value(default, _setting, f.name, raw[f.name], default, path)
    problems.raise_any()
    base = path.parent
    if os.environ.get(DATABASE_ENV):
        values["database"] = os.environ[DATABASE_ENV]
    for key in ("database", "archive_dir"):
        value = values.get(key, getattr(defaults, key))
        # a database URL is kept as written (a Path would fold its "//")
        values[key] = value if key == "database" and is_database_url(value) else base / Path(value)
    return Settings(**values)


#: The environment variable that overrides the ``database`` setting (a worker's server, say).
DATABASE_ENV = "AGGREGATOR_DATABASE"


def _setting(name: str, value: Any, default: Any, path: Path) -> Any:
    """One setting, checked against its default's type, then its range or its format."""
    where = f"settings.{name}"
    value = _coerce(value, default, path, where)
    bounds = SETTINGS_RANGES.get(name)
    if bounds is not None and value not in bounds:
        raise ConfigError(f"{path}: {where}: {shown(value)} is out of range; allowed: {bounds.describe()}")
    if isinstance(default, float):
        value = float(value)  # in range, so finite and small enough for a float
    if name == "user_agent" and not (_PRINTABLE_ASCII.fullmatch(value) and len(value) <= MAX_USER_AGENT):
        raise ConfigError(
            f"{path}: {where}: expected printable ASCII (no control characters), at most "
            f"{MAX_USER_AGENT} characters, got {shown(value)}"
        )
    if name in ("database", "archive_dir") and not _valid_path(value):
        raise ConfigError(f"{path}: {where}: not a usable path (NUL character or invalid Unicode): {shown(value)}")
    if name == "wayback_url":
        problem = url_problem(value)
        if problem:
            raise ConfigError(f"{path}: {where}: expected an http(s) URL, got {shown(value)} ({problem})")
        value = value.rstrip("/")
    if name == "proxy":
        problem = proxy_problem(value)
        if problem:
            raise ConfigError(f"{path}: {where}: expected http://host:port, got {shown(value)} ({problem})")
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
        raise ConfigError(f"{path}: {where}: expected {kind}, got {shown(value)}")
    return value


def shown(value: Any, limit: int = 80) -> str:
    """A value as an error message shows it: its repr, shortened (a message stays one short line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _valid_path(value: str) -> bool:
    """No NUL (no system call takes one) and no lone surrogate (not encodable as UTF-8)."""
    return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)


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
    return checked_url(url)[0]


def checked_url(url: str) -> tuple[str | None, str | None]:
    """``(url_problem(url), None)`` when ``url`` cannot be fetched, else ``(None, its canonical_url)``:
    one normalisation for both (a third of a millisecond: seconds for a feeds.yaml of 10,000 feeds)."""
    if not re.match(r"^https?://[^/\s?#]+", url, re.IGNORECASE):
        return "expected http:// or https://", None
    if any(char.isspace() or unicodedata.category(char) in ("Cc", "Cs") for char in url):
        return "spaces or control characters", None
    try:
        canonical = canonical_url(url)
        ports = urlsplit(url).port, urlsplit(canonical).port
    except InvalidURL as exc:
        return str(exc).removeprefix(f"invalid URL {url!r}: "), None
    except ValueError as exc:  # urllib's own, should one escape canonical_url
        return str(exc), None
    if any(port is not None and not 1 <= port <= 65535 for port in ports):
        return "the port must be 1 to 65535", None
    return None, canonical


def known_zone(name: str) -> bool:
    """An IANA time zone name the system knows (``Europe`` is a folder, not a zone)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, unreadable data
        return False
    return True
