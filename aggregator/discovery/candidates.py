"""A URL found by backfill, the window of days it must fall in, and the feed's URL patterns."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Candidate:
    """One URL a source lists, with what the source says of it."""

    link: str  # as the source writes it (the URL fetched)
    url: str  # its canonical form (the archive's identity)
    origin: str  # sitemap | wayback
    published: datetime | None = None  # news:publication_date
    lastmod: datetime | None = None  # <lastmod>
    title: str | None = None  # news:title
    capture: str | None = None  # Wayback capture timestamp (14 digits)

    def month(self) -> str | None:
        """YYYY-MM the URL belongs to, by the best date the source gives; None: undated."""
        if self.published is not None:
            return self.published.strftime("%Y-%m")
        if self.capture:
            return f"{self.capture[:4]}-{self.capture[4:6]}"
        if self.lastmod is not None:
            return self.lastmod.strftime("%Y-%m")
        return None

    def entry(self) -> dict[str, object]:
        """The entry row the store queues for it."""
        return {
            "key": self.url,
            "link": self.link,
            "url": self.url,
            "title": self.title,
            "feed_published": self.published.isoformat() if self.published else None,
            "lastmod": self.lastmod.isoformat() if self.lastmod else None,
            "origin": self.origin,
            "capture": self.capture,
        }


@dataclass(frozen=True)
class Window:
    """Days ``since`` to ``until`` (inclusive; None: up to today), and the URL patterns a URL must
    match one of (``include``, none: any) and none of (``exclude``)."""

    since: date
    until: date | None = None
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, since: date, until: date | None, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Window:
        return cls(since, until, tuple(map(re.compile, include)), tuple(map(re.compile, exclude)))

    def wants(self, link: str) -> bool:
        """Whether the feed's patterns admit ``link``; an ``http://`` link is also tried as ``https://``
        (old captures were made before sites moved to HTTPS)."""
        forms = (link, "https://" + link[7:]) if link[:7].lower() == "http://" else (link,)
        if self.include and not any(p.search(form) for p in self.include for form in forms):
            return False
        return not any(p.search(form) for p in self.exclude for form in forms)

    def holds(self, published: datetime | None, lastmod: datetime | None) -> bool:
        """Whether a URL so dated falls in the window: by its publication date, else by its
        ``lastmod`` (news sitemaps date an article by its last change); an undated URL is kept
        (better fetched than missed)."""
        moment = published or lastmod
        return moment is None or self.holds_day(moment.date())

    def may_hold(self, lastmod: datetime | None) -> bool:
        """Whether a sitemap last changed at ``lastmod`` may list a URL of the window: not when it
        was last changed before ``since`` (nothing was added to it since)."""
        return lastmod is None or lastmod.date() >= self.since

    def holds_day(self, day: date) -> bool:
        return day >= self.since and (self.until is None or day <= self.until)
