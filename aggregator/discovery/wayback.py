"""A page the live site no longer serves, read from its Wayback capture: the ``id_`` form of the
capture URL answers with the page as it was captured, without the Wayback Machine's toolbar."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from aggregator.fetch import PAGE_ACCEPT, Fetcher
from aggregator.models import Response

#: a capture URL: ``/web/<timestamp>id_/<original>``
_CAPTURE = re.compile(r"/web/([0-9]{14})id_/")


def capture_url(wayback_url: str, timestamp: str | None, url: str) -> str:
    """The capture of ``url`` at ``timestamp``; without one, the newest (the Wayback Machine
    redirects a partial timestamp to the capture nearest to it, and ``2`` is after them all)."""
    return f"{wayback_url}/web/{timestamp or '2'}id_/{url}"


def capture_time(final_url: str, headers: dict[str, str]) -> str | None:
    """When the capture that answered was made (ISO 8601, UTC), from its URL or Memento-Datetime."""
    match = _CAPTURE.search(final_url)
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC).isoformat()
        except ValueError:  # 14 digits that are no time: the header may still say
            pass
    memento = headers.get("memento-datetime")
    if memento:
        try:
            return parsedate_to_datetime(memento).astimezone(UTC).isoformat()
        except (TypeError, ValueError):
            return None
    return None


async def fetch_capture(
    fetcher: Fetcher, wayback_url: str, link: str, timestamp: str | None, *, max_bytes: int
) -> tuple[Response, str | None]:
    """The captured page of ``link`` (a background request), as if the live site had answered it
    (``final_url`` is the original URL, ``url`` the capture's), and when the capture was made."""
    response = await fetcher.get(
        capture_url(wayback_url, timestamp, link), max_bytes=max_bytes, accept=PAGE_ACCEPT, background=True
    )
    when = capture_time(response.final_url, response.headers)
    match = _CAPTURE.search(response.final_url)
    original = response.final_url[match.end() :] if match else link  # a capture of a redirect leads on
    return replace(response, url=response.final_url, final_url=original if original.startswith("http") else link), when
