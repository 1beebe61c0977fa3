"""aggregator.fetch.robots: robots.txt read as RFC 9309 asks, first with an in-process fetch
function (counted calls, an injected clock), then through a real Fetcher over httpx.MockTransport."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from aggregator import errors
from aggregator.fetch import Fetcher
from aggregator.fetch import robots as robots_module
from aggregator.fetch.robots import (
    KEEP_RULES,
    MAX_CRAWL_DELAY,
    MAX_ROBOTS_BYTES,
    RETRY_UNREACHABLE,
    Robots,
    agent_token,
)
from aggregator.models import Settings

ORIGIN = "https://news.example"
ROBOTS_URL = f"{ORIGIN}/robots.txt"
AGENT = "aggregator"
PUBLIC_IP = "93.184.216.34"

#: (status, body), or an exception the fetch raises
Answer = tuple[int, bytes] | BaseException


class FakeFetch:
    """The fetch function Robots is given: answers from a list (the last repeats), counting calls;
    with ``gate``, every call waits for it to be set first."""

    def __init__(self, *answers: Answer, gate: asyncio.Event | None = None) -> None:
        self.answers = list(answers) or [(404, b"")]
        self.calls: list[str] = []
        self.gate = gate

    async def __call__(self, url: str) -> tuple[int, bytes]:
        self.calls.append(url)
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if self.gate is not None:
            await self.gate.wait()
        if isinstance(answer, BaseException):
            raise answer
        return answer


class Clock:
    """An injected monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ok(text: str | bytes) -> tuple[int, bytes]:
    return 200, text.encode() if isinstance(text, str) else text


def run(coro: Awaitable[Any]) -> Any:
    async def go() -> Any:
        return await coro

    return asyncio.run(go())


def refusal(robots: Robots, url: str, origin: str = ORIGIN) -> errors.RobotsRefused:
    """The RobotsRefused ``robots.check(url)`` raises (the test fails when it returns)."""
    with pytest.raises(errors.RobotsRefused) as caught:
        run(robots.check(url, origin))
    return caught.value


# -- one fetch per origin, kept for a day ----------------------------------------------------


def test_twenty_concurrent_calls_share_one_fetch() -> None:
    async def go() -> None:
        gate = asyncio.Event()
        fetch = FakeFetch(ok("User-agent: *\nDisallow: /private\n"), gate=gate)
        robots = Robots(AGENT, fetch)
        tasks = [asyncio.create_task(robots.rules(ORIGIN)) for _ in range(20)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        gate.set()
        results = await asyncio.gather(*tasks)
        assert fetch.calls == [ROBOTS_URL]
        assert all(rules is results[0] for rules in results)
        assert not results[0].allows(f"{ORIGIN}/private/1", AGENT)
        # and kept: later calls do not fetch again
        await robots.rules(ORIGIN)
        await robots.check(f"{ORIGIN}/public", ORIGIN)
        assert fetch.calls == [ROBOTS_URL]

    asyncio.run(go())


def test_each_origin_is_fetched_once_on_its_own() -> None:
    async def go() -> list[str]:
        fetch = FakeFetch(ok("User-agent: *\nAllow: /\n"))
        robots = Robots(AGENT, fetch)
        origins = ["https://news.example", "http://news.example", "https://news.example:8443", "https://b.example"]
        for origin in origins * 3:
            await robots.rules(origin)
        return fetch.calls

    assert run(go()) == [
        "https://news.example/robots.txt",
        "http://news.example/robots.txt",
        "https://news.example:8443/robots.txt",
        "https://b.example/robots.txt",
    ]


def test_rules_are_kept_for_a_day_then_read_again() -> None:
    clock = Clock()
    fetch = FakeFetch(ok("User-agent: *\nDisallow: /a\n"), ok("User-agent: *\nDisallow: /b\n"))
    robots = Robots(AGENT, fetch, clock=clock)
    assert refusal(robots, f"{ORIGIN}/a").reason == "robots"
    clock.now += KEEP_RULES - 1
    assert refusal(robots, f"{ORIGIN}/a").reason == "robots"
    assert len(fetch.calls) == 1
    clock.now += 2
    run(robots.check(f"{ORIGIN}/a", ORIGIN))  # the new rules allow /a
    assert refusal(robots, f"{ORIGIN}/b").reason == "robots"
    assert len(fetch.calls) == 2


# -- what a status means ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451])
def test_a_4xx_allows_everything(status: int) -> None:
    fetch = FakeFetch((status, b"User-agent: *\nDisallow: /\n"))  # a 4xx body is no rules
    robots = Robots(AGENT, fetch)
    assert run(robots.check(f"{ORIGIN}/anything", ORIGIN)) == 0.0
    rules = run(robots.rules(ORIGIN))
    assert rules.parser is None and rules.unreachable is None
    assert rules.allows(f"{ORIGIN}/", AGENT)
    assert rules.sitemaps() == []
    assert fetch.calls == [ROBOTS_URL]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_5xx_or_429_disallows_everything(status: int) -> None:
    fetch = FakeFetch((status, b""))
    robots = Robots(AGENT, fetch)
    url = f"{ORIGIN}/news/1"
    refused = refusal(robots, url)
    assert refused.reason == "robots_unavailable"
    assert refused.url == url
    message = str(refused)
    assert "\n" not in message
    assert url in message and ORIGIN in message and f"HTTP {status}" in message
    assert not run(robots.rules(ORIGIN)).allows(url, AGENT)


def test_an_unreachable_robots_txt_is_asked_again_after_ten_minutes() -> None:
    clock = Clock()
    fetch = FakeFetch((503, b""), ok("User-agent: *\nDisallow: /private\n"))
    robots = Robots(AGENT, fetch, clock=clock)
    assert refusal(robots, f"{ORIGIN}/a").reason == "robots_unavailable"
    clock.now += RETRY_UNREACHABLE - 1
    assert refusal(robots, f"{ORIGIN}/a").reason == "robots_unavailable"
    assert len(fetch.calls) == 1
    clock.now += 2
    assert run(robots.check(f"{ORIGIN}/a", ORIGIN)) == 0.0
    assert refusal(robots, f"{ORIGIN}/private/x").reason == "robots"
    assert len(fetch.calls) == 2


def test_good_rules_survive_a_later_outage() -> None:
    clock = Clock()
    rules_text = "User-agent: *\nDisallow: /private\nCrawl-delay: 7\n"
    fetch = FakeFetch(ok(rules_text), (503, b""), (500, b""), ok("User-agent: *\nDisallow: /other\n"))
    robots = Robots(AGENT, fetch, clock=clock)
    assert run(robots.check(f"{ORIGIN}/public", ORIGIN)) == 7.0
    clock.now += KEEP_RULES + 1  # expired: read again, and the server is down
    assert run(robots.check(f"{ORIGIN}/public", ORIGIN)) == 7.0  # the old rules still apply
    assert refusal(robots, f"{ORIGIN}/private/x").reason == "robots"
    assert len(fetch.calls) == 2
    clock.now += RETRY_UNREACHABLE - 1  # an outage is asked about again after ten minutes, not a day
    run(robots.check(f"{ORIGIN}/public", ORIGIN))
    assert len(fetch.calls) == 2
    clock.now += 2
    assert refusal(robots, f"{ORIGIN}/private/x").reason == "robots"  # still down (500): still the old rules
    assert len(fetch.calls) == 3
    clock.now += RETRY_UNREACHABLE + 1
    run(robots.check(f"{ORIGIN}/private/x", ORIGIN))  # back up, with new rules
    assert refusal(robots, f"{ORIGIN}/other").reason == "robots"
    assert len(fetch.calls) == 4


def test_a_4xx_read_before_also_survives_an_outage() -> None:
    clock = Clock()
    fetch = FakeFetch((404, b""), (503, b""))
    robots = Robots(AGENT, fetch, clock=clock)
    run(robots.check(f"{ORIGIN}/a", ORIGIN))
    clock.now += KEEP_RULES + 1
    assert run(robots.check(f"{ORIGIN}/a", ORIGIN)) == 0.0
    assert len(fetch.calls) == 2


def test_a_network_failure_propagates_and_is_not_kept() -> None:
    failure = errors.NetworkError(f"GET {ROBOTS_URL}: cannot connect: refused", url=ROBOTS_URL)
    fetch = FakeFetch(failure, ok("User-agent: *\nDisallow: /private\n"))
    robots = Robots(AGENT, fetch)
    with pytest.raises(errors.NetworkError) as caught:
        run(robots.check(f"{ORIGIN}/a", ORIGIN))
    assert caught.value is failure
    run(robots.check(f"{ORIGIN}/a", ORIGIN))  # asked again at once, and answered
    assert refusal(robots, f"{ORIGIN}/private/1").reason == "robots"
    assert len(fetch.calls) == 2


def test_a_failure_reaches_every_concurrent_caller_from_one_fetch() -> None:
    async def go() -> tuple[list[Any], FakeFetch]:
        gate = asyncio.Event()
        fetch = FakeFetch(errors.Timeout("GET x: timed out", url=ROBOTS_URL), gate=gate)
        robots = Robots(AGENT, fetch)
        tasks = [asyncio.create_task(robots.rules(ORIGIN)) for _ in range(5)]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True), fetch

    results, fetch = asyncio.run(go())
    assert fetch.calls == [ROBOTS_URL]
    assert all(isinstance(result, errors.Timeout) for result in results)


def test_cancelling_the_reader_does_not_cancel_the_other_callers() -> None:
    async def go() -> bool:
        gate = asyncio.Event()
        fetch = FakeFetch(ok("User-agent: *\nDisallow: /private\n"), gate=gate)
        robots = Robots(AGENT, fetch)
        first = asyncio.create_task(robots.rules(ORIGIN))
        await asyncio.sleep(0)
        second = asyncio.create_task(robots.rules(ORIGIN))
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        gate.set()
        rules = await asyncio.wait_for(second, 5)  # the caller nobody cancelled gets the rules
        return rules.allows(f"{ORIGIN}/public", AGENT) and not rules.allows(f"{ORIGIN}/private", AGENT)

    assert asyncio.run(go())


# -- Disallow / Allow, for the agent's own group and for * -----------------------------------

GROUPS = """\
User-agent: aggregator
Disallow: /private
Allow: /private/open

User-agent: *
Disallow: /
Allow: /public
"""


@pytest.mark.parametrize(
    ("agent", "path", "allowed"),
    [
        ("aggregator", "/private", False),
        ("aggregator", "/private/x?y=1", False),
        ("aggregator", "/private/open/1", True),  # the longest match wins
        ("aggregator", "/anything", True),  # its own group: the * group does not apply
        ("aggregator", "/", True),
        ("otherbot", "/anything", False),  # no group of its own: *
        ("otherbot", "/public/1", True),
        ("otherbot", "/private/open/1", False),
    ],
)
def test_disallow_is_matched_for_the_agent_token_and_for_star(agent: str, path: str, allowed: bool) -> None:
    robots = Robots(agent, FakeFetch(ok(GROUPS)))
    url = f"{ORIGIN}{path}"
    if allowed:
        assert run(robots.check(url, ORIGIN)) == 0.0
    else:
        refused = refusal(robots, url)
        assert refused.reason == "robots"
        assert refused.url == url
        assert str(refused) == f"GET {url}: disallowed by {ORIGIN}/robots.txt"


def test_agent_group_names_are_matched_without_case() -> None:
    robots = Robots(AGENT, FakeFetch(ok("User-agent: AGGREGATOR\nDisallow: /x\n")))
    assert refusal(robots, f"{ORIGIN}/x/1").reason == "robots"


def test_rules_outside_any_group_apply_to_nobody() -> None:
    robots = Robots(AGENT, FakeFetch(ok("Disallow: /\n")))
    assert run(robots.check(f"{ORIGIN}/a", ORIGIN)) == 0.0


@pytest.mark.parametrize(
    ("user_agent", "token"),
    [
        ("aggregator/0.1 (+news feed archiver)", "aggregator"),
        ("aggregator", "aggregator"),
        ("my-bot (contact@example.org)", "my-bot"),
        ("test-agent/1", "test-agent"),
        ("   ", "   "),  # nothing to take: the string as it is
    ],
)
def test_agent_token(user_agent: str, token: str) -> None:
    assert agent_token(user_agent) == token


# -- pace: Crawl-delay and Request-rate ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spacing"),
    [
        ("User-agent: *\nDisallow: /x\n", 0.0),
        ("User-agent: *\nCrawl-delay: 5\n", 5.0),
        ("User-agent: *\nCrawl-delay: 0.5\n", 0.5),
        ("User-agent: *\nRequest-rate: 1/10s\n", 10.0),
        ("User-agent: *\nRequest-rate: 6/1m\n", 10.0),
        ("User-agent: *\nCrawl-delay: 5\nRequest-rate: 1/20s\n", 20.0),  # the larger of the two
        ("User-agent: *\nCrawl-delay: 30\nRequest-rate: 1/20s\n", 30.0),
        ("User-agent: *\nCrawl-delay: 3600\n", MAX_CRAWL_DELAY),  # capped
        ("User-agent: *\nCrawl-delay: 10000\n", MAX_CRAWL_DELAY),
        ("User-agent: *\nRequest-rate: 1/1h\n", MAX_CRAWL_DELAY),
        ("User-agent: *\nCrawl-delay: soon\n", 0.0),  # unreadable: no delay
        ("User-agent: *\nCrawl-delay: -5\n", 0.0),
        ("User-agent: *\nRequest-rate: 0/1s\n", 0.0),
        ("User-agent: aggregator\nCrawl-delay: 2\n\nUser-agent: *\nCrawl-delay: 9\n", 2.0),  # its own group
        ("User-agent: otherbot\nCrawl-delay: 2\n\nUser-agent: *\nCrawl-delay: 9\n", 9.0),
    ],
)
def test_spacing_from_crawl_delay_and_request_rate(text: str, spacing: float) -> None:
    robots = Robots(AGENT, FakeFetch(ok(text)))
    assert run(robots.check(f"{ORIGIN}/page", ORIGIN)) == spacing
    assert run(robots.rules(ORIGIN)).spacing(AGENT) == spacing
    assert MAX_CRAWL_DELAY == 60.0


# -- what a hostile or broken file does: never a crash ---------------------------------------

_random = random.Random(9309)
GARBAGE = [
    b"",
    b"\x00\xff\xfe\x00garbage\x00\n\x1b[31m",
    b"<html><body><h1>Welcome!</h1><p>Disallow: /</p></body></html>",
    b"User-agent: *\nDisallow: /[\nAllow: $$$***\nCrawl-delay: 1e400\nRequest-rate: 1/0s\n",
    b"User-agent:\nDisallow:\n:::\n\n\n" * 100,
    b"User-agent: *\nDisallow: /" + b"a" * 100_000 + b"\n",
    b"\xc3\x28\xa0\xa1 invalid UTF-8 \xf0\x28\x8c\x28\n",
    *(bytes(_random.getrandbits(8) for _ in range(_random.randint(1, 400))) for _ in range(20)),
]


@pytest.mark.parametrize("body", GARBAGE)
def test_garbage_text_gives_rules_and_no_crash(body: bytes) -> None:
    robots = Robots(AGENT, FakeFetch(ok(body)))
    rules = run(robots.rules(ORIGIN))
    assert isinstance(rules.allows(f"{ORIGIN}/a/b?c=d", AGENT), bool)
    assert 0.0 <= rules.spacing(AGENT) <= MAX_CRAWL_DELAY
    assert isinstance(rules.sitemaps(), list)


def test_a_file_the_parser_cannot_read_is_no_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str) -> Any:
        raise RecursionError("hostile")

    monkeypatch.setattr(robots_module.Protego, "parse", staticmethod(broken))
    robots = Robots(AGENT, FakeFetch(ok("User-agent: *\nDisallow: /\n")))
    assert run(robots.check(f"{ORIGIN}/a", ORIGIN)) == 0.0
    assert run(robots.rules(ORIGIN)).sitemaps() == []


def test_only_the_first_max_robots_bytes_are_read() -> None:
    head = b"User-agent: *\nDisallow: /early\n"
    body = head + b"#" * (MAX_ROBOTS_BYTES - len(head) - 1) + b"\nDisallow: /late\n"
    robots = Robots(AGENT, FakeFetch(ok(body)))
    assert refusal(robots, f"{ORIGIN}/early/1").reason == "robots"
    assert run(robots.check(f"{ORIGIN}/late/1", ORIGIN)) == 0.0  # past the limit: ignored


def test_a_byte_order_mark_does_not_hide_the_first_group() -> None:
    robots = Robots(AGENT, FakeFetch(ok(b"\xef\xbb\xbfUser-agent: *\nDisallow: /\n")))
    assert refusal(robots, f"{ORIGIN}/a").reason == "robots"


# -- Sitemap: lines --------------------------------------------------------------------------


def test_sitemaps_are_the_sitemap_lines_in_order() -> None:
    text = (
        "Sitemap: https://news.example/sitemap-news.xml\n"
        "User-agent: *\nDisallow: /private\n"
        "sitemap: https://news.example/sitemap-2020.xml.gz\n"
        "\nUser-agent: aggregator\nAllow: /\n"
        "SITEMAP: https://cdn.example/other.xml\n"
    )
    rules = run(Robots(AGENT, FakeFetch(ok(text))).rules(ORIGIN))
    assert rules.sitemaps() == [
        "https://news.example/sitemap-news.xml",
        "https://news.example/sitemap-2020.xml.gz",
        "https://cdn.example/other.xml",
    ]


@pytest.mark.parametrize("answer", [ok("User-agent: *\nDisallow:\n"), (404, b"Sitemap: https://x/s.xml"), (503, b"")])
def test_no_sitemap_lines(answer: tuple[int, bytes]) -> None:
    assert run(Robots(AGENT, FakeFetch(answer)).rules(ORIGIN)).sitemaps() == []


# -- through the Fetcher ---------------------------------------------------------------------


async def public_dns(host: str) -> list[str]:
    return [PUBLIC_IP]


async def no_sleep(seconds: float) -> None:
    pass


class Site:
    """A MockTransport handler: robots.txt per origin (absent: 404), redirects, every other URL a page;
    records every request."""

    def __init__(
        self,
        robots: dict[str, httpx.Response | Callable[[], httpx.Response]] | None = None,
        redirects: dict[str, str] | None = None,
    ) -> None:
        self.robots = robots or {}
        self.redirects = redirects or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        if request.url.path == "/robots.txt":
            answer = self.robots.get(origin, httpx.Response(404))
            return answer() if callable(answer) else answer
        if url in self.redirects:
            return httpx.Response(301, headers={"Location": self.redirects[url]})
        return httpx.Response(200, content=b"page " + url.encode())

    @property
    def urls(self) -> list[str]:
        return [str(request.url) for request in self.requests]

    def robots_requests(self) -> list[str]:
        return [url for url in self.urls if url.endswith("/robots.txt")]


def robots_txt(text: str) -> httpx.Response:
    return httpx.Response(200, content=text.encode(), headers={"content-type": "text/plain"})


def with_fetcher(site: Site, settings: Settings, use: Callable[[Fetcher], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        async with Fetcher(settings, transport=httpx.MockTransport(site), resolver=public_dns, sleep=no_sleep) as f:
            return await use(f)

    return asyncio.run(go())


def get(site: Site, url: str, settings: Settings | None = None) -> Any:
    return with_fetcher(site, settings or Settings(), lambda f: f.get(url, max_bytes=1 << 20))


@pytest.fixture(autouse=True)
def no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_a_disallowed_url_is_never_sent() -> None:
    site = Site({ORIGIN: robots_txt("User-agent: *\nDisallow: /private\n")})
    url = f"{ORIGIN}/private/article-1?x=1"
    with pytest.raises(errors.RobotsRefused) as caught:
        get(site, url)
    assert caught.value.reason == "robots"
    assert caught.value.url == url
    assert str(caught.value) == f"GET {url}: disallowed by {ORIGIN}/robots.txt"
    assert "\n" not in str(caught.value)
    assert site.urls == [ROBOTS_URL]


def test_robots_txt_is_requested_as_the_fetcher_with_plain_text_accepted() -> None:
    site = Site({ORIGIN: robots_txt("User-agent: *\nAllow: /\n")})
    get(site, f"{ORIGIN}/a", Settings(user_agent="aggregator/0.1 (+test)"))
    robots_request = site.requests[0]
    assert str(robots_request.url) == ROBOTS_URL
    assert robots_request.headers["user-agent"] == "aggregator/0.1 (+test)"
    assert robots_request.headers["accept"] == "text/plain"


def test_the_agent_token_of_the_user_agent_picks_the_group() -> None:
    text = "User-agent: mybot\nDisallow: /mine\n\nUser-agent: *\nDisallow: /star\n"
    site = Site({ORIGIN: robots_txt(text)})
    settings = Settings(user_agent="mybot/2.0 (+https://example.org/bot)")
    with pytest.raises(errors.RobotsRefused):
        get(site, f"{ORIGIN}/mine/1", settings)
    assert get(Site({ORIGIN: robots_txt(text)}), f"{ORIGIN}/star/1", settings).status == 200


def test_robots_txt_is_requested_once_for_many_gets_to_one_origin() -> None:
    site = Site({ORIGIN: robots_txt("User-agent: *\nDisallow: /private\n")})
    settings = Settings(concurrency=4, per_host_concurrency=4)

    async def many(fetcher: Fetcher) -> list[Any]:
        first = await asyncio.gather(
            *(fetcher.get(f"{ORIGIN}/news/{i}", max_bytes=1 << 20) for i in range(10)), return_exceptions=True
        )
        later = [await fetcher.get(f"{ORIGIN}/more/{i}", max_bytes=1 << 20) for i in range(5)]
        refused = await asyncio.gather(fetcher.get(f"{ORIGIN}/private/1", max_bytes=1), return_exceptions=True)
        return [*first, *later, *refused]

    results = with_fetcher(site, settings, many)
    assert [getattr(r, "status", None) for r in results[:15]] == [200] * 15
    assert isinstance(results[15], errors.RobotsRefused)
    assert site.robots_requests() == [ROBOTS_URL]
    assert len(site.urls) == 16  # robots.txt and the 15 allowed pages


def test_a_redirect_to_another_origin_checks_that_origins_robots_txt() -> None:
    other = "https://cdn.example"
    site = Site(
        {ORIGIN: robots_txt("User-agent: *\nAllow: /\n"), other: robots_txt("User-agent: *\nDisallow: /blocked\n")},
        redirects={f"{ORIGIN}/a": f"{other}/blocked/a", f"{ORIGIN}/b": f"{other}/open/b"},
    )
    with pytest.raises(errors.RobotsRefused) as caught:
        get(site, f"{ORIGIN}/a")
    assert caught.value.reason == "robots"
    assert f"{other}/blocked/a" in str(caught.value) and f"{other}/robots.txt" in str(caught.value)
    assert site.urls == [ROBOTS_URL, f"{ORIGIN}/a", f"{other}/robots.txt"]  # the target was never requested

    site.requests.clear()
    response = get(site, f"{ORIGIN}/b")
    assert response.final_url == f"{other}/open/b"
    assert site.urls == [ROBOTS_URL, f"{ORIGIN}/b", f"{other}/robots.txt", f"{other}/open/b"]


def test_a_redirect_within_the_origin_reads_its_rules_once() -> None:
    site = Site({ORIGIN: robots_txt("User-agent: *\nDisallow: /old/secret\n")}, {f"{ORIGIN}/a": f"{ORIGIN}/b"})
    assert get(site, f"{ORIGIN}/a").final_url == f"{ORIGIN}/b"
    assert site.urls == [ROBOTS_URL, f"{ORIGIN}/a", f"{ORIGIN}/b"]


def test_respect_robots_off_sends_no_robots_request() -> None:
    site = Site({ORIGIN: robots_txt("User-agent: *\nDisallow: /\n")})
    response = get(site, f"{ORIGIN}/private/1", Settings(respect_robots=False))
    assert response.status == 200
    assert site.urls == [f"{ORIGIN}/private/1"]


@pytest.mark.parametrize("status", [404, 403, 401, 410])
def test_a_4xx_robots_txt_allows_every_page(status: int) -> None:
    site = Site({ORIGIN: httpx.Response(status, content=b"User-agent: *\nDisallow: /\n")})
    assert get(site, f"{ORIGIN}/a").status == 200
    assert site.urls == [ROBOTS_URL, f"{ORIGIN}/a"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_an_unavailable_robots_txt_refuses_the_page_unrequested(status: int) -> None:
    site = Site({ORIGIN: httpx.Response(status)})
    with pytest.raises(errors.RobotsRefused) as caught:
        get(site, f"{ORIGIN}/a", Settings(retries=0))
    assert caught.value.reason == "robots_unavailable"
    assert f"{ORIGIN}/a" in str(caught.value)
    assert site.urls == [ROBOTS_URL]


def test_an_unreachable_host_fails_with_its_network_error() -> None:
    requested: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        raise httpx.ConnectError("connection refused")

    async def go() -> None:
        settings = Settings(retries=0)
        async with Fetcher(settings, transport=httpx.MockTransport(refuse), resolver=public_dns) as fetcher:
            await fetcher.get(f"{ORIGIN}/a", max_bytes=100)

    with pytest.raises(errors.NetworkError):
        asyncio.run(go())
    assert requested == [ROBOTS_URL]  # the page itself never


def test_listed_sitemaps() -> None:
    text = "User-agent: *\nDisallow: /private\nSitemap: https://news.example/s1.xml\nSitemap: https://news.example/s2.xml\n"
    site = Site({ORIGIN: robots_txt(text)})

    async def use(fetcher: Fetcher) -> tuple[list[str], list[str]]:
        first = await fetcher.listed_sitemaps(f"{ORIGIN}/rss/feed.xml")
        await fetcher.get(f"{ORIGIN}/news/1", max_bytes=100)
        return first, await fetcher.listed_sitemaps(f"{ORIGIN}/other")

    assert with_fetcher(site, Settings(), use) == (["https://news.example/s1.xml", "https://news.example/s2.xml"],) * 2
    assert site.robots_requests() == [ROBOTS_URL]  # the rules read for the sitemaps serve the check too


def test_listed_sitemaps_are_read_but_not_obeyed_with_respect_robots_off() -> None:
    text = "User-agent: *\nDisallow: /\nSitemap: https://news.example/s.xml\n"
    site = Site({ORIGIN: robots_txt(text)})

    async def use(fetcher: Fetcher) -> tuple[list[str], int]:
        listed = await fetcher.listed_sitemaps(f"{ORIGIN}/rss")
        response = await fetcher.get(f"{ORIGIN}/private/1", max_bytes=100)
        return listed, response.status

    assert with_fetcher(site, Settings(respect_robots=False), use) == (["https://news.example/s.xml"], 200)
    assert site.urls == [ROBOTS_URL, f"{ORIGIN}/private/1"]


def test_listed_sitemaps_of_a_site_without_robots_txt() -> None:
    site = Site()
    assert with_fetcher(site, Settings(), lambda f: f.listed_sitemaps(f"{ORIGIN}/rss")) == []


def test_a_robots_txt_over_the_size_limit_is_read_up_to_it() -> None:
    body = b"User-agent: *\nDisallow: /\n" + b"# padding\n" * (MAX_ROBOTS_BYTES // 10 + 100)
    site = Site({ORIGIN: httpx.Response(200, content=body)})
    with pytest.raises(errors.RobotsRefused):
        get(site, f"{ORIGIN}/a")
    assert site.urls == [ROBOTS_URL]


def test_a_host_that_does_not_answer_for_its_robots_txt_fails_the_request_naming_it() -> None:
    def refused() -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    site = Site(robots={"https://news.example": refused})
    with pytest.raises(errors.NetworkError) as raised:
        get(site, "https://news.example/world/1", Settings(retries=0))
    message = str(raised.value)
    assert message.startswith("GET https://news.example/world/1: ") and "while reading robots.txt" in message
    assert "\n" not in message and raised.value.url == "https://news.example/world/1"
    assert site.urls == ["https://news.example/robots.txt"]  # the page itself was never asked for
