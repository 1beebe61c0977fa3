"""When the page says it was published: the profile's time sources, JSON-LD included.

A profile lists where its pages write the time (an attribute, an element's text, a JSON-LD
script) and in which format; the first source that gives a usable time wins, and its ``via`` is
recorded with the article. A time is usable only when it names its offset and converts to any
time zone: a page's claim is never guessed into a zone, nor allowed to overflow a conversion later.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from aggregator.html import dom
from aggregator.html.dom import Element
from aggregator.isodates import parse_iso
from aggregator.profiles import TimeSource

#: Page times outside these years are not believed: converting them to a time zone could overflow.
_MIN_YEAR, _MAX_YEAR = 2, 9998


def published(root: Element, container: Element, sources: Sequence[TimeSource]) -> tuple[datetime | None, str | None]:
    """The first usable time of the first source that has one, and that source's ``via``."""
    for source in sources:
        scope = container if source.scope == "container" else root
        for element in dom.select(scope, source.selector):
            raw = element.get(source.attribute) if source.attribute else dom.text(element)
            for value in _time_values(str(raw or ""), source.format):
                when = _parse_time(value, source.format)
                if when is not None:
                    return when, source.via
    return None, None


def _time_values(raw: str, fmt: str) -> Iterator[object]:
    if fmt != "json-ld":
        yield raw.strip()
        return
    try:
        pending = deque([json.loads(raw)])
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder recurses
        return
    while pending:  # breadth first: the page's own item before anything nested in it
        item = pending.popleft()
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            value = item.get("datePublished")
            if isinstance(value, list):
                yield from value
            elif value:
                yield value
            graph = item.get("@graph")
            if isinstance(graph, list | dict):  # a page may write anything there: 5, "x", null
                pending.append(graph)


def _parse_time(value: object, fmt: str) -> datetime | None:
    """An aware datetime that converts to any time zone, or None (unparseable, no time zone to be
    known, or a year such as 1 or 9999 that a conversion would take out of range)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromtimestamp(int(value), tz=UTC) if fmt == "unix" else parse_iso(value)
        if when.tzinfo is None or when.utcoffset() is None:
            return None
        if not _MIN_YEAR <= when.astimezone(UTC).year <= _MAX_YEAR:
            return None
    except (ValueError, OverflowError, OSError):  # OverflowError: the offset takes it past year 1 or 9999
        return None
    return when
