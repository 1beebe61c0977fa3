"""The fetcher's cookie jar, bounded as browsers bound theirs (RFC 6265 section 6.1's minimums).

Cookies live as long as the process. Unbounded, a site that sets new cookies on every page grows
its Cookie header until the server refuses every request (431), the feed's own polls included.
So: at most :data:`MAX_PER_SITE` cookies per registrable domain and :data:`MAX_COOKIES` in all,
the oldest evicted first, and a cookie over :data:`MAX_COOKIE_BYTES` (name and value) is ignored.

Only public APIs of :mod:`http.cookiejar` (``make_cookies``, ``set_cookie``, iteration, ``clear``)
and a :class:`~http.cookiejar.DefaultCookiePolicy` subclass. Cookie strings are Latin-1: each
character is one byte of the header, as received and as sent back.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookiejar
import urllib.request
from collections import Counter
from typing import cast

from aggregator.urls import registrable_domain

__all__ = ["MAX_COOKIES", "MAX_COOKIE_BYTES", "MAX_PER_SITE", "CookieJar"]

MAX_PER_SITE = 50
MAX_COOKIES = 3000
MAX_COOKIE_BYTES = 4096

_Key = tuple[str, str, str]  # (domain, path, name): a cookie's identity in the jar


class _Policy(http.cookiejar.DefaultCookiePolicy):
    """The standard library's default policy, refusing cookies over MAX_COOKIE_BYTES."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        if len(cookie.name) + len(cookie.value or "") > MAX_COOKIE_BYTES:
            return False
        return super().set_ok(cookie, request)


class _SetCookies:
    """The part of a response that ``CookieJar.make_cookies`` reads: its Set-Cookie headers."""

    def __init__(self, values: list[str]) -> None:
        self._values = values

    def info(self) -> _SetCookies:
        return self

    def get_all(self, name: str, default: list[str]) -> list[str]:
        return self._values if name.lower() == "set-cookie" else default  # Set-Cookie2 is obsolete


class CookieJar:
    """One jar for every connection of a fetcher."""

    def __init__(self) -> None:
        self._policy = _Policy()
        self._jar = http.cookiejar.CookieJar(self._policy)
        # Every cookie set, oldest first, with its site. Cookies the jar dropped itself (expired,
        # deleted by the server) stay listed until the counts next pass a limit: counts only ever
        # overstate, so a limit is never missed, and the jar is looked at again before evicting.
        self._created: dict[_Key, str] = {}
        self._per_site: Counter[str] = Counter()

    def __bool__(self) -> bool:
        return bool(self._created)

    def header(self, url: str) -> str | None:
        """The Cookie header for a request to ``url``, if any cookie goes with it."""
        request = urllib.request.Request(url)
        self._jar.add_cookie_header(request)
        return request.get_header("Cookie")

    def extract(self, url: str, set_cookie: list[str]) -> None:
        """Store the cookies of a response to ``url`` (its Set-Cookie header values), within the limits."""
        request = urllib.request.Request(url)
        response = cast(http.client.HTTPResponse, _SetCookies(set_cookie))
        sites: set[str] = set()
        for cookie in self._jar.make_cookies(response, request):  # in the order the headers came
            if not self._policy.set_ok(cookie, request):
                continue
            self._jar.set_cookie(cookie)
            key = (cookie.domain, cookie.path, cookie.name)
            site = self._created.get(key)
            if site is None:  # a cookie set again keeps its creation time (RFC 6265 5.3 step 11.3)
                site = self._created[key] = _site(cookie.domain)
                self._per_site[site] += 1
            sites.add(site)
        if len(self._created) > MAX_COOKIES or any(self._per_site[site] > MAX_PER_SITE for site in sites):
            self._evict()

    def _evict(self) -> None:
        """Forget what the jar no longer holds, then evict the oldest beyond each limit."""
        held = {(cookie.domain, cookie.path, cookie.name) for cookie in self._jar}
        self._created = {key: site for key, site in self._created.items() if key in held}
        self._per_site = Counter(self._created.values())
        excess = {site: count - MAX_PER_SITE for site, count in self._per_site.items() if count > MAX_PER_SITE}
        for key, site in list(self._created.items()):
            if excess.get(site, 0) > 0:
                excess[site] -= 1
                self._forget(key)
        for key in list(self._created)[: max(0, len(self._created) - MAX_COOKIES)]:
            self._forget(key)

    def _forget(self, key: _Key) -> None:
        site = self._created.pop(key)
        self._per_site[site] -= 1
        with contextlib.suppress(KeyError):  # already gone from the jar
            self._jar.clear(*key)


def _site(domain: str) -> str:
    """The registrable domain a cookie's domain (``.example.com``, ``www.example.com``) belongs to."""
    return registrable_domain(domain.lstrip("."))
