"""ISO 8601 times as pages and feeds write them (the only user of python-dateutil).

The standard library's ``datetime.fromisoformat`` reads the common forms fast; dateutil's
``isoparse`` reads the reduced forms it refuses (``2020-08``, ``2020``, ``24:00``). Page times and
feed dates both go through this one function, so a form one layer reads the other reads too.
"""

from __future__ import annotations

from datetime import datetime

from dateutil.parser import isoparse


def parse_iso(text: str) -> datetime:
    """The time ``text`` (outer whitespace ignored) writes in ISO 8601, naive when it names no offset.

    Raises ValueError when it is no ISO 8601 time (OverflowError for a year out of range)."""
    value = text.strip()
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return isoparse(value)
