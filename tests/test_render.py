"""The document format of FORMAT.md, the archive paths, and the round trip through parse_document."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.document.render import (
    MONTHS,
    document_relpath,
    parse_document,
    render_document,
    source_slug,
)
from aggregator.errors import DocumentError

REFERENCE = Path(__file__).parent / "fixtures" / "tass" / "politics-1189047.txt"
MSK = timezone(timedelta(hours=3))


def test_layout() -> None:
    document = render_document(
        title="  Putin  and\tAliyev\n talk ",
        published=datetime(2020, 8, 13, 0, 26, tzinfo=MSK),
        source="TASS",
        paragraphs=["First  paragraph.", "", "  ", "Second\nparagraph."],
        url="https://tass.com/politics/1189047",
    )
    assert document == (
        "\nPUTIN AND ALIYEV TALK\n\n- 13.08.2020\n\nTASS (13 August 2020)\n\n"
        "First paragraph.\n\nSecond paragraph.\n\n<https://tass.com/politics/1189047>"
    )


@pytest.mark.parametrize(("month", "name"), list(enumerate(MONTHS, start=1)))
def test_month_names_and_zero_padding(month: int, name: str) -> None:
    document = render_document(
        title="t", published=datetime(2021, month, 5, 23, 59), source="Reuters", paragraphs=["p"], url="u"
    )
    assert f"\n- 05.{month:02d}.2021\n\nReuters (5 {name} 2021)\n" in document


def test_the_date_is_rendered_in_the_zone_it_comes_in() -> None:
    """21:26 UTC on the 12th is the 13th in Moscow: render_document does not convert."""
    utc = datetime(2020, 8, 12, 21, 26, tzinfo=UTC)
    assert "- 12.08.2020" in render_document(title="t", published=utc, source="S", paragraphs=["p"], url="u")
    moscow = utc.astimezone(MSK)
    assert "- 13.08.2020" in render_document(title="t", published=moscow, source="S", paragraphs=["p"], url="u")


@pytest.mark.parametrize(
    ("title", "paragraphs", "source", "url"),
    [
        ("", ["p"], "S", "u"),
        ("t", [], "S", "u"),
        ("t", ["", " "], "S", "u"),
        ("t", ["p"], " ", "u"),
        ("t", ["p"], "S", ""),
    ],
)
def test_incomplete_documents_are_refused(title: str, paragraphs: list[str], source: str, url: str) -> None:
    with pytest.raises(DocumentError):
        render_document(title=title, published=datetime(2020, 1, 1), source=source, paragraphs=paragraphs, url=url)


@pytest.mark.parametrize(
    ("source", "slug"),
    [
        ("TASS", "tass"),
        ("Interfax Ukraine", "interfax-ukraine"),
        ("  BBC News: World!  ", "bbc-news-world"),
        ("Рейтер", "рейтер"),
        ("../../etc", "etc"),
        ("a/../../b", "a-b"),
        ("C:\\Windows\\system32", "c-windows-system32"),
        ("under_score", "under-score"),
    ],
)
def test_source_slug(source: str, slug: str) -> None:
    assert source_slug(source) == slug


@pytest.mark.parametrize("source", ["", ".", "..", "/", "...", "___", " - "])
def test_source_slug_of_names_without_letters_is_a_safe_stand_in(source: str) -> None:
    slug = source_slug(source)
    assert slug.startswith("source-") and len(slug) == len("source-") + 8
    assert source_slug(source) == slug  # stable


@given(st.text())
def test_source_slug_never_escapes_the_archive_folder(source: str) -> None:
    slug = source_slug(source)
    assert slug and slug not in (".", "..") and "/" not in slug and "\\" not in slug and "\x00" not in slug
    assert not slug.startswith("-") and not slug.endswith("-") and len(slug) <= 64
    assert PurePosixPath("archive", slug).parent == PurePosixPath("archive")


def test_document_relpath() -> None:
    assert document_relpath("TASS", date(2020, 8, 13), 0, "a30330e5f04940d9") == PurePosixPath(
        "tass/2020-08-13/000_a30330e5f04940d9.txt"
    )
    assert document_relpath("TASS", date(2020, 8, 13), 7, "a30330e5f04940d9").name == "007_a30330e5f04940d9.txt"
    assert document_relpath("TASS", date(2020, 8, 13), 1000, "a30330e5f04940d9").name == "1000_a30330e5f04940d9.txt"
    assert document_relpath("../x", datetime(2020, 8, 13, 23, 0), 1, "a30330e5f04940d9") == PurePosixPath(
        "x/2020-08-13/001_a30330e5f04940d9.txt"
    )


@pytest.mark.parametrize(
    ("seq", "article_id"), [(-1, "a30330e5f04940d9"), (0, "../../etc/passwd"), (0, "A30330E5F04940D9"), (0, "a3")]
)
def test_document_relpath_refuses_bad_parts(seq: int, article_id: str) -> None:
    with pytest.raises(DocumentError):
        document_relpath("TASS", date(2020, 8, 13), seq, article_id)


def test_parse_the_reference_document() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    parts = parse_document(text)
    assert parts["title"] == "PRESIDENTS OF RUSSIA AND AZERBAIJAN DISCUSS REGIONAL ISSUES IN PHONE CALL"
    assert (parts["date"], parts["source_line"], parts["source"]) == ("13.08.2020", "TASS (13 August 2020)", "TASS")
    assert parts["published"] == date(2020, 8, 13)
    assert len(parts["paragraphs"]) == 6
    assert parts["url"] == "https://tass.com/politics/1189047"
    assert render_document(
        title=parts["title"], published=parts["published"], source=parts["source"],
        paragraphs=parts["paragraphs"], url=parts["url"],
    ) == text  # fmt: skip


_line = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1).map(lambda s: " ".join(s.split())).filter(bool)


@given(
    title=_line,
    source=_line,
    paragraphs=st.lists(_line, min_size=1, max_size=5),
    day=st.dates(min_value=date(1000, 1, 1)),
)
def test_round_trip(title: str, source: str, paragraphs: list[str], day: date) -> None:
    url = "https://example.org/a"
    text = render_document(title=title, published=day, source=source, paragraphs=paragraphs, url=url)
    parts = parse_document(text)
    assert parts["title"] == " ".join(title.split()).upper()
    assert (parts["source"], parts["published"], parts["paragraphs"], parts["url"]) == (
        source,
        day,
        tuple(paragraphs),
        url,
    )


@pytest.mark.parametrize(
    "text",
    [
        "TITLE\n\n- 13.08.2020\n\nTASS (13 August 2020)\n\np\n\n<u>",  # no leading empty line
        "\nTITLE\n\n- 13.08.2020\n\nTASS (13 August 2020)\n\np\n\n<u>\n",  # trailing newline
        "\nTITLE\n\n- 13.08.2020\n\nTASS (13 August 2020)\n\n<u>",  # no paragraph
        "\nTITLE\n\n- 13.8.2020\n\nTASS (13 August 2020)\n\np\n\n<u>",
        "\nTITLE\n\n- 13.08.2020\n\nTASS (14 August 2020)\n\np\n\n<u>",  # lines disagree
        "\nTITLE\n\n- 13.08.2020\n\nTASS (13 Aug 2020)\n\np\n\n<u>",
        "\nTITLE\n\n- 13.08.2020\n\nTASS (13 August 2020)\n\np\n\nu",
        "\nTITLE\n\n- 13.08.2020\n\nTASS (13 August 2020)\n\np\n\n\n\n<u>",  # an empty paragraph
    ],
)
def test_parse_refuses_what_is_not_a_document(text: str) -> None:
    with pytest.raises(DocumentError):
        parse_document(text)
