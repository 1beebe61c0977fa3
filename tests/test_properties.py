"""Input safety, property-based (hypothesis): URL canonicalisation, dateline stripping, rendering
and file naming hold for any input, not only for the examples we thought of."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.datelines import compile_datelines, strip_dateline
from aggregator.errors import StoreError
from aggregator.render import document_relpath, parse_document, render_document, source_slug
from aggregator.textfiles import resolve_inside, write_document
from aggregator.urls import TRACKING_PARAMS, canonical_url, is_tracking_param

EXAMPLES = 150
PROPERTIES = settings(max_examples=EXAMPLES, deadline=None)
TASS_DATELINES = compile_datelines(["tass"])

_word = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=1, max_size=8)
_names = st.one_of(_word, st.sampled_from(sorted(TRACKING_PARAMS)), _word.map(lambda w: "utm_" + w))
_hosts = st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10), min_size=1, max_size=3)


@st.composite
def urls(draw: st.DrawFn) -> str:
    host = ".".join([*draw(_hosts), draw(st.sampled_from(["com", "ru", "co.uk"]))])
    path = "/".join(draw(st.lists(_word, max_size=4)))
    query = "&".join(f"{name}={value}" for name, value in draw(st.lists(st.tuples(_names, _word), max_size=5)))
    fragment = draw(st.one_of(st.just(""), _word))
    url = f"{draw(st.sampled_from(['http', 'https', 'HTTP']))}://{host.upper() if draw(st.booleans()) else host}/{path}"
    return url + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


@PROPERTIES
@given(urls())
def test_canonical_urls_are_idempotent_without_tracking_or_fragment(url: str) -> None:
    canonical = canonical_url(url)
    assert canonical_url(canonical) == canonical
    parts = urlsplit(canonical)
    assert parts.fragment == "" and "#" not in canonical
    assert not [name for name, _ in parse_qsl(parts.query, keep_blank_values=True) if is_tracking_param(name)]
    kept = [pair for pair in urlsplit(url).query.split("&") if pair and not is_tracking_param(pair.split("=")[0])]
    assert len(parse_qsl(parts.query, keep_blank_values=True)) == len(kept)


_sentence_words = st.lists(st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9), min_size=1, max_size=8)


@PROPERTIES
@given(_sentence_words, st.sampled_from(["MOSCOW, August 13.", "said", "ST. PETERSBURG, May 1."]),
       st.text(max_size=60))
def test_a_mid_sentence_tass_is_never_removed(words: list[str], middle: str, rest: str) -> None:
    paragraph = " ".join([*words, middle, "/TASS/.", *rest.split()])
    assert strip_dateline(paragraph, TASS_DATELINES) == paragraph


@PROPERTIES
@given(st.text(max_size=120))
def test_stripping_only_ever_removes_a_leading_dateline(paragraph: str) -> None:
    paragraph = " ".join(paragraph.split())
    stripped = strip_dateline(paragraph, TASS_DATELINES)
    assert paragraph.endswith(stripped)
    if stripped != paragraph:
        assert re.match(r".*/(TASS|ТАСС)/[.:]", paragraph[: len(paragraph) - len(stripped)])


_line_text = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40).filter(
    lambda text: " ".join(text.split()) != "")


@PROPERTIES
@given(_line_text, st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)), _line_text,
       st.lists(_line_text, min_size=1, max_size=5), urls())
def test_a_rendered_document_parses_back_into_its_parts(title: str, day: date, source: str,
                                                        paragraphs: list[str], url: str) -> None:
    document = render_document(title=title, published=day, source=source, paragraphs=paragraphs, url=url)
    assert parse_document(document) == {
        "title": " ".join(title.split()).upper(), "date": f"{day:%d.%m.%Y}",
        "source_line": f"{' '.join(source.split())} ({day.day} {day:%B} {day.year})",
        "source": " ".join(source.split()), "published": day,
        "paragraphs": tuple(" ".join(p.split()) for p in paragraphs), "url": url,
    }


@PROPERTIES
@given(st.text(max_size=80), st.dates(), st.integers(0, 10**6), st.text("0123456789abcdef", min_size=16, max_size=16))
def test_a_hostile_source_name_never_leaves_the_archive_folder(tmp_path_factory: pytest.TempPathFactory,
                                                               source: str, day: date, seq: int,
                                                               article_id: str) -> None:
    root = tmp_path_factory.getbasetemp() / "names"
    relpath = document_relpath(source, day, seq, article_id)
    assert relpath.parts[0] == source_slug(source) and relpath.parts[0] not in ("", ".", "..")
    assert "/" not in relpath.parts[0] and "\\" not in relpath.parts[0] and "\0" not in relpath.parts[0]
    assert resolve_inside(root, str(relpath)).is_relative_to(root.resolve())


@PROPERTIES
@given(st.lists(st.sampled_from(["..", ".", "", "a", "b", "/", "\\", "~", "..%2f", "\0"]), min_size=1, max_size=6))
def test_a_hostile_path_is_refused_or_lands_inside(tmp_path_factory: pytest.TempPathFactory, parts: list[str]) -> None:
    root = tmp_path_factory.getbasetemp() / "paths" / "archive"
    root.mkdir(parents=True, exist_ok=True)
    relpath = "/".join(parts) + ".txt"
    try:
        written = write_document(root, relpath, "x")
    except (StoreError, ValueError):
        return
    assert Path(written).resolve().is_relative_to(root.resolve())


def test_property_figures(figures: dict[str, object]) -> None:
    names = [name for name in globals() if name.startswith("test_") and name != "test_property_figures"]
    figures["properties"] = {"properties": len(names), "examples_each": EXAMPLES}
