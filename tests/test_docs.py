"""Docs that tests keep honest: every setting, feed key and command is in the README."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.config.settings import FEED_HELP, SETTINGS_HELP
from aggregator.models import FeedSpec, Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_has_help_and_a_readme_row() -> None:
    assert list(SETTINGS_HELP) == [f.name for f in fields(Settings)]
    for name in SETTINGS_HELP:
        assert f"| `{name}` |" in README, name


def test_every_feed_key_has_help_and_a_readme_row() -> None:
    assert set(FEED_HELP) == {f.name for f in fields(FeedSpec)}
    for name in FEED_HELP:
        assert f"| `{name}` |" in README, name


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_documented(command: str) -> None:
    assert f"`aggregator {command}" in README


def test_settings_defaults_in_readme_match_the_code() -> None:
    defaults = Settings()
    for name in (
        "connect_timeout",
        "read_timeout",
        "total_timeout",
        "max_feed_bytes",
        "max_page_bytes",
        "max_redirects",
        "concurrency",
        "per_host_concurrency",
        "retries",
        "max_attempts",
    ):
        value = getattr(defaults, name)
        shown = int(value) if isinstance(value, float) and value.is_integer() else value
        assert f"| `{name}` | `{shown}` |" in README, name


def _layout_drawing() -> dict[str, str]:
    """The Development section's drawing of aggregator/: each entry's name -> its description."""
    section = README[README.index("## Development") :]
    block = section[section.index("```\naggregator/\n") + 4 : section.index("\nbenchmarks/")]
    entries: dict[str, str] = {}
    name = ""
    for line in block.splitlines()[1:]:
        if line.startswith("  ") and not line.startswith("   "):
            parts = re.split(r"\s{2,}", line.strip())  # name, description, [name, description]
            for name, text in zip(parts[::2], parts[1::2], strict=True):
                entries[name] = text
        else:
            entries[name] += " " + line.strip()
    return entries


def test_the_readme_draws_every_module_of_the_package() -> None:
    drawing = _layout_drawing()
    package = Path(__file__).resolve().parents[1] / "aggregator"
    for path in sorted(package.rglob("*.py")):
        if path.stem == "__main__" or (path.stem == "__init__" and path.parent != package):
            continue
        relative = path.relative_to(package)
        if len(relative.parts) == 1:
            assert relative.name in drawing, relative
            continue
        described = drawing.get(relative.parts[0] + "/", "")
        assert re.search(rf"\b{path.stem}\b", described), relative


def test_feeds_import_help_says_what_the_readme_says() -> None:
    """Where --source and --timezone come from when not given: the same in --help and the README."""
    shown = " ".join(CliRunner().invoke(cli, ["feeds", "import", "--help"]).stdout.split())
    assert "(default: each outline's source attribute, else its title)" in shown
    assert "(default: each outline's timezone attribute, else none" in shown
    assert "the source from `--source`, else the outline's `source` attribute, else its title" in README


def test_article_help_says_what_the_readme_says() -> None:
    """Where the source, the zone and the address of a page come from when not given."""
    shown = " ".join(CliRunner().invoke(cli, ["article", "--help"]).stdout.split())
    assert "(default: the site's feed's, else the host name)" in shown
    assert "(default: the site's feed's, else the offset the page's time carries)" in shown
    assert "(with --html; default: its <link rel=canonical>, else og:url)" in shown
    assert "On a site no feed covers, the source is the host name (without `www.`) and the date keeps the" in README
    assert 'else the page\'s own `<link rel="canonical">`, else its `og:url`' in README


def test_the_files_format_md_points_at_are_there() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs"
    text = (docs / "FORMAT.md").read_text(encoding="utf-8")
    pointed = re.findall(r"`(\.\./[^`]+)`", text)
    assert pointed, "FORMAT.md names its reference files"
    for relative in pointed:
        assert (docs / relative).is_file(), relative
