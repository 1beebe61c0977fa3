from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.config import find_config, load_config, parse_config
from aggregator.config import load as config_module
from aggregator.config.settings import INTERVAL_RANGE, SETTINGS_HELP, SETTINGS_RANGES
from aggregator.errors import ConfigError, ExtractError
from aggregator.models import Config, FeedSpec, Settings
from aggregator.pipeline.timing import MAX_SERVER_DELAY, next_poll, page_retry_at
from aggregator.profiles import check_feed_profiles, get_profile

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_shipped_config_archives_tass() -> None:
    config = load_config(ROOT / "feeds.yaml")
    assert config.feeds == (
        FeedSpec(
            id="tass-en",
            url="https://tass.com/rss/v2.xml",
            source="TASS",
            timezone="Europe/Moscow",
            interval=900,
            sitemaps=("https://tass.com/sitemap.xml",),
        ),
    )
    assert config.settings.database == ROOT / "archive" / "archive.db"
    assert config.settings.archive_dir == ROOT / "archive"
    assert config.settings.allow_private_networks is False


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    config = parse_config("feeds:\n  - {id: a, url: 'http://x.org/rss', source: X}\n", tmp_path / "f.yaml")
    assert config.settings == Settings(database=tmp_path / "archive/archive.db", archive_dir=tmp_path / "archive")
    assert config.feeds[0] == FeedSpec(id="a", url="http://x.org/rss", source="X")


def test_all_settings(tmp_path: Path) -> None:
    text = """
settings:
  database: db/x.db
  archive_dir: /srv/archive
  write_text: false
  user_agent: test
  connect_timeout: 1
  read_timeout: 2.5
  total_timeout: 3
  max_feed_bytes: 100
  max_page_bytes: 200
  max_redirects: 3
  concurrency: 4
  per_host_concurrency: 1
  retries: 0
  retry_backoff: 0.5
  max_retry_after: 5
  proxy: http://127.0.0.1:3128
  allow_private_networks: true
  max_attempts: 2
feeds:
  - {id: a, url: 'https://x.org/rss', source: X, timezone: Europe/Moscow, profile: tass, interval: 2h,
     enabled: false}
"""
    config = parse_config(text, tmp_path / "f.yaml")
    assert config.settings == Settings(
        database=tmp_path / "db/x.db",
        archive_dir=Path("/srv/archive"),
        write_text=False,
        user_agent="test",
        connect_timeout=1.0,
        read_timeout=2.5,
        total_timeout=3.0,
        max_feed_bytes=100,
        max_page_bytes=200,
        max_redirects=3,
        concurrency=4,
        per_host_concurrency=1,
        retries=0,
        retry_backoff=0.5,
        max_retry_after=5.0,
        proxy="http://127.0.0.1:3128",
        allow_private_networks=True,
        max_attempts=2,
    )
    assert config.feeds[0] == FeedSpec(
        id="a",
        url="https://x.org/rss",
        source="X",
        timezone="Europe/Moscow",
        profile="tass",
        interval=7200,
        enabled=False,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds: [\n", "invalid YAML (line 2, column 1)"),
        ("settings: {colour: red}\n", "settings: unknown key 'colour'"),
        ("feedz: []\n", "top level: unknown key 'feedz'"),
        ("feeds:\n  - {id: a, url: 'http://x.org/'}\n", "feed 'a': missing required field 'source'"),
        ("feeds:\n  - {url: 'http://x.org/', source: X}\n", "feed #1: missing required field 'id'"),
        ("feeds:\n  - {id: a, url: 'ftp://x.org/', source: X}\n", "feed 'a': bad url 'ftp://x.org/'"),
        ("feeds:\n  - {id: a, url: 'x.org', source: X}\n", "feed 'a': bad url 'x.org'"),
        (
            "feeds:\n  - {id: a, url: 'http://x.org/', source: X, timezone: Europe/Moskow}\n",
            "feed 'a': unknown time zone 'Europe/Moskow'",
        ),
        (
            "feeds:\n  - {id: a, url: 'http://x.org/', source: X}\n  - {id: a, url: 'http://y.org/', source: Y}\n",
            "feed 'a': duplicate id",
        ),
        ("feeds:\n  - {id: a, url: 'http://x.org/', source: X, color: red}\n", "feed 'a': unknown key 'color'"),
        (
            "feeds:\n  - {id: a, url: 'http://x.org/', source: X, interval: 10s}\n",
            "feed 'a': interval '10s' is out of range; allowed: 60 to 31536000 seconds (1 minute to 365 days)",
        ),
        ("feeds:\n  - {id: a, url: 'http://x.org/', source: X, interval: soon}\n", "feed 'a': bad interval 'soon'"),
        ("feeds:\n  - {id: '../x', url: 'http://x.org/', source: X}\n", "feed '../x': id may hold only"),
        ("settings: {concurrency: many}\n", "settings.concurrency: expected int, got 'many'"),
        ("settings: {write_text: 'yes'}\n", "settings.write_text: expected bool, got 'yes'"),
        ("settings: {proxy: 'socks://x'}\n", "settings.proxy: expected http://host:port"),
        ("settings: {total_timeout: 0}\n", "settings.total_timeout: 0 is out of range; allowed: over 0, up to 86400"),
        ("- a\n", "the top level must be a mapping"),
        ("settings: {revisit: 1h}\n", "settings.revisit: expected a list of delays (1h, 6h, 1d, ...) or false"),
        ("settings: {revisit: [1h, soon]}\n", "settings.revisit: bad delay 'soon'"),
        ("settings: {revisit: [30s]}\n", "settings.revisit: delay '30s' is out of range; allowed: 60 to"),
        (
            "feeds:\n  - {id: a, url: 'http://x.org/', source: X, revisit: [400d]}\n",
            "feed 'a': revisit: delay '400d' is out of range",
        ),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "feeds.yaml"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    error = str(info.value)
    assert error.startswith(f"{path}: ")
    assert message in error
    assert "\n" not in error


def assert_well_formed(error: ConfigError, path: Path) -> None:
    """One line naming the file; or, for several problems, a headline naming the file and how
    many, then one indented line for each (each one line of its own)."""
    first, *rest = str(error).split("\n")
    assert first.startswith(f"{path}: ") and "\r" not in str(error)
    if rest:
        assert first == f"{path}: {len(rest)} problems:" and len(rest) >= 2
        assert [line.removeprefix("  ") for line in rest] == list(error.problems)
        assert all(line.startswith("  ") and line[2:].strip() == line[2:] and line[2:] for line in rest)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    text = (
        "settings: {concurrency: 0, colour: red, retries: many}\n"
        "feeds:\n"
        "  - {id: a, url: 'http://x.org/rss', source: X, timezone: Mars/Base, interval: 10s}\n"
        "  - {url: 'http://y.org/rss'}\n"
        "  - {id: c, url: 'http://z.org/rss', source: Z, profile: nosuch, sitemaps: ['ftp://z.org/s', 'z.org/t']}\n"
        "  - just a string\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    with pytest.raises(ExtractError) as unknown:
        get_profile("nosuch")
    problems = [
        "settings: unknown key 'colour' (allowed: " + ", ".join(sorted(SETTINGS_HELP)) + ")",
        "settings.concurrency: 0 is out of range; allowed: 1 to 1000",
        "settings.retries: expected int, got 'many'",
        "feed 'a': unknown time zone 'Mars/Base'",
        "feed 'a': interval '10s' is out of range; allowed: 60 to 31536000 seconds (1 minute to 365 days)",
        "feed #2: missing required field 'id'",
        "feed #2: missing required field 'source'",
        "feed 'c': sitemaps: bad url 'ftp://z.org/s' (expected http:// or https://); or write auto",
        "feed 'c': sitemaps: bad url 'z.org/t' (expected http:// or https://); or write auto",
        f"feed 'c': {unknown.value}",  # unknown profile 'nosuch' (known: ...)
        "feed #4: must be a mapping with id, url and source",
    ]
    assert info.value.problems == tuple(problems)
    assert str(info.value) == "\n".join([f"{path}: 11 problems:", *(f"  {problem}" for problem in problems)])
    assert_well_formed(info.value, path)


def test_a_file_with_one_problem_reads_as_one_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    with pytest.raises(ConfigError) as info:
        parse_config("feeds:\n  - {id: a, url: 'http://x.org/', source: X, timezone: Mars/Base}\n", path)
    assert (str(info.value), info.value.problems) == (f"{path}: feed 'a': unknown time zone 'Mars/Base'", ())


def test_duplicate_feed_urls_are_refused_naming_both_feeds(tmp_path: Path) -> None:
    """Compared in the canonical form ``feeds import`` compares them in: case of the host, default
    port, tracking parameters and fragment make no other feed."""
    path = tmp_path / "feeds.yaml"
    text = (
        "feeds:\n"
        "  - {id: a, url: 'https://x.org/rss', source: X}\n"
        "  - {id: b, url: 'HTTPS://X.ORG:443/rss?utm_source=tw#top', source: X}\n"
        "  - {url: 'https://x.org/rss', source: X}\n"
        "  - {id: a, url: 'https://y.org/rss', source: Y}\n"
        "  - {id: d, url: 'https://x.org/rss?page=2', source: X}\n"  # another feed: another query
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    assert info.value.problems == (
        "feed 'b': duplicate url 'HTTPS://X.ORG:443/rss?utm_source=tw#top' (the same feed as feed 'a')",
        "feed #3: missing required field 'id'",
        "feed #3: duplicate url 'https://x.org/rss' (the same feed as feed 'a')",
        "feed 'a': duplicate id",
    )
    one = "feeds:\n  - {id: a, url: 'http://x.org/', source: X}\n  - {id: b, url: 'http://x.org', source: Y}\n"
    with pytest.raises(ConfigError) as single:
        parse_config(one, path)
    assert str(single.value) == f"{path}: feed 'b': duplicate url 'http://x.org' (the same feed as feed 'a')"


def test_a_multi_problem_error_survives_pickling(tmp_path: Path) -> None:
    import pickle

    with pytest.raises(ConfigError) as info:
        parse_config("settings: {retries: x, concurrency: 0}\n", tmp_path / "f.yaml")
    again = pickle.loads(pickle.dumps(info.value))
    assert (str(again), again.problems) == (str(info.value), info.value.problems)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_a_config_file_is_read_up_to_a_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(FEED, encoding="utf-8")
    assert load_config(path).feeds[0].id == "a"
    monkeypatch.setattr(config_module, "MAX_CONFIG_BYTES", len(FEED) - 1)  # /dev/zero was read for ever
    with pytest.raises(ConfigError, match=rf"^{path}: cannot read config: larger than {len(FEED) - 1} bytes$"):
        load_config(path)


def test_find_config_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGGREGATOR_CONFIG", "/etc/agg.yaml")
    assert find_config("x.yaml") == Path("x.yaml")
    assert find_config(None) == Path("/etc/agg.yaml")
    monkeypatch.delenv("AGGREGATOR_CONFIG")
    assert find_config(None) == Path("feeds.yaml")


def test_inline_selectors_become_sorted_pairs(tmp_path: Path) -> None:
    text = """feeds:
  - id: a
    url: 'https://x.org/rss'
    source: X
    selectors: {headline: h1.title, container: [article, main], min_body_chars: 50}
"""
    (feed,) = parse_config(text, tmp_path / "f.yaml").feeds
    assert feed.selectors == (("container", ("article", "main")), ("headline", "h1.title"), ("min_body_chars", 50))


@pytest.mark.parametrize("value", ["article", "[]", "{container: {a: b}}"])
def test_bad_selectors_shape(tmp_path: Path, value: str) -> None:
    text = f"feeds:\n  - {{id: a, url: 'https://x.org/rss', source: X, selectors: {value}}}\n"
    with pytest.raises(ConfigError, match=r"feed 'a': selectors"):
        parse_config(text, tmp_path / "f.yaml")


# -- ranges: no setting that passes validation may crash or hang later --------------------------

FEED = "feeds:\n  - {id: a, url: 'http://x.org/rss', source: X}\n"


def _error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "feeds.yaml"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    error = str(info.value)
    assert error.startswith(f"{path}: ") and "\n" not in error
    return error


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("proxy: http://127.0.0.1:99999", "settings.proxy: expected http://host:port, got 'http://127.0.0.1:99999'"),
        ("retry_backoff: .inf", "settings.retry_backoff: inf is out of range; allowed: 0 to 3600 seconds"),
        ("connect_timeout: .nan", "settings.connect_timeout: nan is out of range; allowed: over 0, up to 86400"),
        ("read_timeout: .nan", "settings.read_timeout: nan is out of range"),
        ("total_timeout: -.inf", "settings.total_timeout: -inf is out of range"),
        ("max_redirects: -1", "settings.max_redirects: -1 is out of range; allowed: 0 to 30"),
        ("max_feed_bytes: 0", "settings.max_feed_bytes: 0 is out of range; allowed: 1 to 1073741824 bytes (1 GiB)"),
        ("max_page_bytes: 1073741825", "settings.max_page_bytes: 1073741825 is out of range"),
        ("concurrency: 1001", "settings.concurrency: 1001 is out of range; allowed: 1 to 1000"),
        ("per_host_concurrency: 0", "settings.per_host_concurrency: 0 is out of range; allowed: 1 to 100"),
        ("retries: 11", "settings.retries: 11 is out of range; allowed: 0 to 10"),
        ("max_retry_after: .inf", "settings.max_retry_after: inf is out of range; allowed: 0 to 3600 seconds"),
        ("max_attempts: 0", "settings.max_attempts: 0 is out of range; allowed: 1 to 1000"),
        ("page_retry_delay: -1", "settings.page_retry_delay: -1 is out of range; allowed: 0 to 2592000 seconds"),
        ("max_backoff: 99999999999999999999999", "settings.max_backoff: 99999999999999999999999 is out of range"),
        ("retry_backoff: 1" + "0" * 400, "settings.retry_backoff: 1000000"),  # too big for a float
    ],
)
def test_out_of_range_settings_are_refused_naming_value_and_range(tmp_path: Path, setting: str, message: str) -> None:
    assert message in _error(f"settings:\n  {setting}\n{FEED}", tmp_path)


def test_every_range_accepts_its_bounds_and_refuses_just_outside(tmp_path: Path) -> None:
    for name, bounds in SETTINGS_RANGES.items():
        integral = isinstance(getattr(Settings(), name), int)
        step = 1 if integral else 0.001
        inside = [bounds.high] if bounds.open_low else [bounds.low, bounds.high]
        for value in inside:
            config = parse_config(f"settings:\n  {name}: {value}\n{FEED}", tmp_path / "f.yaml")
            assert getattr(config.settings, name) == value
        for value in ([bounds.low] if bounds.open_low else [bounds.low - step]) + [bounds.high + step]:
            assert f"settings.{name}: {value} is out of range" in _error(
                f"settings:\n  {name}: {value}\n{FEED}", tmp_path
            )


@pytest.mark.parametrize("interval", ["3000000d", "9999999999999999999s", "9" * 400, "366d", "59", "59s", "0.5m"])
def test_intervals_outside_one_minute_to_a_year_are_refused(tmp_path: Path, interval: str) -> None:
    error = _error(f"feeds:\n  - {{id: a, url: 'http://x.org/', source: X, interval: {interval}}}\n", tmp_path)
    assert "feed 'a': interval " in error
    assert "is out of range; allowed: 60 to 31536000 seconds (1 minute to 365 days)" in error


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [("60", 60), ("1m", 60), ("1.5m", 90), ("365d", 31536000), ("8760h", 31536000), (" 2h ", 7200)],
)
def test_intervals_inside_the_range(tmp_path: Path, interval: str, seconds: int) -> None:
    text = f"feeds:\n  - {{id: a, url: 'http://x.org/', source: X, interval: '{interval}'}}\n"
    assert parse_config(text, tmp_path / "f.yaml").feeds[0].interval == seconds


@pytest.mark.parametrize(
    ("proxy", "problem"),
    [
        ("http://127.0.0.1:99999", "Port out of range"),
        ("http://127.0.0.1:0", "the port must be 1 to 65535"),
        ("http://proxy:port", "Port could not be cast"),
        ("socks5://127.0.0.1:1080", "expected http:// or https://"),
        ("http://127.0.0.1:3128/path", "no path, query or fragment"),
        ("http://[::1:3128", "Invalid IPv6 URL"),
        ("http://" + "a" * 64 + ".example:3128", "label"),
        ("'http://pro xy:3128'", "spaces or control characters"),
    ],
)
def test_proxy_must_be_a_usable_proxy_url(tmp_path: Path, proxy: str, problem: str) -> None:
    error = _error(f"settings:\n  proxy: {proxy}\n{FEED}", tmp_path)
    assert "settings.proxy: expected http://host:port" in error and problem in error


@pytest.mark.parametrize(
    "proxy", ["http://127.0.0.1:3128", "https://proxy.example/", "http://u:p@[::1]:8080", "http://proxy.example"]
)
def test_usable_proxies_pass(tmp_path: Path, proxy: str) -> None:
    assert parse_config(f"settings:\n  proxy: '{proxy}'\n{FEED}", tmp_path / "f.yaml").settings.proxy == proxy


@pytest.mark.parametrize(
    "agent", ['"agent/1\\n"', '"aggr\\u00e9gateur/1"', '"a\\r\\nX-Injected: 1"', '"tab\\tbed"', "x" * 513]
)
def test_user_agent_is_printable_ascii_of_bounded_length(tmp_path: Path, agent: str) -> None:
    error = _error(f"settings:\n  user_agent: {agent}\n{FEED}", tmp_path)
    assert "settings.user_agent: expected printable ASCII (no control characters), at most 512 characters" in error


def test_a_long_printable_user_agent_passes(tmp_path: Path) -> None:
    agent = "Mozilla/5.0 (compatible; aggregator/0.1; +https://example.org/bot)" + "x" * 400
    assert parse_config(f"settings:\n  user_agent: '{agent}'\n{FEED}", tmp_path / "f.yaml").settings.user_agent == agent


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://[::1", "bad url 'http://[::1' (Invalid IPv6 URL)"),
        ("http://127.0.0.1:99999/rss", "Port out of range"),
        ("http://x.org:0/rss", "the port must be 1 to 65535"),
        ("http://" + "a" * 64 + ".org/rss", "label"),
        ("http://x..org/rss", "empty label"),
        ("http://@/rss", "no host"),
        ("http://x.org/a b", "spaces or control characters"),
        ("http://x.org/\\x01", "spaces or control characters"),
    ],
)
def test_feed_urls_must_be_fetchable(tmp_path: Path, url: str, problem: str) -> None:
    error = _error(f'feeds:\n  - {{id: a, url: "{url}", source: X}}\n', tmp_path)
    assert "feed 'a': bad url " in error and problem in error


@pytest.mark.parametrize(
    "url", ["https://пример.рф/rss", "http://[::1]:8080/rss", "http://x.org:65535/", "HTTPS://X.ORG/Feed?a=1#top"]
)
def test_fetchable_feed_urls_pass(tmp_path: Path, url: str) -> None:
    assert parse_config(f"feeds:\n  - {{id: a, url: '{url}', source: X}}\n", tmp_path / "f.yaml").feeds[0].url == url


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "feeds:\n  - {id: a, url: 'http://x.org/', source: X, timezone: Europe}\n",
            "feed 'a': unknown time zone 'Europe'",
        ),  # a folder of zones: IsADirectoryError before
        ("feeds:\n  - {id: a, url: 'http://x.org/', source: X, timezone: 3}\n", "feed 'a': unknown time zone '3'"),
        ('settings: {database: "a\\0b.db"}\n', "settings.database: not a usable path"),
        ('settings: {archive_dir: "\\0"}\n', "settings.archive_dir: not a usable path"),
        ("settings: {retries: 2001-02-30}\n", "invalid YAML: ValueError: day is out of range for month"),
        ("settings: {retries: !!int x}\n", "invalid YAML: ValueError"),
        ("settings: {retries: !!timestamp x}\n", "invalid YAML: "),
        ("settings: {retries: " + "9" * 5000 + "}\n", "invalid YAML: ValueError: Exceeds the limit"),
        (
            "feeds:\n  - {id: a, url: 'http://x.org/', source: X, selectors: {container: [[1]]}}\n",
            "feed 'a': selectors.container: expected a selector or a list of them",
        ),
        ("feeds:\n  - {id: a, url: 'http://x.org/', source: \"A\\eB\"}\n", "feed 'a': source 'A\\x1bB' holds control"),
    ],
)
def test_values_that_crashed_later_are_refused_now(tmp_path: Path, text: str, message: str) -> None:
    assert message in _error(text, tmp_path)


def test_the_readme_states_every_range() -> None:
    rows = {line.split("`")[1]: line for line in README.splitlines() if line.startswith("| `")}
    for name, bounds in SETTINGS_RANGES.items():
        assert f"allowed: {bounds.describe()} |" in rows[name], name
    assert f"allowed: {INTERVAL_RANGE.describe()} |" in rows["interval"]
    assert "printable ASCII, at most 512 characters" in rows["user_agent"]


# -- fuzzing: any mapping of settings and feeds gives a Config or a ConfigError, and any Config
# -- schedules without raising at its extremes

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ODD_STRINGS = [
    "",
    " ",
    "15m",
    "3000000d",
    "9999999999999999999s",
    "http://127.0.0.1:99999",
    "http://[::1",
    "http://x.org/",
    "https://x.org:8080",
    "Europe/Moscow",
    "Europe",
    "é",
    "a\r\nb",
    "\x00",
    "tass",
    ".inf",
    "nan",
    "1e400",
    "-1",
    "0",
    "true",
    "~",
    "http://" + "a" * 64 + ".org/",
]
#: Any YAML scalar (and small lists): the hostile half of every value.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(10**18, 10**300),
    st.integers(-(10**300), -(10**18)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(ODD_STRINGS),
    st.lists(st.integers(-3, 3) | st.text(max_size=3), max_size=3),
)
#: Numbers at and just outside every bound.
EDGES = sorted(
    {edge + delta for bounds in SETTINGS_RANGES.values() for edge in (bounds.low, bounds.high) for delta in (-1, 0, 1)}
    | {0.001, 1e-300, float("inf"), float("nan")}
)


def _in_range(name: str) -> st.SearchStrategy[object]:
    """Values a setting accepts, its bounds included (the open lower bound of a timeout excluded)."""
    bounds = SETTINGS_RANGES[name]
    if isinstance(getattr(Settings(), name), float):
        return st.sampled_from([bounds.high]) | st.floats(bounds.low, bounds.high, exclude_min=bounds.open_low)
    return st.sampled_from([bounds.low, bounds.high]) | st.integers(int(bounds.low), int(bounds.high))


SETTING_VALUES = st.one_of(
    st.fixed_dictionaries({}, optional={name: _in_range(name) for name in SETTINGS_RANGES}),  # these pass
    st.dictionaries(st.sampled_from([*SETTINGS_HELP, "bogus"]), st.sampled_from(EDGES) | SCALARS, max_size=3),
)


@st.composite
def _mostly(draw: st.DrawFn, plausible: st.SearchStrategy[object]) -> object:
    """A plausible value three times in four, else any scalar."""
    return draw(plausible) if draw(st.sampled_from([True, True, True, False])) else draw(SCALARS)


FEED_ENTRIES = _mostly(
    st.fixed_dictionaries(
        {
            "id": _mostly(st.sampled_from(["a", "b", "c-1", "tass.en"])),
            "url": _mostly(st.sampled_from(["http://x.org/rss", "https://127.0.0.1:8443/f", "http://[::1]/f"])),
            "source": _mostly(st.sampled_from(["TASS", "BBC News"])),
        },
        optional={
            "timezone": _mostly(st.sampled_from(["Europe/Moscow", "UTC"])),
            "interval": _mostly(st.sampled_from(["1m", "365d", "366d", "8760h", "59s"]) | st.integers(0, 4 * 10**7)),
            "enabled": _mostly(st.booleans()),
            "profile": _mostly(st.sampled_from(["tass", "generic"])),
            "selectors": _mostly(
                st.dictionaries(
                    st.sampled_from(
                        ["container", "body", "blocks", "title_suffix", "datelines", "min_body_chars", "x"]
                    ),
                    st.sampled_from(["article", "p", "", "[", "(", "tass"]) | SCALARS,
                    max_size=3,
                )
            ),
        },
    )
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_settings=SETTING_VALUES, raw_feeds=st.lists(FEED_ENTRIES, max_size=3))
def test_fuzzed_configs_give_a_config_or_a_config_error(
    raw_settings: dict[str, object], raw_feeds: list[object]
) -> None:
    text = yaml.safe_dump({"settings": raw_settings, "feeds": raw_feeds}, allow_unicode=True)
    try:
        config = parse_config(text, Path("/srv/feeds.yaml"))
        check_feed_profiles(config)  # what the CLI runs next on every config it loads
    except ConfigError as exc:
        assert_well_formed(exc, Path("/srv/feeds.yaml"))
        return
    assert_schedules_at_its_extremes(config)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("settingsfeds:-{}[]'\"!&*|>#%@`,?.0123456789 \n\teinx\\")), max_size=80))
def test_fuzzed_yaml_text_gives_a_config_or_a_config_error(text: str) -> None:
    try:
        parse_config(text, Path("f.yaml"))
    except ConfigError as exc:
        assert_well_formed(exc, Path("f.yaml"))


def test_the_most_extreme_config_schedules(tmp_path: Path) -> None:
    high = {name: bounds.high for name, bounds in SETTINGS_RANGES.items()}
    text = yaml.safe_dump(
        {"settings": high, "feeds": [{"id": "a", "url": "http://x.org/", "source": "X", "interval": "365d"}]}
    )
    assert_schedules_at_its_extremes(parse_config(text, tmp_path / "f.yaml"))


def assert_schedules_at_its_extremes(config: Config) -> None:
    """next_poll and page_retry_at give a time, within the caps, for every feed's interval and the
    settings' backoffs, after any number of failures."""
    settings_ = config.settings
    for feed in config.feeds:
        assert INTERVAL_RANGE.low <= feed.interval <= INTERVAL_RANGE.high
        for errors in (0, 1, 1024, 10**6, 10**9):
            for jitter in (lambda: 0.0, lambda: 1.0):
                at = next_poll(
                    NOW,
                    interval=feed.interval,
                    error_count=errors,
                    server_delay=MAX_SERVER_DELAY,
                    retry_after=float("inf"),
                    max_backoff=settings_.max_backoff,
                    jitter=jitter,
                )
                assert (
                    NOW
                    <= at
                    <= NOW
                    + timedelta(seconds=max(feed.interval * 1.1, settings_.max_backoff, MAX_SERVER_DELAY * 1.1) + 1)
                )
    for attempts in (0, 1, 2, 1000, 10**9):
        at = page_retry_at(NOW, attempts, settings_.page_retry_delay, settings_.max_backoff)
        assert NOW <= at <= NOW + timedelta(seconds=settings_.max_backoff)


def test_every_default_is_inside_its_range() -> None:
    for name, bounds in SETTINGS_RANGES.items():
        assert getattr(Settings(), name) in bounds, name
    assert FeedSpec.interval in INTERVAL_RANGE


def test_revisit_delays_are_read_sorted_once_each_and_false_is_none(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "settings:\n  revisit: [1d, 2h, 90m, 2h]\nfeeds:\n"
        "  - {id: a, url: 'http://x.org/', source: X}\n"
        "  - {id: b, url: 'http://y.org/', source: Y, revisit: false}\n"
        "  - {id: c, url: 'http://z.org/', source: Z, revisit: [1h]}\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.settings.revisit == (5400, 7200, 86400)
    assert [feed.revisit for feed in config.feeds] == [None, (), (3600,)]
    assert Settings().revisit == (3600, 21600, 86400, 259200, 604800)  # 1h, 6h, 1d, 3d, 7d


def test_a_database_url_is_kept_as_written_and_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("settings: {database: 'postgresql://me@db.example:5432/archive'}\nfeeds: []\n", encoding="utf-8")
    monkeypatch.delenv("AGGREGATOR_DATABASE", raising=False)
    assert load_config(path).settings.database == "postgresql://me@db.example:5432/archive"
    monkeypatch.setenv("AGGREGATOR_DATABASE", "postgres://other@db2/x")
    assert load_config(path).settings.database == "postgres://other@db2/x"
    monkeypatch.setenv("AGGREGATOR_DATABASE", "elsewhere/archive.db")  # a file, relative to the config's folder
    assert load_config(path).settings.database == tmp_path / "elsewhere" / "archive.db"
