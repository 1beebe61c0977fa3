"""Agency datelines are cut from the start of a paragraph, and only from the start."""

from __future__ import annotations

import pytest

from aggregator.profiles.datelines import DATELINES, agency_names, compile_datelines, strip_dateline

ALL = compile_datelines(agency_names())
TEXT = "The presidents discussed regional issues."


@pytest.mark.parametrize(
    ("agency", "dateline"),
    [
        ("tass", "MOSCOW, August 13. /TASS/. "),
        ("tass", "IGORA /Leningrad Region/, December 26. /TASS/. "),
        ("tass", "ST. PETERSBURG, June 3. /TASS/. "),
        ("tass", "NEW YORK, October 3. /TASS/. "),
        ("tass", "PETROPAVLOVSK-KAMCHATSKY, May 1. /TASS/. "),
        ("tass", "N'DJAMENA, January 21. /TASS/. "),
        ("tass", "MOSCOW, August 28. /TASS/: "),
        ("tass", "МОСКВА, 13 августа. /ТАСС/. "),
        ("tass", "ВЕЛИКИЙ НОВГОРОД /Новгородская область/, 1 мая. /ТАСС/. "),
        ("reuters", "LONDON (Reuters) - "),
        ("reuters", "MUMBAI (Reuters) – "),
        ("reuters", "WASHINGTON/LONDON (Reuters) — "),
        ("reuters", "NEW YORK, Dec 29 (Reuters) - "),
        ("reuters", "(Reuters) - "),
        ("ap", "MOSCOW (AP) — "),
        ("ap", "WASHINGTON (AP) -- "),
        ("afp", "PARIS (AFP) - "),
        ("afp", "Paris (AFP) - "),
        ("interfax", "MOSCOW. Dec 13 (Interfax) - "),
        ("interfax", "KYIV. Dec 13 (Interfax-Ukraine) - "),
        ("interfax", "Москва. 13 декабря. ИНТЕРФАКС - "),
        ("ria", "MOSCOW, December 13 (RIA Novosti) - "),
        ("ria", "МОСКВА, 13 дек — РИА Новости. "),
        ("xinhua", "BEIJING, Dec. 13 (Xinhua) -- "),
        ("bloomberg", "(Bloomberg) -- "),
        ("bloomberg", "TOKYO (Bloomberg) -- "),
    ],
)
def test_datelines_are_stripped(agency: str, dateline: str) -> None:
    assert strip_dateline(dateline + TEXT, compile_datelines([agency])) == TEXT
    assert strip_dateline(dateline + TEXT, ALL) == TEXT


@pytest.mark.parametrize(
    "paragraph",
    [
        "The minister told /TASS/. that talks would go on.",
        "Speaking to TASS, MOSCOW, August 13. /TASS/. is how datelines look.",
        "Moscow, August 13. /TASS/. A place not in capitals is no TASS dateline.",
        "MOSCOW, Augustus 13. /TASS/. Not a month.",
        "MOSCOW, August 13 /TASS/ without the full stop after the agency.",
        "Shares rose (Reuters) after the report.",
        "MOSCOW (AP) without a dash is no dateline.",
        TEXT,
    ],
)
def test_other_text_is_left_alone(paragraph: str) -> None:
    assert strip_dateline(paragraph, ALL) == paragraph


def test_a_paragraph_that_is_only_a_dateline_becomes_empty() -> None:
    assert strip_dateline("MOSCOW, August 13. /TASS/.", ALL) == ""
    assert strip_dateline("LONDON (Reuters) -", ALL) == ""


def test_only_the_named_agencies_apply() -> None:
    assert strip_dateline("LONDON (Reuters) - " + TEXT, compile_datelines(["tass"])) == "LONDON (Reuters) - " + TEXT


def test_the_table_covers_the_agencies() -> None:
    assert {"tass", "reuters", "ap", "afp", "interfax", "ria", "xinhua", "bloomberg"} <= set(DATELINES)
    with pytest.raises(KeyError):
        compile_datelines(["nosuch"])
