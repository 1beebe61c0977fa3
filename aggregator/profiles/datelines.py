"""Agency datelines: a table of patterns per agency, removed from the start of the first paragraph.

``MOSCOW, August 13. /TASS/. The presidents...`` -> ``The presidents...``. Only the very start of
the text is looked at (every pattern is anchored), so an agency name inside a sentence is never
touched. Profiles name the agencies whose datelines their pages carry (``datelines: [tass]``).
Paragraphs reach this module with whitespace already collapsed to single spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_MONTHS_EN = "January|February|March|April|May|June|July|August|September|October|November|December"
_MONTHS_RU = "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
_UPPER = "A-ZÀ-ÖØ-Þ"
#: a place in capitals: ``MOSCOW``, ``ST. PETERSBURG``, ``NIZHNY NOVGOROD``, ``CÔTE D'IVOIRE``
_PLACE_EN = rf"[{_UPPER}][{_UPPER} .'’\-]*"
_PLACE_RU = r"[А-ЯЁ][А-ЯЁ .'’\-]*"
#: a wire place as the wires write it: ``WASHINGTON/LONDON``, ``NEW YORK, Dec 29``, ``Paris``
_WIRE_PLACE = r"[A-ZÀ-Þ][\w .,'’/\-]{0,60}?"
_WIRE_PLACE_RU = r"[А-ЯЁ][\w .'’\-]{0,40}?"
_DASH = r"\s?[-–—]{1,2}"
#: what follows a dateline: its separating space, or the end of a paragraph holding only the dateline
_END = r"(?:\s+|$)"


def _wire(agency: str) -> str:
    """``PLACE (Agency) - ``: the form Reuters, AP, AFP, Xinhua, Bloomberg and others share."""
    return rf"^(?:{_WIRE_PLACE} )?\((?:{agency})\){_DASH}{_END}"


#: Dateline patterns per agency (regular expression sources, all anchored at the start).
DATELINES: dict[str, tuple[str, ...]] = {
    "tass": (
        # MOSCOW, August 13. /TASS/.   IGORA /Leningrad Region/, December 26. /TASS/:
        rf"^{_PLACE_EN}(?: /[^/]{{1,60}}/)?, (?:{_MONTHS_EN}) \d{{1,2}}\.? /TASS/[.:]{_END}",
        # МОСКВА, 13 августа. /ТАСС/.
        rf"^{_PLACE_RU}(?: /[^/]{{1,60}}/)?, \d{{1,2}} (?:{_MONTHS_RU})\.? /ТАСС/[.:]{_END}",
    ),
    "reuters": (_wire(r"Reuters(?: Breakingviews)?|Thomson Reuters Foundation|IFR"),),
    "ap": (_wire("AP"),),
    "afp": (_wire("AFP"),),
    "interfax": (
        _wire(r"Interfax(?:-[\w-]+)?"),
        # Москва. 13 декабря. ИНТЕРФАКС -
        rf"^{_WIRE_PLACE_RU}\. \d{{1,2}} (?:{_MONTHS_RU})\.? ИНТЕРФАКС(?:-[А-ЯЁ]+)?{_DASH}{_END}",
    ),
    "ria": (
        _wire(r"RIA Novosti|Sputnik"),
        # МОСКВА, 13 дек — РИА Новости.
        rf"^{_PLACE_RU}, \d{{1,2}} [а-я]{{3,8}}\.?{_DASH} РИА Новости\.?{_END}",
    ),
    "xinhua": (_wire("Xinhua"),),
    "bloomberg": (_wire("Bloomberg"),),
}


def agency_names() -> list[str]:
    return sorted(DATELINES)


def compile_datelines(agencies: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """The compiled patterns of the named agencies, in the order named (unknown name: ``KeyError``)."""
    return tuple(re.compile(source) for name in agencies for source in DATELINES[name])


def strip_dateline(paragraph: str, patterns: Sequence[re.Pattern[str]]) -> str:
    """``paragraph`` without a leading dateline; ``""`` when the dateline was all there was."""
    for pattern in patterns:
        match = pattern.match(paragraph)
        if match:
            return paragraph[match.end() :].strip()
    return paragraph
