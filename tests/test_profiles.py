"""The profile registry: loading, choosing by site, versions, and a fixture for every profile."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from aggregator.errors import ConfigError, ExtractError
from aggregator.extract.article import extract_article
from aggregator.profiles import (
    all_profiles,
    get_profile,
    inline_profile,
    load_profile,
    profile_for_url,
    profile_names,
)
from tests.helpers.mock import INLINE_PAGE

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
    assert get_profile("generic").id == "generic@7"


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


# --- a feed's inline selectors (on tests.helpers.mock.INLINE_PAGE) ------------------------------


def inline(**selectors: object) -> tuple[tuple[str, object], ...]:
    return tuple(sorted((key, tuple(v) if isinstance(v, list) else v) for key, v in selectors.items()))


def test_inline_selectors_extract_exactly_what_they_name() -> None:
    profile = inline_profile(
        "example",
        inline(
            container="div.story",
            headline="h1.story-title",
            body=".story-body",
            remove=[".related-links"],
            datelines=["reuters"],
            min_body_chars=50,
        ),
    )
    article = extract_article(INLINE_PAGE, "https://news.example.org/world/1", profile=profile)
    assert (article.title, article.paragraphs, article.extractor, article.published_via) == (
        "Rain expected over the weekend",
        (
            "Forecasters expect heavy rain across the south on Saturday.",
            "The wet spell should clear by Monday, they said in a statement on Friday.",
        ),
        "feed-example@inline",
        "page:meta",
    )


def test_inline_selectors_that_stop_matching_fail_as_no_body() -> None:
    profile = inline_profile("example", inline(container="div.gone"))
    with pytest.raises(ExtractError) as caught:
        extract_article(INLINE_PAGE, "https://news.example.org/world/1", profile=profile)
    assert caught.value.reason == "no_body"


@pytest.mark.parametrize(
    ("selectors", "message"),
    [
        (inline(headline="h1"), "selectors need at least 'container'"),
        (inline(container="div.story", colour="red"), "unknown selectors key 'colour'"),
        (inline(container="div[unclosed"), "bad selectors: SelectorSyntaxError"),
        (inline(container="div", datelines=["pravda"]), "unknown dateline agencies ['pravda']"),
    ],
)
def test_bad_inline_selectors_are_config_errors(selectors: tuple[tuple[str, object], ...], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        inline_profile("example", selectors)
    assert message in str(caught.value)


def test_a_redesign_is_a_new_version_and_old_pages_keep_their_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a redesign the new version is tried first; a page of the old layout (kept for reextract)
    finds no body with it and extracts with the version of its own layout."""
    import dataclasses

    from aggregator import profiles
    from aggregator.profiles import registry

    old = get_profile("tass")
    redesign = dataclasses.replace(
        old,
        version="2030",
        valid_from=date(2030, 1, 1),
        container=(".story",),
        headline=("h1.story__title",),
        body=(),
        lead=(),
    )
    versions = {**registry._registry(), "tass": (old, redesign)}
    old_page = (Path(__file__).parent / "fixtures" / "tass" / "politics-1189047.html").read_text(encoding="utf-8")
    new_page = (
        "<html><head><title>T</title></head><body><div class='story'><h1 class='story__title'>New layout</h1>"
        "<p>MOSCOW, March 3. /TASS/. The first paragraph of a page in the new layout.</p></div></body></html>"
    )
    url = "https://tass.com/politics/1189047"
    before = extract_article(old_page, url)
    monkeypatch.setattr(registry, "_registry", lambda: versions)
    registry._by_domain.cache_clear()
    try:
        assert [p.id for p in profiles.layouts(None, url)] == ["tass@2030", "tass@2019"]
        assert [p.id for p in profiles.layouts("tass@2019", url)] == ["tass@2019"]
        assert extract_article(old_page, url) == before
        article = extract_article(new_page, url)
        assert (article.extractor, article.title, article.paragraphs) == (
            "tass@2030",
            "New layout",
            ("The first paragraph of a page in the new layout.",),
        )
        with pytest.raises(ExtractError) as caught:
            extract_article(old_page, url, profile="tass@2030")
        assert caught.value.reason == "no_body"
    finally:
        monkeypatch.undo()
        registry._by_domain.cache_clear()
    assert get_profile("tass").id == "tass@2019"
