from pathlib import Path

import pytest

from aggregator.config import find_config, load_config, parse_config
from aggregator.errors import ConfigError
from aggregator.models import FeedSpec, Settings

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_config_archives_tass() -> None:
    config = load_config(ROOT / "feeds.yaml")
    assert config.feeds == (
        FeedSpec(id="tass-en", url="https://tass.com/rss/v2.xml", source="TASS",
                 timezone="Europe/Moscow", interval=900),
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
        database=tmp_path / "db/x.db", archive_dir=Path("/srv/archive"), write_text=False, user_agent="test",
        connect_timeout=1.0, read_timeout=2.5, total_timeout=3.0, max_feed_bytes=100, max_page_bytes=200,
        max_redirects=3, concurrency=4, per_host_concurrency=1, retries=0, retry_backoff=0.5,
        max_retry_after=5.0, proxy="http://127.0.0.1:3128", allow_private_networks=True, max_attempts=2,
    )
    assert config.feeds[0] == FeedSpec(id="a", url="https://x.org/rss", source="X", timezone="Europe/Moscow",
                                       profile="tass", interval=7200, enabled=False)


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
        ("feeds:\n  - {id: a, url: 'http://x.org/', source: X, timezone: Europe/Moskow}\n",
         "feed 'a': unknown time zone 'Europe/Moskow'"),
        ("feeds:\n  - {id: a, url: 'http://x.org/', source: X}\n  - {id: a, url: 'http://y.org/', source: Y}\n",
         "feed 'a': duplicate id"),
        ("feeds:\n  - {id: a, url: 'http://x.org/', source: X, color: red}\n", "feed 'a': unknown key 'color'"),
        ("feeds:\n  - {id: a, url: 'http://x.org/', source: X, interval: 10s}\n",
         "feed 'a': interval '10s' is below the 1 minute minimum"),
        ("feeds:\n  - {id: a, url: 'http://x.org/', source: X, interval: soon}\n", "feed 'a': bad interval 'soon'"),
        ("feeds:\n  - {id: '../x', url: 'http://x.org/', source: X}\n", "feed '../x': id may hold only"),
        ("settings: {concurrency: many}\n", "settings.concurrency: expected int, got 'many'"),
        ("settings: {write_text: 'yes'}\n", "settings.write_text: expected bool, got 'yes'"),
        ("settings: {proxy: 'socks://x'}\n", "settings.proxy: expected http://host:port"),
        ("settings: {total_timeout: 0}\n", "settings.total_timeout: must be greater than 0"),
        ("- a\n", "the top level must be a mapping"),
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


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


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
