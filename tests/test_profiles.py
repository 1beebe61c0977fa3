"""The profile registry: loading, choosing by site, versions, and a fixture for every profile."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from aggregator.errors import ConfigError, ExtractError
from aggregator.profiles import all_profiles, get_profile, load_profile, profile_for_url, profile_names

PROFILE_FIXTURES = Path(__file__).parent / "fixtures" / "profiles"

MINIMAL = """
name: example
version: "2024"
valid_from: 2024-03-01
domains: [example.org]
container: [".story"]
headline: ["h1"]
blocks: "p"
"""


def test_every_profile_version_has_a_golden_fixture() -> None:
    """fundus style: a profile (each version of it) without an expected document fails here."""
    covered = {
        case["extractor"]
        for path in PROFILE_FIXTURES.glob("*/*.json")
        if "error" not in (case := json.loads(path.read_text(encoding="utf-8"))) and path.with_suffix(".txt").exists()
    }
    missing = [profile.id for profile in all_profiles() if profile.id not in covered]
    assert not missing, f"profiles without a fixture in tests/fixtures/profiles/<name>/: {missing}"


def test_fixture_folders_are_named_after_their_profile() -> None:
    for path in PROFILE_FIXTURES.glob("*/*.json"):
        assert json.loads(path.read_text(encoding="utf-8"))["extractor"].split("@")[0] == path.parent.name


def test_names_and_ids() -> None:
    assert profile_names()[-1] == "generic"
    assert {"tass", "generic"} <= set(profile_names())
    assert get_profile("tass").id == "tass@2019"
    assert get_profile("tass@2019") is get_profile("tass")
    assert get_profile("generic").id == "generic@2"


@pytest.mark.parametrize("name", ["nosuch", "tass@1999", "@2019", ""])
def test_unknown_profile(name: str) -> None:
    with pytest.raises(ExtractError) as caught:
        get_profile(name)
    assert caught.value.reason == "unknown_profile"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://tass.com/politics/1189047", "tass"),
        ("https://www.tass.com/politics/1189047", "tass"),
        ("http://TASS.COM/politics/1", "tass"),
        ("https://tass.ru/politika/1", "generic"),
        ("https://nottass.com/a", "generic"),
        ("https://tass.com.evil.example/a", "generic"),
        ("https://www.bbc.co.uk/news/1", "generic"),
        ("not a url", "generic"),
    ],
)
def test_profile_for_url(url: str, name: str) -> None:
    assert profile_for_url(url).name == name


def test_the_fallback_is_a_profile_like_any_other() -> None:
    generic = get_profile("generic")
    assert generic.is_fallback and not get_profile("tass").is_fallback
    assert (generic.container_fallback, generic.second_opinion) == ("densest", "trafilatura")
    assert get_profile("tass").second_opinion is None  # a site profile is exact: no library guesses
    assert sum(profile.is_fallback for profile in all_profiles()) == 1


def test_load_minimal_profile_with_defaults() -> None:
    profile = load_profile(MINIMAL)
    assert (profile.id, profile.valid_from, profile.domains) == ("example@2024", date(2024, 3, 1), ("example.org",))
    assert (profile.body, profile.remove, profile.datelines, profile.min_body_chars) == ((), (), (), 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("colour: blue", "unknown keys"),
        ('blocks: "p["', "SelectorSyntaxError"),
        ("domains: [www.example.org]", "registrable"),
        ("datelines: [nosuch]", "agencies"),
        ("title_suffix: '(unclosed'", "error"),
        ("container_fallback: magic", "container_fallback"),
        ("second_opinion: magic", "second_opinion"),
        ("time: [{selector: time, format: rfc822, via: x}]", "time source"),
        ("time: [{selector: time, format: iso, via: x, colour: blue}]", "TypeError"),
    ],
)
def test_bad_profiles_are_config_errors(change: str, message: str) -> None:
    key = change.split(":")[0]
    text = "\n".join(line for line in MINIMAL.splitlines() if not line.startswith(f"{key}:")) + "\n" + change
    with pytest.raises(ConfigError, match=message):
        load_profile(text, "bad.yaml")


@pytest.mark.parametrize("text", ["- a list", "name: [unclosed", ""])
def test_not_a_profile_document(text: str) -> None:
    with pytest.raises(ConfigError):
        load_profile(text)
