"""The Wayback Machine's CDX API: the query for the captures under a URL prefix in a window of
days, one page at a time, and its plain-text answer read (pure functions of strings)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

#: Captures asked for per CDX request (the server may answer fewer, with a resume key).
PAGE_SIZE = 5000
_TIMESTAMP = re.compile(r"^[0-9]{14}$")


@dataclass(frozen=True)
class CdxPage:
    captures: tuple[tuple[str, str], ...]  # (timestamp, original URL), as the index lists them
    resume_key: str | None  # where the next page starts; None: the last page
    skipped: int = 0  # lines that were no capture


def query_url(wayback_url: str, prefix: str, since: date, until: date | None, resume_key: str | None = None) -> str:
    """One page of the captures with status 200 under ``prefix``, one per URL (``collapse=urlkey``)."""
    params = [
        ("url", prefix),
        ("matchType", "prefix"),
        ("from", since.strftime("%Y%m%d")),
        *([("to", until.strftime("%Y%m%d"))] if until is not None else []),
        ("fl", "timestamp,original"),
        ("collapse", "urlkey"),
        ("filter", "statuscode:200"),
        ("limit", str(PAGE_SIZE)),
        ("showResumeKey", "true"),
        *([("resumeKey", resume_key)] if resume_key else []),
    ]
    return f"{wayback_url}/cdx/search/cdx?{urlencode(params)}"


def parse_page(text: str) -> CdxPage:
    """``timestamp original`` lines, then (when there is more) an empty line and the resume key."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    resume_key = None
    if len(lines) >= 2 and not lines[-2].strip() and len(lines[-1].split()) == 1:
        resume_key = lines[-1].strip()
        lines = lines[:-2]
    captures: list[tuple[str, str]] = []
    skipped = 0
    for line in lines:
        fields = line.split()
        if not fields:
            continue
        if len(fields) == 2 and _TIMESTAMP.match(fields[0]) and fields[1][:4].lower() == "http":
            captures.append((fields[0], fields[1]))
        else:
            skipped += 1
    return CdxPage(tuple(captures), resume_key, skipped)
