"""The fetcher's record of every exchange, for WARC: request headers as sent, the answer's status
line, headers and body as they came over a real socket (content coding kept), redirects included."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime

import httpx
import pytest

from aggregator.errors import HTTPStatusError
from aggregator.fetch import Fetcher
from aggregator.fetch.responses import ERROR_BODY_BYTES
from aggregator.models import Exchange, Response, Settings
from tests.helpers.site import Page, Site

SETTINGS = Settings(respect_robots=False, allow_private_networks=True, user_agent="test-agent/1")


def get(url: str, settings: Settings = SETTINGS, **kwargs: object) -> Response:
    async def run() -> Response:
        async with Fetcher(settings) as fetcher:
            return await fetcher.get(url, max_bytes=1_000_000, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(run())


def test_a_gzipped_page_is_recorded_as_it_came_and_handed_over_decoded(site: Site) -> None:
    html = b"<html><body><p>" + b"words " * 500 + b"</p></body></html>"
    site["/page"] = Page(gzip.compress(html), headers={"Content-Encoding": "gzip", "X-Served-By": "test"})
    before = datetime.now(UTC)
    response = get(f"{site.origin}/page")
    assert response.content == html
    (exchange,) = response.exchanges
    assert exchange.url == f"{site.origin}/page"
    assert before <= exchange.started <= datetime.now(UTC)
    assert gzip.decompress(exchange.payload) == html and exchange.payload != html  # the coded bytes
    assert exchange.http_version in ("HTTP/1.0", "HTTP/1.1")  # as the server said (werkzeug's: 1.0)
    assert (exchange.status, exchange.reason) == (200, "OK")
    names = [name.lower() for name, _ in exchange.headers]
    assert "content-encoding" in names and "x-served-by" in names and "transfer-encoding" not in names
    sent = dict((name.lower(), value) for name, value in exchange.request_headers)
    assert sent["host"] == f"127.0.0.1:{site.server.port}" and sent["user-agent"] == "test-agent/1"
    assert exchange.ip == "127.0.0.1"


def test_redirects_and_a_304_are_recorded_too(site: Site) -> None:
    site["/old"] = Page(b"", status=301, headers={"Location": "/new"})
    site["/new"] = Page(b"<p>moved here</p>")
    response = get(f"{site.origin}/old")
    first, second = response.exchanges
    assert (first.url, first.status, first.payload) == (f"{site.origin}/old", 301, b"")
    assert ("Location", "/new") in first.headers
    assert (second.url, second.status, second.payload) == (f"{site.origin}/new", 200, b"<p>moved here</p>")
    etag = response.headers["etag"]
    again = get(f"{site.origin}/new", etag=etag)
    (exchange,) = again.exchanges
    assert exchange.status == 304 and exchange.payload == b""
    assert ("If-None-Match", etag) in exchange.request_headers or ("if-none-match", etag) in exchange.request_headers


def test_through_a_proxy_the_server_address_is_unknown(site: Site) -> None:
    site["/page"] = Page(b"<p>proxied</p>")
    response = get("http://tass.com/page", Settings(respect_robots=False, proxy=site.origin))
    (exchange,) = response.exchanges
    assert exchange.ip is None and exchange.payload == b"<p>proxied</p>"


def test_a_response_built_in_memory_is_recorded_decoded_without_its_content_coding() -> None:
    html = b"<p>in memory</p>"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(html))

    async def public(host: str) -> list[str]:
        return ["93.184.215.14"]

    async def run() -> Response:
        transport = httpx.MockTransport(handler)
        async with Fetcher(Settings(respect_robots=False), transport=transport, resolver=public) as fetcher:
            return await fetcher.get("https://example.com/a", max_bytes=1000)

    response = asyncio.run(run())
    (exchange,) = response.exchanges
    assert isinstance(exchange, Exchange) and exchange.payload == html and exchange.ip is None
    assert [name for name, _ in exchange.headers if name.lower() == "content-encoding"] == []


def test_an_error_answer_carries_its_exchanges_with_its_body(site: Site) -> None:
    site["/moved"] = Page(b"", status=302, headers={"Location": "/gone"})
    site["/gone"] = Page(b"<h1>Page not found</h1>", status=404)
    with pytest.raises(HTTPStatusError) as caught:
        get(f"{site.origin}/moved")
    redirect, answer = caught.value.exchanges
    assert isinstance(redirect, Exchange) and isinstance(answer, Exchange)
    assert (redirect.status, answer.url, answer.status) == (302, f"{site.origin}/gone", 404)
    assert answer.payload == b"<h1>Page not found</h1>"
    site["/huge"] = Page(b"x" * (ERROR_BODY_BYTES + 1), status=410)
    with pytest.raises(HTTPStatusError) as caught:
        get(f"{site.origin}/huge")
    (answer,) = caught.value.exchanges
    assert isinstance(answer, Exchange) and (answer.status, answer.payload) == (410, b"")  # its head only
