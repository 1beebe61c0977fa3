"""Where a request may go and how: the SSRF guard and the choice of proxy.

The guard refuses hosts that are, or resolve to, non-public addresses, unless
``allow_private_networks``. The proxy comes from the ``proxy`` setting (for everything), else from
the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, less the hosts ``NO_PROXY``
exempts). Both read one answer: a request the route sends to a proxy is the proxy's to resolve, so
the guard checks only a literal address then; a request sent directly has its name resolved and
every address checked.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import urllib.request
from collections.abc import Awaitable, Callable

import httpx

from aggregator import errors
from aggregator.fetch.failures import detail, shown

__all__ = ["Guard", "IPAddress", "ProxyChoice", "Resolver", "getaddrinfo", "is_public", "literal_ip"]

Resolver = Callable[[str], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
# Hosts that inet_aton might read as an IPv4 address in a legacy form (127.1, 0x7f.1, 2130706433).
_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$")


class Guard:
    """The SSRF guard: :meth:`check` refuses a target before anything is sent to it.

    Known limit (DNS rebinding): the addresses checked come from a lookup of their own; the
    connection resolves the name again, so a name whose answer changes between the two lookups
    can still reach a private address. Closing that window would take connecting to the checked
    address (the socket backend would have to be given the addresses, not the name).
    """

    def __init__(self, *, allow_private_networks: bool, resolver: Resolver | None = None) -> None:
        self._allow_private = allow_private_networks
        self._resolver = resolver or getaddrinfo

    async def check(self, target: httpx.URL, url: str, *, proxied: bool) -> None:
        """Refuse (:class:`errors.Blocked`) a host that is, or resolves to, a non-public address; a
        name sent to a proxy (``proxied``) is the proxy's to resolve: only literals are checked."""
        if self._allow_private:
            return
        host = target.raw_host.decode("latin-1").lower().rstrip(".")  # ASCII: see targets.parsed_url
        if host == "localhost" or host.endswith(".localhost"):
            raise errors.Blocked(f"GET {shown(url)}: refused, {host} is a local name{_HINT}", url=url)
        literal = literal_ip(host)
        if literal is not None:
            if not is_public(literal):
                raise errors.Blocked(f"GET {shown(url)}: refused, {host} is not a public address{_HINT}", url=url)
            return
        if proxied:
            return  # the proxy resolves the name (there may be no DNS here at all)
        for address in await self._resolve(host, url):
            try:
                ip: IPAddress | None = ipaddress.ip_address(address)
            except ValueError:
                ip = None
            if ip is None or not is_public(ip):
                raise errors.Blocked(
                    f"GET {shown(url)}: refused, {host} resolves to non-public address {shown(str(address))}{_HINT}",
                    url=url,
                )

    async def _resolve(self, host: str, url: str) -> list[str]:
        try:
            addresses = await self._resolver(host)
        except (OSError, ValueError) as exc:  # ValueError: UnicodeError (IDNA) among others
            raise errors.NetworkError(f"GET {shown(url)}: cannot resolve host {host}: {detail(exc)}", url=url) from exc
        if not addresses:
            raise errors.NetworkError(f"GET {shown(url)}: cannot resolve host {host}", url=url)
        return addresses


#: what a refusal tells the person who meant it (a local test site, an intranet feed)
_HINT = " (set allow_private_networks: true in settings: to allow it)"


class ProxyChoice:
    """The proxy each request goes through: ``proxy`` (the setting) for everything, else the
    environment's for the URL's scheme (read once, here), unless NO_PROXY exempts the host."""

    def __init__(self, proxy: str | None, *, environment: bool) -> None:
        self._proxy = proxy
        self._proxies = _environment_proxies() if environment and proxy is None else {}

    def for_target(self, target: httpx.URL) -> str | None:
        """The proxy URL for a request to ``target``; None: a direct connection."""
        if self._proxy:
            return self._proxy
        proxies = self._proxies
        proxy = proxies.get(target.scheme) or proxies.get("all")
        if not proxy:
            return None
        if _exempt(target.host.lower().rstrip("."), proxies.get("no", "")):
            return None
        return proxy


async def getaddrinfo(host: str) -> list[str]:
    """The IP address strings of ``host``, as the event loop's resolver gives them."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@functools.lru_cache(maxsize=4096)
def literal_ip(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal, including legacy IPv4 forms like ``127.1``
    (remembered: a host name costs ipaddress an exception, on every request to it)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_public(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses only (an IPv4 address embedded in an IPv6 one
    counts as itself)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return not (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _SHARED_ADDRESS_SPACE
    )


def _environment_proxies() -> dict[str, str]:
    """urllib's reading of the proxy settings (the environment's; also the system's on Windows and
    macOS), a proxy given without a scheme taken as http://, as httpx does."""
    proxies = urllib.request.getproxies()
    for scheme in ("http", "https", "all"):
        if proxies.get(scheme) and "://" not in proxies[scheme]:
            proxies[scheme] = "http://" + proxies[scheme]
    return proxies


def _exempt(host: str, no_proxy: str) -> bool:
    """Whether NO_PROXY exempts ``host`` (lower case, no port): ``*`` exempts every host; an entry
    exempts the host it names and every host ending with it, read loosely (``*.example``,
    ``.example``, ``http://example``, ``example:8080``, ``[::1]:8080`` all name ``example`` or
    ``::1``). Looser than urllib's reading on purpose: the route and the SSRF guard both follow it,
    and when in doubt a direct connection is the safe side (its name is resolved and checked)."""
    if no_proxy.strip() == "*":
        return True
    for entry in no_proxy.split(","):
        name = entry.strip().lower().rpartition("://")[2].rstrip("/")
        if name.startswith("["):  # [IPv6] or [IPv6]:port
            name = name[1:].partition("]")[0]
        elif name.count(":") == 1:  # host:port (more colons: an IPv6 address without brackets)
            name = name.partition(":")[0]
        name = name.lstrip("*.")
        if name and host.endswith(name):
            return True
    return False
