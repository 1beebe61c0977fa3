"""aggregator.fetch.pacing: per-site spacing of request starts, on a real event loop with small
spacings, measured with the loop's clock; then the Fetcher's pace over httpx.MockTransport.

Only lower bounds on time are asserted (a slow machine makes waits longer, never shorter); what
must not wait is shown by the order of starts, or by a coroutine that finishes without suspending.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Coroutine
from typing import Any

import httpx
import pytest

from aggregator.fetch import Fetcher
from aggregator.fetch.pacing import Pacer
from aggregator.models import Settings

SPACING = 0.03
#: what the loop's clock may be off by between a wait's end and its measure (timer resolution)
EPSILON = 1e-3
#: How much later than its slot a request may reach the mock transport on a busy machine (the
#: pacer spaces the slots; the transport sees each a task switch or two after): far less than
#: any spacing tested here, so a request sent without its wait still fails the test.
SEEN_LATE = 0.005
PUBLIC_IP = "93.184.216.34"


class Starts:
    """Records (name, loop time) as each paced request starts."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self.log: list[tuple[str, float]] = []

    async def start(self, name: str, site: str, spacing: float, *, background: bool = False) -> None:
        await self.pacer.wait(site, spacing, background=background)
        self.log.append((name, asyncio.get_running_loop().time()))

    @property
    def order(self) -> list[str]:
        return [name for name, _ in self.log]

    def at(self, name: str) -> float:
        return dict(self.log)[name]

    def gaps(self) -> list[float]:
        times = [when for _, when in self.log]
        return [later - earlier for earlier, later in itertools.pairwise(times)]


def finishes_at_once(coro: Coroutine[Any, Any, Any]) -> bool:
    """Whether ``coro`` returns without ever suspending (no sleep, no lock wait)."""
    try:
        coro.send(None)
    except StopIteration:
        return True
    coro.close()
    return False


def run(coro: Awaitable[Any]) -> Any:
    async def go() -> Any:
        return await coro

    return asyncio.run(go())


# -- the invariant: starts of one site at least the spacing apart ----------------------------


@pytest.mark.parametrize("background", [False, True])
def test_consecutive_starts_for_one_site_are_spacing_apart(background: bool) -> None:
    async def go() -> Starts:
        starts = Starts(Pacer())
        await asyncio.gather(*(starts.start(f"r{i}", "example.com", SPACING, background=background) for i in range(5)))
        return starts

    starts = run(go())
    assert len(starts.log) == 5
    assert all(gap >= SPACING - EPSILON for gap in starts.gaps()), starts.gaps()


def test_the_first_request_to_a_site_does_not_wait() -> None:
    async def go() -> bool:
        return finishes_at_once(Pacer().wait("example.com", 10.0)) and finishes_at_once(
            Pacer().wait("example.com", 10.0, background=True)
        )

    assert run(go())


@pytest.mark.parametrize("background", [False, True])
def test_a_request_after_the_spacing_has_passed_goes_at_once(background: bool) -> None:
    async def go() -> bool:
        pacer = Pacer()
        await pacer.wait("example.com", SPACING)
        await asyncio.sleep(SPACING * 2)
        return finishes_at_once(pacer.wait("example.com", SPACING, background=background))

    assert run(go())


def test_each_request_keeps_its_own_spacing_after_the_last_start() -> None:
    async def go() -> Starts:
        starts = Starts(Pacer())
        await starts.start("a", "example.com", 0)
        await starts.start("b", "example.com", 0.05)  # live, Crawl-delay 0.05
        await starts.start("c", "example.com", 0.02, background=True)
        await starts.start("d", "example.com", 0.04, background=True)
        await starts.start("e", "example.com", 0.03)
        return starts

    starts = run(go())
    assert starts.order == ["a", "b", "c", "d", "e"]
    gaps = starts.gaps()
    for gap, need in zip(gaps, [0.05, 0.02, 0.04, 0.03], strict=True):
        assert gap >= need - EPSILON, gaps


def test_different_sites_do_not_wait_for_each_other() -> None:
    async def go() -> tuple[bool, bool]:
        pacer = Pacer()
        await pacer.wait("a.example", 5.0)
        waiting = asyncio.create_task(pacer.wait("a.example", 5.0))  # a.example's next turn is 5 s away
        await asyncio.sleep(0)
        other_first = await asyncio.wait_for(pacer.wait("b.example", 5.0), 30)
        await pacer.wait("c.example", 5.0, background=True)
        still_waiting = not waiting.done()
        waiting.cancel()
        return other_first is None, still_waiting

    assert run(go()) == (True, True)


# -- live requests with no spacing -----------------------------------------------------------


def test_a_live_request_with_spacing_zero_never_waits() -> None:
    async def go() -> list[bool]:
        pacer = Pacer()
        results = [finishes_at_once(pacer.wait("a.example", 0)) for _ in range(5)]  # back to back
        await pacer.wait("b.example", 10.0, background=True)  # just started, asking for 10 s
        results.append(finishes_at_once(pacer.wait("b.example", 0)))
        await pacer.wait("c.example", 10.0)  # a live start asking for 10 s
        results.append(finishes_at_once(pacer.wait("c.example", 0)))
        return results

    assert run(go()) == [True] * 7


def test_a_start_with_spacing_zero_still_counts_for_the_next_request() -> None:
    async def go() -> Starts:
        starts = Starts(Pacer())
        await starts.start("live", "example.com", 0)
        await starts.start("background", "example.com", SPACING, background=True)
        await starts.start("live-paced", "example.com", SPACING)
        return starts

    starts = run(go())
    assert all(gap >= SPACING - EPSILON for gap in starts.gaps()), starts.gaps()


# -- background requests give way to live ones -----------------------------------------------


def test_a_waiting_live_request_goes_before_a_background_one_queued_earlier() -> None:
    async def go() -> Starts:
        starts = Starts(Pacer())
        await starts.start("live-1", "example.com", SPACING)
        background = asyncio.create_task(starts.start("background", "example.com", SPACING, background=True))
        await asyncio.sleep(0.005)  # the background request is waiting for its turn first
        live = asyncio.create_task(starts.start("live-2", "example.com", SPACING))
        await asyncio.gather(background, live)
        return starts

    starts = run(go())
    assert starts.order == ["live-1", "live-2", "background"]
    assert starts.at("background") - starts.at("live-2") >= SPACING - EPSILON
    assert starts.at("live-2") - starts.at("live-1") >= SPACING - EPSILON


def test_every_waiting_live_request_goes_before_the_background_ones() -> None:
    async def go() -> Starts:
        starts = Starts(Pacer())
        await starts.start("first", "example.com", 0.02)
        background = [
            asyncio.create_task(starts.start(f"bg-{i}", "example.com", 0.02, background=True)) for i in range(3)
        ]
        await asyncio.sleep(0)
        live = [asyncio.create_task(starts.start(f"live-{i}", "example.com", 0.02)) for i in range(3)]
        await asyncio.gather(*background, *live)
        return starts

    starts = run(go())
    assert starts.order[0] == "first"
    assert sorted(starts.order[1:4]) == ["live-0", "live-1", "live-2"]
    assert sorted(starts.order[4:]) == ["bg-0", "bg-1", "bg-2"]
    assert all(gap >= 0.02 - EPSILON for gap in starts.gaps()), starts.gaps()


def test_background_requests_of_another_site_do_not_yield_to_this_sites_live_ones() -> None:
    async def go() -> Starts:
        starts = Starts(Pacer())
        await starts.start("a-1", "a.example", 5.0)
        live = asyncio.create_task(starts.start("a-2", "a.example", 5.0))  # waits 5 s
        await asyncio.sleep(0)
        await starts.start("b-bg-1", "b.example", 0.01, background=True)
        await starts.start("b-bg-2", "b.example", 0.01, background=True)
        live.cancel()
        return starts

    assert run(go()).order == ["a-1", "b-bg-1", "b-bg-2"]


# -- through the Fetcher ---------------------------------------------------------------------


async def public_dns(host: str) -> list[str]:
    return [PUBLIC_IP]


class Timed:
    """A MockTransport handler recording (path, loop time) of every request; robots.txt as given."""

    def __init__(self, robots: dict[str, str] | None = None) -> None:
        self.robots = robots or {}
        self.log: list[tuple[str, str, float]] = []  # (host, path, time)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.log.append((request.url.host, request.url.path, asyncio.get_running_loop().time()))
        if request.url.path == "/robots.txt":
            text = self.robots.get(request.url.host)
            return httpx.Response(200, content=text.encode()) if text is not None else httpx.Response(404)
        return httpx.Response(200, content=b"ok")

    def pages(self) -> list[tuple[str, str, float]]:
        return [entry for entry in self.log if entry[1] != "/robots.txt"]

    def gaps(self) -> list[float]:
        times = [when for _, _, when in self.pages()]
        return [later - earlier for earlier, later in itertools.pairwise(times)]


def fetch_all(handler: Timed, settings: Settings, gets: list[tuple[str, bool]]) -> None:
    """GET every (url, background) at once through one Fetcher."""

    async def go() -> None:
        async with Fetcher(settings, transport=httpx.MockTransport(handler), resolver=public_dns) as fetcher:
            await asyncio.gather(*(fetcher.get(url, max_bytes=100, background=bg) for url, bg in gets))

    asyncio.run(go())


@pytest.fixture(autouse=True)
def no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_background_gets_to_one_site_are_spaced_by_the_backfill_rate() -> None:
    handler = Timed()
    settings = Settings(respect_robots=False, backfill_rate=25, per_host_concurrency=8)  # 0.04 s apart
    # two hosts of one registrable domain: one site
    gets = [(f"https://{host}.example.com/p{i}", True) for i in range(3) for host in ("www", "news")]
    fetch_all(handler, settings, gets)
    assert len(handler.pages()) == 6
    assert all(gap >= 1 / 25 - SEEN_LATE for gap in handler.gaps()), handler.gaps()


def test_background_gets_to_different_sites_are_paced_apart() -> None:
    handler = Timed()
    settings = Settings(respect_robots=False, backfill_rate=5, per_host_concurrency=8)  # 0.2 s per site
    fetch_all(
        handler, settings, [("https://a.example/1", True), ("https://a.example/2", True), ("https://b.org/1", True)]
    )
    hosts = [host for host, _, _ in handler.pages()]
    assert hosts.index("b.org") < 2  # b.org's first request does not wait for a.example's second
    times = {(host, path): when for host, path, when in handler.pages()}
    assert times[("a.example", "/2")] - times[("a.example", "/1")] >= 0.2 - SEEN_LATE


def test_live_gets_honour_the_crawl_delay() -> None:
    handler = Timed({"news.example.com": "User-agent: *\nCrawl-delay: 0.05\n"})
    settings = Settings(per_host_concurrency=8, backfill_rate=100)
    fetch_all(handler, settings, [(f"https://news.example.com/live/{i}", False) for i in range(4)])
    assert [path for _, path, _ in handler.log].count("/robots.txt") == 1
    assert len(handler.pages()) == 4
    assert all(gap >= 0.05 - SEEN_LATE for gap in handler.gaps()), handler.gaps()


def test_background_gets_keep_the_larger_of_crawl_delay_and_backfill_spacing() -> None:
    handler = Timed({"news.example.com": "User-agent: *\nCrawl-delay: 0.05\n"})
    settings = Settings(per_host_concurrency=8, backfill_rate=100)  # 0.01 s: the Crawl-delay is longer
    fetch_all(handler, settings, [(f"https://news.example.com/old/{i}", True) for i in range(4)])
    assert all(gap >= 0.05 - SEEN_LATE for gap in handler.gaps()), handler.gaps()


def test_live_gets_without_crawl_delay_are_not_held_to_the_backfill_rate() -> None:
    handler = Timed()
    settings = Settings(respect_robots=False, backfill_rate=0.5, per_host_concurrency=8)  # 2 s per background GET

    async def go() -> None:
        async with Fetcher(settings, transport=httpx.MockTransport(handler), resolver=public_dns) as fetcher:
            await fetcher.get("https://example.com/old/1", max_bytes=100, background=True)
            background = asyncio.create_task(fetcher.get("https://example.com/old/2", max_bytes=100, background=True))
            await asyncio.sleep(0.01)
            for i in range(3):  # not 2 s each: no Crawl-delay
                await asyncio.wait_for(fetcher.get(f"https://example.com/live/{i}", max_bytes=100), 30)
            assert not background.done()
            background.cancel()

    asyncio.run(go())
    assert [path for _, path, _ in handler.log] == ["/old/1", "/live/0", "/live/1", "/live/2"]


def test_a_live_get_goes_before_queued_background_gets_with_free_host_slots() -> None:
    handler = Timed()
    settings = Settings(respect_robots=False, backfill_rate=20, per_host_concurrency=8)
    order = _live_among_background(handler, settings)
    assert order.index("/live") == 1, order


def test_a_live_get_goes_before_queued_background_gets_with_one_host_slot() -> None:
    handler = Timed()
    settings = Settings(respect_robots=False, backfill_rate=20, per_host_concurrency=1)
    order = _live_among_background(handler, settings)
    assert order.index("/live") <= 2, order  # at most the background GET already paced goes first


def _live_among_background(handler: Timed, settings: Settings) -> list[str]:
    """Four background GETs to one host, then (while they wait for their pace) a live one: the order
    the requests were sent in."""

    async def go() -> None:
        async with Fetcher(settings, transport=httpx.MockTransport(handler), resolver=public_dns) as fetcher:
            background = [
                asyncio.create_task(fetcher.get(f"https://example.com/bg{i}", max_bytes=100, background=True))
                for i in range(4)
            ]
            await asyncio.sleep(0.01)
            live = asyncio.create_task(fetcher.get("https://example.com/live", max_bytes=100))
            await asyncio.gather(*background, live)

    asyncio.run(go())
    return [path for _, path, _ in handler.log]
