"""feeds.yaml's backfill keys: a feed's ``sitemaps``, ``wayback``, ``include`` and ``exclude``, and the
settings ``respect_robots``, ``backfill_rate`` and ``wayback_url`` (written as tests/test_config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import AUTO_SITEMAPS, load_config, parse_config
from aggregator.errors import ConfigError
from aggregator.models import FeedSpec, Settings

FEED_START = "feeds:\n  - id: tass\n    url: 'https://tass.com/rss/v2.xml'\n    source: TASS\n"


def feed(extra: str = "", settings: str = "") -> str:
    """A feeds.yaml of one feed ``tass`` with ``extra`` keys (YAML lines, indented by the caller's
    four spaces) and ``settings`` lines."""
    block = f"settings:\n  {settings}\n" if settings else ""
    lines = "".join(f"    {line}\n" for line in extra.splitlines())
    return block + FEED_START + lines


def one_feed(text: str, tmp_path: Path) -> FeedSpec:
    (spec,) = parse_config(text, tmp_path / "feeds.yaml").feeds
    return spec


def error(text: str, tmp_path: Path) -> str:
    """The message of the ConfigError ``text`` gives, checked: one line, starting with the file."""
    path = tmp_path / "feeds.yaml"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message and "\r" not in message
    return message


# -- valid values ----------------------------------------------------------------------------


def test_backfill_keys_load_into_tuples(tmp_path: Path) -> None:
    text = feed(
        "sitemaps:\n"
        "  - https://tass.com/sitemap.xml\n"
        "  - auto\n"
        "wayback: [tass.com/politics/, 'https://tass.com/economy/']\n"
        "include: ['/politics/', '/economy/[0-9]+$']\n"
        "exclude: ['/video/', '\\?']"
    )
    assert one_feed(text, tmp_path) == FeedSpec(
        id="tass",
        url="https://tass.com/rss/v2.xml",
        source="TASS",
        sitemaps=("https://tass.com/sitemap.xml", "auto"),
        wayback=("tass.com/politics/", "https://tass.com/economy/"),
        include=("/politics/", "/economy/[0-9]+$"),
        exclude=("/video/", "\\?"),
    )


def test_without_backfill_keys_the_feed_has_no_sources(tmp_path: Path) -> None:
    spec = one_feed(feed(), tmp_path)
    assert (spec.sitemaps, spec.wayback, spec.include, spec.exclude) == ((), (), (), ())
    assert not spec.backfill_sources


def test_sitemaps_auto(tmp_path: Path) -> None:
    spec = one_feed(feed("sitemaps: auto"), tmp_path)
    assert spec.sitemaps == (AUTO_SITEMAPS,) == ("auto",)
    assert spec.backfill_sources


@pytest.mark.parametrize(
    ("line", "field", "value"),
    [
        ("sitemaps: https://tass.com/sitemap.xml", "sitemaps", ("https://tass.com/sitemap.xml",)),
        ("wayback: tass.com/politics/", "wayback", ("tass.com/politics/",)),
        ("include: /politics/", "include", ("/politics/",)),
        ("exclude: '[?]'", "exclude", ("[?]",)),
    ],
)
def test_a_single_string_is_a_one_item_list(tmp_path: Path, line: str, field: str, value: tuple[str, ...]) -> None:
    assert getattr(one_feed(feed(line), tmp_path), field) == value


@pytest.mark.parametrize("key", ["sitemaps", "wayback", "include", "exclude"])
def test_an_empty_list_or_null_is_no_value(tmp_path: Path, key: str) -> None:
    assert getattr(one_feed(feed(f"{key}: []"), tmp_path), key) == ()
    assert getattr(one_feed(feed(f"{key}:"), tmp_path), key) == ()


def test_values_are_stripped(tmp_path: Path) -> None:
    spec = one_feed(feed("sitemaps: ['  auto ', ' https://tass.com/s.xml ']\ninclude: ' /politics/ '"), tmp_path)
    assert spec.sitemaps == ("auto", "https://tass.com/s.xml")
    assert spec.include == ("/politics/",)


def test_wayback_alone_is_a_backfill_source(tmp_path: Path) -> None:
    assert one_feed(feed("wayback: tass.com/"), tmp_path).backfill_sources


def test_backfill_settings(tmp_path: Path) -> None:
    text = feed(settings="respect_robots: false\n  backfill_rate: 0.25\n  wayback_url: 'https://mirror.example/wb/'")
    settings = parse_config(text, tmp_path / "feeds.yaml").settings
    assert settings.respect_robots is False
    assert settings.backfill_rate == 0.25
    assert settings.wayback_url == "https://mirror.example/wb"  # without the final slash


def test_backfill_setting_defaults(tmp_path: Path) -> None:
    settings = parse_config(feed(), tmp_path / "feeds.yaml").settings
    assert (settings.respect_robots, settings.backfill_rate, settings.wayback_url) == (
        True,
        1.0,
        "https://web.archive.org",
    )
    assert (Settings().respect_robots, Settings().backfill_rate) == (True, 1.0)


@pytest.mark.parametrize(("value", "rate"), [("100", 100.0), ("2", 2.0), ("0.001", 0.001), ("1.0e-3", 0.001)])
def test_backfill_rate_inside_its_range(tmp_path: Path, value: str, rate: float) -> None:
    settings = parse_config(feed(settings=f"backfill_rate: {value}"), tmp_path / "feeds.yaml").settings
    assert settings.backfill_rate == rate
    assert isinstance(settings.backfill_rate, float)


def test_the_file_read_from_disk_is_named(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "feeds.yaml"
    path.parent.mkdir()
    path.write_text(feed("include: '('"), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}: feed 'tass': include: bad regular expression"):
        load_config(path)
    path.write_text(feed("sitemaps: auto"), encoding="utf-8")
    assert load_config(path).feeds[0].sitemaps == ("auto",)


# -- bad values: one line naming the file, the feed and the key ------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # sitemaps
        ("sitemaps: ftp://tass.com/s.xml", "feed 'tass': sitemaps: bad url 'ftp://tass.com/s.xml'"),
        ("sitemaps: tass.com/sitemap.xml", "feed 'tass': sitemaps: bad url 'tass.com/sitemap.xml'"),
        ("sitemaps: AUTO", "feed 'tass': sitemaps: bad url 'AUTO'"),  # auto is lower case
        ("sitemaps: 'https://tass.com/a b.xml'", "feed 'tass': sitemaps: bad url"),
        ("sitemaps: 'https://tass.com:99999/s.xml'", "feed 'tass': sitemaps: bad url"),
        ("sitemaps: ''", "feed 'tass': sitemaps: expected a sitemap URL or auto or a list of them, got ''"),
        ("sitemaps: '   '", "feed 'tass': sitemaps: expected"),
        ("sitemaps: ['']", "feed 'tass': sitemaps: expected"),
        ("sitemaps: [auto, 3]", "feed 'tass': sitemaps: expected"),
        ("sitemaps: 5", "feed 'tass': sitemaps: expected a sitemap URL or auto or a list of them, got 5"),
        ("sitemaps: true", "feed 'tass': sitemaps: expected"),
        ("sitemaps: {url: 'https://tass.com/s.xml'}", "feed 'tass': sitemaps: expected"),
        ("sitemaps: [[auto]]", "feed 'tass': sitemaps: expected"),
        # wayback
        ("wayback: ''", "feed 'tass': wayback: expected a URL prefix or a list of them, got ''"),
        ("wayback: 'https://'", "feed 'tass': wayback: bad URL prefix 'https://' (empty)"),
        ("wayback: /politics/", "feed 'tass': wayback: bad URL prefix '/politics/'"),
        ("wayback: 'tass .com/'", "feed 'tass': wayback: bad URL prefix 'tass .com/'"),
        ("wayback: 42", "feed 'tass': wayback: expected a URL prefix or a list of them, got 42"),
        ("wayback: {a: b}", "feed 'tass': wayback: expected"),
        ("wayback: [tass.com/, null]", "feed 'tass': wayback: expected"),
        # include / exclude
        ("include: '['", "feed 'tass': include: bad regular expression '['"),
        ("include: ['/ok/', '(?P<x>']", "feed 'tass': include: bad regular expression '(?P<x>'"),
        ("include: 'a{99999999999}'", "feed 'tass': include: bad regular expression"),
        ("exclude: ['/ok/', '(']", "feed 'tass': exclude: bad regular expression '('"),
        ("exclude: '*x'", "feed 'tass': exclude: bad regular expression '*x'"),
        ("include: ''", "feed 'tass': include: expected a regular expression or a list of them, got ''"),
        ("exclude: ['']", "feed 'tass': exclude: expected a regular expression"),
        ("include: 3", "feed 'tass': include: expected a regular expression or a list of them, got 3"),
        ("exclude: {a: b}", "feed 'tass': exclude: expected"),
        # a misspelt key
        ("sitemap: auto", "feed 'tass': unknown key 'sitemap'"),
        ("includes: [a]", "feed 'tass': unknown key 'includes'"),
    ],
)
def test_bad_feed_values_name_the_file_feed_and_key(tmp_path: Path, line: str, message: str) -> None:
    assert message in error(feed(line), tmp_path)


def test_the_failing_feed_of_several_is_the_one_named(tmp_path: Path) -> None:
    text = FEED_START + "  - {id: 'b', url: 'https://b.org/rss', source: B, include: '['}\n"
    assert "feed 'b': include: bad regular expression '['" in error(text, tmp_path)


@pytest.mark.parametrize("prefix", ["ftp://tass.com/", "file:///etc/", "gopher://tass.com/"])
def test_a_wayback_prefix_of_another_scheme_is_refused(tmp_path: Path, prefix: str) -> None:
    assert "feed 'tass': wayback: bad URL prefix" in error(feed(f"wayback: '{prefix}'"), tmp_path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "backfill_rate: 0",
            "settings.backfill_rate: 0 is out of range; allowed: over 0, up to 100 requests per second",
        ),
        ("backfill_rate: 101", "settings.backfill_rate: 101 is out of range; allowed: over 0, up to 100"),
        ("backfill_rate: 100.001", "settings.backfill_rate: 100.001 is out of range"),
        ("backfill_rate: -1", "settings.backfill_rate: -1 is out of range"),
        ("backfill_rate: .nan", "settings.backfill_rate: nan is out of range"),
        ("backfill_rate: .inf", "settings.backfill_rate: inf is out of range"),
        ("backfill_rate: x", "settings.backfill_rate: expected float, got 'x'"),
        ("backfill_rate: '1'", "settings.backfill_rate: expected float, got '1'"),
        ("backfill_rate: true", "settings.backfill_rate: expected float, got True"),
        ("backfill_rate: [1]", "settings.backfill_rate: expected float"),
        (
            "wayback_url: ftp://web.archive.org",
            "settings.wayback_url: expected an http(s) URL, got 'ftp://web.archive.org'",
        ),
        ("wayback_url: web.archive.org", "settings.wayback_url: expected an http(s) URL, got 'web.archive.org'"),
        ("wayback_url: 'https://web archive.org'", "settings.wayback_url: expected an http(s) URL"),
        ("wayback_url: 'https://web.archive.org:0'", "settings.wayback_url: expected an http(s) URL"),
        ("wayback_url: ''", "settings.wayback_url: expected str, got ''"),
        ("wayback_url: 5", "settings.wayback_url: expected str, got 5"),
        ("respect_robots: 'no'", "settings.respect_robots: expected bool, got 'no'"),
        ("respect_robots: 0", "settings.respect_robots: expected bool, got 0"),
        ("respect_robot: false", "settings: unknown key 'respect_robot'"),
    ],
)
def test_bad_backfill_settings_name_the_file_and_setting(tmp_path: Path, line: str, message: str) -> None:
    assert message in error(feed(settings=line), tmp_path)
