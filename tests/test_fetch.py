"""Tests for aggregator.fetch: httpx.MockTransport for the policy, a local server for the real stack."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request
from werkzeug import Response as WerkzeugResponse

from aggregator import errors
from aggregator.fetch import Fetcher, parse_retry_after
from aggregator.fetch.headers import DEFAULT_ACCEPT
from aggregator.models import Response, Settings

FEED = "https://feeds.example/rss"
PUBLIC_IP = "93.184.216.34"
CAP = 1024

Handler = Callable[[httpx.Request], Any]


class Sleeps:
    """Injected sleep: records the waits, never waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class FakeDNS:
    """Injected resolver: every name is public unless listed; records the names asked for."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return self.table.get(host, [PUBLIC_IP])


async def no_dns(host: str) -> list[str]:
    raise AssertionError(f"resolver called for {host}")


class Recorder:
    """A MockTransport handler answering from a list (the last answer repeats), recording requests."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    @property
    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]


def fetch(
    handler: Handler,
    url: str = FEED,
    *,
    settings: Settings | None = None,
    resolver: Any = None,
    sleep: Sleeps | None = None,
    max_bytes: int = CAP,
    **kwargs: Any,
) -> Response:
    async def go() -> Response:
        async with Fetcher(
            settings or Settings(respect_robots=False),
            transport=httpx.MockTransport(handler),
            resolver=resolver or FakeDNS(),
            sleep=sleep or Sleeps(),
        ) as fetcher:
            return await fetcher.get(url, max_bytes=max_bytes, **kwargs)

    return asyncio.run(go())


def redirect(status: int, location: str) -> httpx.Response:
    return httpx.Response(status, headers={"Location": location})


@pytest.fixture(autouse=True)
def no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


# -- plain answers ----------------------------------------------------------------------------


def test_200_returns_body_and_lowercased_headers() -> None:
    headers = {"ETag": '"v1"', "Content-Type": "application/rss+xml"}
    handler = Recorder(httpx.Response(200, headers=headers, content=b"<rss/>"))
    response = fetch(handler, settings=Settings(respect_robots=False, user_agent="test-agent/1"))
    assert response == Response(
        url=FEED,
        final_url=FEED,
        status=200,
        headers=response.headers,
        content=b"<rss/>",
        permanent_redirect=None,
    )
    assert response.headers["etag"] == '"v1"'
    assert response.headers["content-type"] == "application/rss+xml"
    assert all(name == name.lower() for name in response.headers)
    sent = handler.requests[0]
    assert sent.headers["user-agent"] == "test-agent/1"
    assert sent.headers["accept"] == DEFAULT_ACCEPT
    assert "if-none-match" not in sent.headers


def test_accept_is_overridable() -> None:
    handler = Recorder(httpx.Response(200, content=b"<html/>"))
    fetch(handler, accept="text/html")
    assert handler.requests[0].headers["accept"] == "text/html"


def test_304_sends_validators_verbatim() -> None:
    handler = Recorder(httpx.Response(304, headers={"ETag": 'W/"abc"'}))
    response = fetch(handler, etag='W/"abc"', last_modified="Wed, 21 Oct 2015 07:28:00 GMT")
    assert response.status == 304
    assert response.not_modified
    assert response.content == b""
    assert response.headers["etag"] == 'W/"abc"'
    sent = handler.requests[0].headers
    assert sent["if-none-match"] == 'W/"abc"'
    assert sent["if-modified-since"] == "Wed, 21 Oct 2015 07:28:00 GMT"


# -- redirects --------------------------------------------------------------------------------


def test_redirect_chain_is_followed_and_permanent_target_recorded() -> None:
    handler = Recorder(
        redirect(301, "https://feeds.example/new-rss"),
        redirect(302, "/tmp-rss?x=1"),  # relative to the current URL
        redirect(308, "//cdn.example/rss.xml"),
        redirect(307, "elsewhere.xml"),
        httpx.Response(200, content=b"<rss/>"),
    )
    response = fetch(handler)
    assert handler.urls == [
        FEED,
        "https://feeds.example/new-rss",
        "https://feeds.example/tmp-rss?x=1",
        "https://cdn.example/rss.xml",
        "https://cdn.example/elsewhere.xml",
    ]
    assert response.url == FEED
    assert response.final_url == "https://cdn.example/elsewhere.xml"
    assert response.permanent_redirect == "https://cdn.example/rss.xml"
    assert response.content == b"<rss/>"


def test_temporary_redirects_only_leave_permanent_redirect_unset() -> None:
    response = fetch(Recorder(redirect(302, "/b"), httpx.Response(200, content=b"ok")))
    assert response.permanent_redirect is None
    assert response.final_url == "https://feeds.example/b"


def test_five_hops_are_allowed() -> None:
    handler = Recorder(*(redirect(302, f"/hop{i}") for i in range(5)), httpx.Response(200, content=b"ok"))
    assert fetch(handler).content == b"ok"
    assert len(handler.requests) == 6


def test_more_than_five_hops_is_too_many_redirects() -> None:
    handler = Recorder(lambda request: redirect(302, f"/hop{len(handler.requests)}"))
    with pytest.raises(errors.TooManyRedirects) as caught:
        fetch(handler)
    assert len(handler.requests) == 6
    assert caught.value.url == FEED
    assert "too many redirects" in str(caught.value)


def test_redirect_loop_is_too_many_redirects() -> None:
    handler = Recorder(lambda request: redirect(301, "/b" if request.url.path == "/rss" else "/rss"))
    with pytest.raises(errors.TooManyRedirects, match="redirect loop"):
        fetch(handler)


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "ftp://feeds.example/rss", "javascript:alert(1)", "data:text/plain,hi"],
)
def test_redirect_to_non_http_scheme_is_blocked(location: str) -> None:
    handler = Recorder(redirect(302, location))
    with pytest.raises(errors.Blocked, match="only http and https") as caught:
        fetch(handler)
    assert caught.value.reason == "blocked"
    assert len(handler.requests) == 1


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://feeds.example/rss"])
def test_non_http_first_url_is_blocked_before_sending(url: str) -> None:
    handler = Recorder(httpx.Response(200))
    with pytest.raises(errors.Blocked):
        fetch(handler, url)
    assert handler.requests == []


@pytest.mark.parametrize("url", ["http:///no-host", "http://[::1/"])
def test_invalid_url_is_bad_url(url: str) -> None:
    with pytest.raises(errors.FetchError) as caught:
        fetch(Recorder(httpx.Response(200)), url)
    assert caught.value.reason == "bad_url"


def test_redirect_without_location_is_an_error() -> None:
    with pytest.raises(errors.HTTPStatusError, match="without a Location") as caught:
        fetch(Recorder(httpx.Response(302)))
    assert caught.value.status == 302


# -- SSRF guard -------------------------------------------------------------------------------

PRIVATE_DNS = {"intranet.example": ["192.168.1.5"], "mixed.example": [PUBLIC_IP, "10.0.0.7"]}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.1.2.3/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://100.64.1.1/",
        "http://224.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://localhost:8080/",
        "http://LOCALHOST./",
        "http://admin.localhost/",
        "http://intranet.example/rss",
        "http://mixed.example/rss",
    ],
)
def test_non_public_destinations_are_blocked(url: str) -> None:
    handler = Recorder(httpx.Response(200, content=b"secret"))
    with pytest.raises(errors.Blocked) as caught:
        fetch(handler, url, resolver=FakeDNS(PRIVATE_DNS))
    assert caught.value.reason == "blocked"
    assert caught.value.url == url
    assert handler.requests == []
    # the one line says how to allow it, for the person who meant it (a local test site)
    assert str(caught.value).endswith(" (set allow_private_networks: true in settings: to allow it)")


def test_literal_and_localhost_are_checked_without_resolving() -> None:
    dns = FakeDNS()
    for url in ("http://127.0.0.1/", "http://localhost/", "http://[::1]/"):
        with pytest.raises(errors.Blocked):
            fetch(Recorder(httpx.Response(200)), url, resolver=dns)
    assert dns.asked == []
    fetch(Recorder(httpx.Response(200)), f"http://{PUBLIC_IP}/", resolver=dns)
    assert dns.asked == []


def test_redirect_hop_to_private_name_is_blocked() -> None:
    handler = Recorder(redirect(302, "http://intranet.example/admin"), httpx.Response(200))
    with pytest.raises(errors.Blocked, match=r"192\.168\.1\.5") as caught:
        fetch(handler, resolver=FakeDNS(PRIVATE_DNS))
    assert caught.value.url == "http://intranet.example/admin"
    assert handler.urls == [FEED]


def test_public_name_is_resolved_and_fetched() -> None:
    dns = FakeDNS()
    fetch(Recorder(httpx.Response(200)), resolver=dns)
    assert dns.asked == ["feeds.example"]


def test_allow_private_networks_lets_them_through() -> None:
    settings = Settings(respect_robots=False, allow_private_networks=True)
    for url in ("http://127.0.0.1/", "http://localhost/", "http://intranet.example/", "http://[::1]/"):
        handler = Recorder(httpx.Response(200, content=b"ok"))
        response = fetch(handler, url, settings=settings, resolver=FakeDNS(PRIVATE_DNS))
        assert response.content == b"ok"


def test_with_proxy_names_are_not_resolved_but_literals_still_checked() -> None:
    settings = Settings(respect_robots=False, proxy="http://proxy.internal:3128")
    handler = Recorder(httpx.Response(200, content=b"ok"))
    assert fetch(handler, settings=settings, resolver=no_dns).content == b"ok"
    for url in ("http://127.0.0.1/", "http://localhost/", "http://10.0.0.1/"):
        with pytest.raises(errors.Blocked):
            fetch(Recorder(httpx.Response(200)), url, settings=settings, resolver=no_dns)


def test_dns_failure_is_a_network_error() -> None:
    async def failing(host: str) -> list[str]:
        raise OSError(-2, "Name or service not known")

    handler = Recorder(httpx.Response(200))
    with pytest.raises(errors.NetworkError, match=r"cannot resolve host feeds\.example") as caught:
        fetch(handler, resolver=failing, settings=Settings(respect_robots=False, retries=0))
    assert caught.value.url == FEED
    assert handler.requests == []


# -- size cap ---------------------------------------------------------------------------------


def test_body_over_the_cap_is_too_large() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:  # no Content-Length: only counting can stop it
            yield b"x" * 100

    with pytest.raises(errors.TooLarge, match=f"body larger than {CAP} bytes"):
        fetch(Recorder(httpx.Response(200, content=endless())))


def test_content_length_over_the_cap_is_refused_before_reading() -> None:
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(b"chunk")
        yield b"x" * 10

    answer = httpx.Response(200, headers={"Content-Length": str(CAP + 1)}, content=body())
    with pytest.raises(errors.TooLarge, match="Content-Length"):
        fetch(Recorder(answer))
    assert read == []


def test_body_at_the_cap_is_accepted() -> None:
    assert len(fetch(Recorder(httpx.Response(200, content=b"y" * CAP))).content) == CAP


def streamed(data: bytes, chunk: int = 64) -> AsyncIterator[bytes]:
    """A response body arriving in small network chunks (raw: the fetcher decodes it as it reads)."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), chunk):
            yield data[start : start + chunk]

    return chunks()


def test_gzip_bomb_is_capped_on_decompressed_size() -> None:
    compressed = gzip.compress(b"\0" * (CAP * 100))
    assert len(compressed) < CAP
    headers = {"Content-Encoding": "gzip", "Content-Length": str(len(compressed))}
    answer = httpx.Response(200, headers=headers, content=streamed(compressed))
    with pytest.raises(errors.TooLarge, match=f"body larger than {CAP} bytes"):
        fetch(Recorder(answer))


def test_small_gzip_body_is_decompressed() -> None:
    body = b"<rss>" + b"news " * 100 + b"</rss>"
    answer = httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=streamed(gzip.compress(body)))
    assert fetch(Recorder(answer)).content == body


def test_corrupt_gzip_is_a_decoding_error() -> None:
    answer = httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=streamed(b"not gzip at all"))
    with pytest.raises(errors.NetworkError) as caught:
        fetch(Recorder(answer), settings=Settings(respect_robots=False, retries=0))
    assert caught.value.reason == "decoding"


# -- status errors and retries ----------------------------------------------------------------


def test_503_then_200_succeeds_after_a_backoff() -> None:
    sleeps = Sleeps()
    handler = Recorder(httpx.Response(503), httpx.Response(200, content=b"ok"))
    response = fetch(handler, sleep=sleeps, settings=Settings(respect_robots=False, retry_backoff=1.0))
    assert response.content == b"ok"
    assert len(handler.requests) == 2
    assert len(sleeps.waits) == 1
    assert 1.0 <= sleeps.waits[0] <= 2.0


def test_backoff_grows_and_the_last_error_is_raised() -> None:
    sleeps = Sleeps()
    handler = Recorder(httpx.Response(503))
    with pytest.raises(errors.HTTPStatusError) as caught:
        fetch(handler, sleep=sleeps, settings=Settings(respect_robots=False, retries=3, retry_backoff=1.0))
    assert len(handler.requests) == 4
    assert [int(wait) for wait in sleeps.waits] == [1, 2, 4]
    assert caught.value.status == 503
    assert caught.value.reason == "http_503"
    assert str(caught.value) == f"GET {FEED}: HTTP 503 Service Unavailable"


def test_429_waits_for_retry_after_seconds() -> None:
    sleeps = Sleeps()
    handler = Recorder(httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200))
    fetch(handler, sleep=sleeps)
    assert sleeps.waits == [2.0]


def test_retry_after_as_http_date() -> None:
    sleeps = Sleeps()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    handler = Recorder(httpx.Response(503, headers={"Retry-After": when}), httpx.Response(200))
    fetch(handler, sleep=sleeps)
    assert len(sleeps.waits) == 1
    assert 5 < sleeps.waits[0] <= 10


def test_retry_after_above_the_maximum_raises_at_once() -> None:
    sleeps = Sleeps()
    handler = Recorder(httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200))
    with pytest.raises(errors.HTTPStatusError) as caught:
        fetch(handler, sleep=sleeps, settings=Settings(respect_robots=False, max_retry_after=30))
    assert caught.value.status == 429
    assert caught.value.retry_after == 3600
    assert sleeps.waits == []
    assert len(handler.requests) == 1


def test_404_is_not_retried() -> None:
    sleeps = Sleeps()
    handler = Recorder(httpx.Response(404), httpx.Response(200))
    with pytest.raises(errors.HTTPStatusError) as caught:
        fetch(handler, sleep=sleeps)
    assert caught.value.status == 404
    assert not caught.value.transient
    assert str(caught.value) == f"GET {FEED}: HTTP 404 Not Found"
    assert len(handler.requests) == 1
    assert sleeps.waits == []


def test_connect_error_is_a_network_error_after_retries() -> None:
    sleeps = Sleeps()
    handler = Recorder(httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(errors.NetworkError) as caught:
        fetch(handler, sleep=sleeps, settings=Settings(respect_robots=False, retries=2))
    assert len(handler.requests) == 3
    assert len(sleeps.waits) == 2
    assert caught.value.url == FEED
    assert str(caught.value).startswith(f"GET {FEED}: ")
    assert "\n" not in str(caught.value)


def test_read_timeout_is_a_timeout() -> None:
    handler = Recorder(httpx.ReadTimeout("timed out"))
    with pytest.raises(errors.Timeout, match=r"timed out after 30s \(read\)") as caught:
        fetch(handler, settings=Settings(respect_robots=False, retries=1))
    assert caught.value.url == FEED
    assert len(handler.requests) == 2


@pytest.mark.parametrize(
    "exc",
    [
        httpx.RemoteProtocolError("peer closed connection\nwithout response"),
        httpx.ProxyError("proxy said no"),
        httpx.ReadError(""),
        OSError("ssl: certificate verify failed"),
    ],
)
def test_no_httpx_exception_escapes(exc: Exception) -> None:
    with pytest.raises(errors.NetworkError) as caught:
        fetch(Recorder(exc), settings=Settings(respect_robots=False, retries=0))
    assert "\n" not in str(caught.value)
    assert caught.value.url == FEED


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("Wed, 01 May 2024 12:01:30 GMT", now=now) == 90
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0  # past: never negative
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after(None) is None


# -- concurrency ------------------------------------------------------------------------------


def test_concurrency_is_bounded_globally_and_per_host() -> None:
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        in_flight[host] = in_flight.get(host, 0) + 1
        in_flight["*"] = in_flight.get("*", 0) + 1
        for key in (host, "*"):
            peak[key] = max(peak.get(key, 0), in_flight[key])
        await asyncio.sleep(0.005)
        in_flight[host] -= 1
        in_flight["*"] -= 1
        return httpx.Response(200, content=b"ok")

    async def go() -> None:
        settings = Settings(respect_robots=False, concurrency=3, per_host_concurrency=2)
        async with Fetcher(settings, transport=httpx.MockTransport(handler), resolver=FakeDNS()) as fetcher:
            urls = [f"https://{host}.example/{i}" for host in ("a", "B", "c") for i in range(6)]
            await asyncio.gather(*(fetcher.get(url, max_bytes=CAP) for url in urls))

    asyncio.run(go())
    assert peak["*"] == 3
    assert max(count for key, count in peak.items() if key != "*") == 2


def test_no_slot_is_held_while_waiting_to_retry() -> None:
    async def go() -> list[str]:
        done = asyncio.Event()
        order: list[str] = []

        async def sleep(seconds: float) -> None:
            # With the only slot held here, the other request could never finish.
            await asyncio.wait_for(done.wait(), timeout=2)

        def handler(request: httpx.Request) -> httpx.Response:
            order.append(request.url.path)
            if request.url.path == "/other":
                done.set()
                return httpx.Response(200)
            return httpx.Response(503 if order.count("/flaky") == 1 else 200)

        settings = Settings(respect_robots=False, concurrency=1, per_host_concurrency=1)
        async with Fetcher(
            settings, transport=httpx.MockTransport(handler), resolver=FakeDNS(), sleep=sleep
        ) as fetcher:
            first = asyncio.create_task(fetcher.get("https://feeds.example/flaky", max_bytes=CAP))
            await asyncio.sleep(0)
            second = asyncio.create_task(fetcher.get("https://feeds.example/other", max_bytes=CAP))
            await asyncio.gather(first, second)
        return order

    assert asyncio.run(go()) == ["/flaky", "/other", "/flaky"]


def test_time_queued_for_a_slot_does_not_count_towards_the_total_limit() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.15)
        return httpx.Response(200)

    async def go() -> None:
        settings = Settings(respect_robots=False, concurrency=1, total_timeout=0.4, retries=0)
        async with Fetcher(settings, transport=httpx.MockTransport(handler), resolver=FakeDNS()) as fetcher:
            await asyncio.gather(*(fetcher.get(f"{FEED}?{i}", max_bytes=CAP) for i in range(4)))

    asyncio.run(go())  # the last request queues ~0.45 s, more than the limit


def test_total_timeout_with_mock_transport() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    with pytest.raises(errors.Timeout, match=r"timed out after 0.05s \(total\)") as caught:
        fetch(handler, settings=Settings(respect_robots=False, total_timeout=0.05, retries=0))
    assert caught.value.url == FEED


# -- against a real local server --------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    # Threaded, so a handler still dripping bytes to a client that gave up blocks nothing.
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    yield httpserver
    httpserver.clear()
    httpserver.stop()


@pytest.fixture
def local(server: HTTPServer) -> HTTPServer:
    server.clear()
    return server


LOCAL = Settings(respect_robots=False, allow_private_networks=True, retries=0)


def real_get(url: str, settings: Settings = LOCAL, **kwargs: Any) -> Response:
    async def go() -> Response:
        async with Fetcher(settings, **kwargs) as fetcher:
            return await fetcher.get(url, max_bytes=CAP)

    return asyncio.run(go())


def test_real_server_gzip_is_decompressed(local: HTTPServer) -> None:
    body = b"<rss>" + b"news " * 100 + b"</rss>"
    local.expect_request("/rss").respond_with_data(
        gzip.compress(body), headers={"Content-Encoding": "gzip", "ETag": '"e1"'}
    )
    response = real_get(local.url_for("/rss"))
    assert response.status == 200
    assert response.content == body
    assert response.headers["etag"] == '"e1"'
    request, _ = local.log[0]
    assert "gzip" in request.headers["Accept-Encoding"]


def test_real_server_redirect_and_304(local: HTTPServer) -> None:
    local.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    local.expect_request("/new", headers={"If-None-Match": '"e1"'}).respond_with_data("", status=304)

    async def go() -> Response:
        async with Fetcher(LOCAL) as fetcher:
            return await fetcher.get(local.url_for("/old"), max_bytes=CAP, etag='"e1"')

    response = asyncio.run(go())
    assert response.status == 304
    assert response.permanent_redirect == local.url_for("/new")


def test_real_server_slow_drip_trips_the_total_timeout(local: HTTPServer) -> None:
    def drip(request: Request) -> WerkzeugResponse:
        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                yield b"x"
                time.sleep(0.05)

        return WerkzeugResponse(chunks(), content_type="text/plain")

    local.expect_request("/slow").respond_with_handler(drip)
    settings = Settings(respect_robots=False, allow_private_networks=True, retries=0, total_timeout=0.3, read_timeout=5)
    with pytest.raises(errors.Timeout, match=r"\(total\)"):
        real_get(local.url_for("/slow"), settings)


def test_real_server_refused_without_allow_private_networks(local: HTTPServer) -> None:
    local.expect_request("/rss").respond_with_data("secret")
    with pytest.raises(errors.Blocked):
        real_get(local.url_for("/rss"), Settings(respect_robots=False))
    assert local.log == []


def test_env_proxy_resolves_names_itself(local: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The local server plays the proxy: it receives the absolute-form request for the name.
    local.expect_request("/rss").respond_with_data("via proxy")
    monkeypatch.setenv("HTTP_PROXY", local.url_for("/").rstrip("/"))
    response = real_get("http://feeds.example/rss", Settings(respect_robots=False, retries=0), resolver=no_dns)
    assert response.content == b"via proxy"
    request, _ = local.log[0]
    assert request.host == "feeds.example"


@pytest.mark.parametrize(
    "no_proxy", ["example", ".intranet.example", "http://intranet.example", "*", "localhost, intranet.example:8080"]
)
def test_env_proxy_bypassed_by_no_proxy_resolves(no_proxy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Direct connections resolve and check the name (a wrongly assumed proxy would fail to connect).
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    with pytest.raises(errors.Blocked):
        real_get("http://intranet.example/", Settings(respect_robots=False, retries=0), resolver=FakeDNS(PRIVATE_DNS))


def test_no_proxy_host_is_fetched_directly(local: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The route follows the same reading of NO_PROXY as the guard: the dead proxy is never tried.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    local.expect_request("/rss").respond_with_data("direct")
    assert real_get(local.url_for("/rss")).content == b"direct"


@pytest.mark.parametrize("proxy", ["127.0.0.1:{port}", "http://127.0.0.1:{port}"])
def test_env_proxy_without_a_scheme_is_http(proxy: str, local: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    local.expect_request("/rss").respond_with_data("via proxy")
    monkeypatch.setenv("HTTP_PROXY", proxy.format(port=local.port))
    assert (
        real_get("http://feeds.example/rss", Settings(respect_robots=False, retries=0), resolver=no_dns).content
        == b"via proxy"
    )


def test_unusable_env_proxy_is_a_fetch_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "gopher://proxy.example:70")
    with pytest.raises(errors.FetchError, match=r"cannot use the proxy gopher://proxy\.example:70") as caught:
        real_get("http://feeds.example/rss", Settings(respect_robots=False, retries=0), resolver=no_dns)
    assert caught.value.reason == "bad_proxy"
