"""`aggregator feeds import` / `feeds export`: OPML 2.0 in and out, feeds.yaml edited in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.config.opml import Outline, parse_opml, plan_import
from aggregator.errors import ConfigError
from aggregator.models import FeedSpec
from tests.helpers.archive import invoke
from tests.helpers.site import run_cli

CONFIG = """# Feeds we archive. Keep TASS first.
settings:
  database: archive/archive.db   # beside this file
feeds:
  # TASS in English
  - id: tass-en
    url: 'https://tass.com/rss/v2.xml'
    source: TASS
    timezone: Europe/Moscow
    interval: 15m
"""

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="World">
      <outline type="rss" text="BBC News - World" title="BBC News - World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
      <outline type="rss" text="BBC News - World" xmlUrl="https://feeds.bbci.co.uk/news/world/europe/rss.xml"/>
    </outline>
    <outline type="rss" text="&#1058;&#1040;&#1057;&#1057;" xmlUrl="https://tass.ru/rss/v2.xml"/>
    <outline type="link" text="Not a feed" url="https://example.org/"/>
  </body>
</opml>
"""


def setup(tmp_path: Path, opml: bytes = OPML) -> tuple[Path, Path]:
    config, source = tmp_path / "feeds.yaml", tmp_path / "subscriptions.opml"
    config.write_text(CONFIG, encoding="utf-8")
    source.write_bytes(opml)
    return config, source


def test_import_appends_and_keeps_comments_order_and_quotes(tmp_path: Path) -> None:
    config, source = setup(tmp_path)
    result = invoke("feeds", "import", str(source), "--timezone", "Europe/London", config=config)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"imported 3 feeds into {config}: bbc-news-world, bbc-news-world-2, tass-ru\n"
    assert config.read_text(encoding="utf-8") == CONFIG + (
        "  - id: bbc-news-world\n"
        "    url: https://feeds.bbci.co.uk/news/world/rss.xml\n"
        "    source: BBC News - World\n"
        "    timezone: Europe/London\n"
        "  - id: bbc-news-world-2\n"
        "    url: https://feeds.bbci.co.uk/news/world/europe/rss.xml\n"
        "    source: BBC News - World\n"
        "    timezone: Europe/London\n"
        "  - id: tass-ru\n"
        "    url: https://tass.ru/rss/v2.xml\n"
        "    source: ТАСС\n"
        "    timezone: Europe/London\n"
    )
    assert [f.id for f in load_config(config).feeds] == ["tass-en", "bbc-news-world", "bbc-news-world-2", "tass-ru"]


def test_duplicates_are_refused_whole_or_skipped(tmp_path: Path) -> None:
    config, source = setup(tmp_path)
    assert invoke("feeds", "import", str(source), config=config).returncode == 0
    imported = config.read_text(encoding="utf-8")
    again = invoke("feeds", "import", str(source), config=config)
    assert (again.returncode, again.stdout) == (2, "")
    assert again.stderr == (
        "error: feed 'BBC News - World' (https://feeds.bbci.co.uk/news/world/rss.xml) is "
        "already configured as 'bbc-news-world'\n"
    )
    assert config.read_text(encoding="utf-8") == imported
    skipping = invoke("feeds", "import", str(source), "--skip-existing", config=config)
    assert (skipping.returncode, skipping.stdout) == (0, f"no new feeds in {source}\n")
    assert skipping.stderr.count("skipped: feed ") == 3
    assert config.read_text(encoding="utf-8") == imported


def test_export_then_import_gives_the_same_feeds(tmp_path: Path) -> None:
    config, _ = setup(tmp_path)
    exported = invoke("feeds", "export", config=config)
    assert (exported.returncode, exported.stdout) == (
        0,
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<opml version="2.0">\n'
            "  <head>\n"
            "    <title>aggregator feeds</title>\n"
            "  </head>\n"
            "  <body>\n"
            '    <outline type="rss" text="tass-en" title="tass-en" xmlUrl="https://tass.com/rss/v2.xml" source="TASS" '
            'timezone="Europe/Moscow" />\n'
            "  </body>\n"
            "</opml>\n"
        ),
    )
    out = tmp_path / "out" / "feeds.opml"
    missing = invoke("feeds", "export", "--out", str(out), config=config)
    assert (missing.returncode, missing.stderr) == (
        1,
        f"error: {out}: cannot write: the folder {out.parent} does not exist\n",
    )
    out.parent.mkdir()
    assert invoke("feeds", "export", "--out", str(out), config=config).returncode == 0
    assert out.read_text(encoding="utf-8") == exported.stdout
    assert out.stat().st_mode & 0o777 == 0o644  # like the archive's documents, not mkstemp's 0600
    fresh = tmp_path / "new" / "feeds.yaml"
    result = invoke("feeds", "import", str(out), config=fresh)
    assert result.returncode == 0, result.stderr
    assert fresh.read_text(encoding="utf-8") == (
        "feeds:\n  - id: tass-en\n    url: https://tass.com/rss/v2.xml\n    source: TASS\n    timezone: Europe/Moscow\n"
    )
    assert load_config(fresh).feeds == (
        FeedSpec(id="tass-en", url="https://tass.com/rss/v2.xml", source="TASS", timezone="Europe/Moscow"),
    )


def test_hostile_and_broken_files_are_refused(tmp_path: Path) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b'<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.org/rss"/></body></opml>'
    )
    config, source = setup(tmp_path, bomb)
    result = invoke("feeds", "import", str(source), config=config)
    assert (result.returncode, result.stderr) == (
        2,
        f"error: {source}: refusing an OPML file that declares XML entities or external references\n",
    )
    source.write_bytes(b"<html><body>not opml</body></html>")
    assert invoke("feeds", "import", str(source), config=config).stderr == (
        f"error: {source}: not an OPML file (no <opml><body>)\n"
    )
    source.write_bytes(b"<opml><body><outline")
    assert invoke("feeds", "import", str(source), config=config).stderr.startswith(
        f"error: {source}: not an OPML file: "
    )
    source.write_bytes(b'<opml version="2.0"><body><outline text="x" xmlUrl="ftp://x.org/rss"/></body></opml>')
    bad_url = invoke("feeds", "import", str(source), config=config)
    assert (bad_url.returncode, bad_url.stderr) == (
        2,
        f"error: {source}: outline 'x': bad url 'ftp://x.org/rss' (expected http:// or https://)\n",
    )
    assert config.read_text(encoding="utf-8") == CONFIG


def test_bare_feeds_still_shows_the_table(tmp_path: Path) -> None:
    config, _ = setup(tmp_path)
    result = invoke("feeds", config=config)
    assert result.returncode == 0 and "tass-en" in result.stdout


def opml(*outlines: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><opml version="2.0"><head/><body>' + "".join(outlines) + "</body></opml>"
    ).encode()


def test_an_unparsable_feed_url_is_one_line_naming_the_file_and_the_outline(tmp_path: Path) -> None:
    # urllib raised ValueError for "http://[::1" while titling the outline: a traceback
    config, source = setup(
        tmp_path,
        opml('<outline text="Good" xmlUrl="https://x.org/rss"/>', '<outline text="Loopback" xmlUrl="http://[::1"/>'),
    )
    result = run_cli("feeds", "import", str(source), config=config)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {source}: outline 'Loopback': bad url 'http://[::1' (Invalid IPv6 URL)\n"
    assert config.read_text(encoding="utf-8") == CONFIG  # nothing written, not even the good outline


@pytest.mark.parametrize(
    ("outline", "message"),
    [
        (
            '<outline xmlUrl="http://127.0.0.1:99999/rss"/>',
            "outline #1: bad url 'http://127.0.0.1:99999/rss' (Port out of range",
        ),
        (
            '<outline text="Z" xmlUrl="http://x.org:0/"/>',
            "outline 'Z': bad url 'http://x.org:0/' (the port must be 1 to 65535)",
        ),
        (f'<outline text="Long" xmlUrl="http://{"a" * 64}.org/rss"/>', "outline 'Long': bad url 'http://aaa"),
        ('<outline text="Sp" xmlUrl="http://x.org/a b"/>', "outline 'Sp': bad url 'http://x.org/a b' (spaces"),
        (
            '<outline text="Mars" xmlUrl="http://x.org/" timezone="Mars/Olympus"/>',
            "outline 'Mars': unknown time zone 'Mars/Olympus'",
        ),
        ('<outline text="Dir" xmlUrl="http://x.org/" timezone="Europe"/>', "outline 'Dir': unknown time zone 'Europe'"),
    ],
)
def test_bad_outlines_are_refused_by_parse_opml(outline: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_opml(opml(outline), "subs.opml")
    assert str(info.value).startswith(f"subs.opml: {message}")


def test_control_characters_leave_titles_and_sources() -> None:
    (outline,) = parse_opml(opml('<outline text="A&#x9b;B	C" source=" &#x85; " xmlUrl="http://x.org/"/>'), "s.opml")
    assert (outline.title, outline.source) == ("AB C", None)
    (feed,) = plan_import([outline], ()).feeds
    assert (feed.id, feed.source) == ("ab-c", "AB C")


def test_plan_import_refuses_an_outline_made_elsewhere_with_a_bad_url() -> None:
    with pytest.raises(ConfigError, match=r"^feed 'x': invalid URL 'http://\[::1'"):
        plan_import([Outline(title="x", url="http://[::1")], ())
