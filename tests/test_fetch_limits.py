"""The fetcher's limits, against local servers and httpx.MockTransport: every Content-Encoding layer
decoded in bounded memory, validators echoed byte for byte, a bounded cookie jar, oversized
headers in words, and any input at all (hypothesis) ending in a Response or a FetchError."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import math
import re
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import errors
from aggregator.fetch import Fetcher, cookies, decoding, parse_retry_after
from aggregator.models import Response, Settings
from tests.helpers.hostile import HostileServer, deflated_zeros, head, send

MB = 1024 * 1024
GIB = 1024 * MB
CAP = 1 * MB
FEED = "https://feeds.example/rss"
LOCAL = Settings(respect_robots=False, allow_private_networks=True, retries=0)
RSS = {"Content-Type": "application/rss+xml"}
#: a message fit for a terminal and the database: one line, UTF-8, short
MESSAGE_LIMIT = 1000


@pytest.fixture(autouse=True)
def no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


async def public_dns(host: str) -> list[str]:
    return ["93.184.216.34"]


def real_get(url: str, settings: Settings = LOCAL, max_bytes: int = CAP, **kwargs: Any) -> Response:
    async def go() -> Response:
        async with Fetcher(settings) as fetcher:
            return await fetcher.get(url, max_bytes=max_bytes, **kwargs)

    return asyncio.run(go())


async def no_wait(seconds: float) -> None:
    pass


def mock_get(
    handler: Callable[[httpx.Request], httpx.Response],
    url: str = FEED,
    *,
    max_bytes: int = CAP,
    settings: Settings | None = None,
    **kwargs: Any,
) -> Response:
    async def go() -> Response:
        async with Fetcher(
            settings or Settings(respect_robots=False, retries=0),
            transport=httpx.MockTransport(handler),
            resolver=public_dns,
            sleep=no_wait,
        ) as fetcher:
            return await fetcher.get(url, max_bytes=max_bytes, **kwargs)

    return asyncio.run(go())


def answer(*args: Any, **kwargs: Any) -> Callable[[httpx.Request], httpx.Response]:
    """A MockTransport handler giving the same answer to every request."""
    return lambda request: httpx.Response(*args, **kwargs)


def streamed(data: bytes, chunk: int = 4096) -> AsyncIterator[bytes]:
    """A body arriving in network chunks of ``chunk`` bytes (raw: the fetcher decodes it)."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), chunk):
            yield data[start : start + chunk]

    return chunks()


def assert_fit_message(exc: errors.FetchError) -> None:
    text = str(exc)
    assert "\n" not in text and len(text) < MESSAGE_LIMIT
    text.encode("utf-8")  # no lone surrogate: printable, storable


# -- 1. Content-Encoding: every layer, a bounded piece at a time -----------------------------------


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """Bodies of a few kilobytes holding 1 GiB of zeros under two or three layers."""
    inner_gzip, inner_zlib = deflated_zeros(GIB, 31), deflated_zeros(GIB, 15)
    return {
        "gzip, gzip": gzip.compress(inner_gzip),
        "deflate, gzip": gzip.compress(inner_zlib),
        "deflate, gzip, deflate": zlib.compress(gzip.compress(inner_zlib)),
    }


def test_the_bomb_builder_holds_what_it_says() -> None:
    small = deflated_zeros(5 * MB, 31)
    assert gzip.decompress(small) == bytes(5 * MB)
    assert zlib.decompress(deflated_zeros(5 * MB, 15)) == bytes(5 * MB)


@pytest.mark.parametrize("coding", ["gzip, gzip", "deflate, gzip", "deflate, gzip, deflate"])
def test_a_nested_bomb_is_too_large_in_bounded_memory(
    coding: str, bombs: dict[str, bytes], server: HostileServer
) -> None:
    body = bombs[coding]
    assert len(body) < 20_000  # a few kilobytes on the wire, 1 GiB inside
    path = "/bomb/" + coding.replace(", ", "-")
    server.routes[path] = (200, {**RSS, "Content-Encoding": coding}, body)
    server.routes["/small"] = (200, {**RSS, "Content-Encoding": "gzip"}, gzip.compress(b"<rss/>"))
    assert real_get(server.origin + "/small").content == b"<rss/>"  # what a first fetch imports is not traced
    tracemalloc.start()
    try:
        with pytest.raises(errors.TooLarge, match=f"body larger than {CAP} bytes") as caught:
            real_get(server.origin + path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * CAP + 512 * 1024
    assert caught.value.url == server.origin + path


def test_no_decoding_step_produces_more_than_a_piece() -> None:
    bomb = gzip.compress(deflated_zeros(64 * MB, 31))
    decoder = decoding.decoder_for("gzip, gzip", FEED, FEED)
    assert decoder is not None
    tracemalloc.start()
    try:
        pieces = decoder.feed(bomb)
        sizes = [len(next(pieces)) for _ in range(200)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(sizes) <= decoding.PIECE
    assert sum(sizes) == 200 * decoding.PIECE
    assert peak < 1 * MB


TEXT = b"".join(b"%d: news of the day, item %x, %s\n" % (i, i * i, b"word " * (i % 7)) for i in range(12_000))


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def two_members(data: bytes) -> bytes:
    return gzip.compress(data[: len(data) // 3]) + gzip.compress(data[len(data) // 3 :])


ENCODINGS: list[tuple[str, list[Callable[[bytes], bytes]]]] = [
    ("identity", []),
    ("gzip", [gzip.compress]),
    ("x-gzip", [gzip.compress]),
    ("GZip", [gzip.compress]),
    ("gzip", [two_members]),
    ("deflate", [zlib.compress]),
    ("deflate", [raw_deflate]),
    ("deflate, gzip", [zlib.compress, gzip.compress]),
    ("gzip, gzip", [gzip.compress, gzip.compress]),
    ("gzip, deflate", [two_members, raw_deflate]),
    ("gzip,identity, deflate ,gzip", [gzip.compress, zlib.compress, gzip.compress]),
]


@pytest.mark.parametrize("chunk", [1, 1000, 65536])
@pytest.mark.parametrize(("coding", "steps"), ENCODINGS, ids=[f"{n}-{c}" for n, (c, _) in enumerate(ENCODINGS)])
def test_each_coding_and_layer_is_decoded_exactly(
    coding: str, steps: list[Callable[[bytes], bytes]], chunk: int
) -> None:
    original = TEXT if chunk > 1 else TEXT[:3000]  # many pieces of PIECE bytes; every split of a header
    body = original
    for step in steps:  # in the order Content-Encoding lists them: the order applied
        body = step(body)
    headers = {"Content-Encoding": coding}
    response = mock_get(lambda request: httpx.Response(200, headers=headers, content=streamed(body, chunk)))
    assert response.content == original


def test_layers_in_separate_headers_and_a_real_server(server: HostileServer) -> None:
    def serve(handler: BaseHTTPRequestHandler) -> None:
        body = gzip.compress(zlib.compress(TEXT))
        handler.send_response(200)
        handler.send_header("Content-Encoding", "deflate")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server.behaviours["/two-headers"] = serve
    assert real_get(server.origin + "/two-headers").content == TEXT
    _, sent = server.requests[-1]
    assert sent["accept-encoding"] == "gzip, deflate"


def test_trailing_bytes_after_the_last_gzip_member_are_ignored() -> None:
    for trailer in (b"\0\0\0\0", b"junk after the stream", b"\x1f"):
        body = gzip.compress(b"<rss/>") + trailer
        answer_ = answer(200, headers={"Content-Encoding": "gzip"}, content=streamed(body, 3))
        assert mock_get(answer_).content == b"<rss/>"


def test_an_empty_gzip_body_is_empty() -> None:
    assert mock_get(answer(200, headers={"Content-Encoding": "gzip"}, content=streamed(b""))).content == b""


@pytest.mark.parametrize(
    ("coding", "body", "what"),
    [
        ("gzip", b"not gzip at all", "gzip data is corrupt"),
        ("gzip", gzip.compress(TEXT, mtime=0)[:-8] + b"\0\0\0\0\0\0\0\0", "gzip data is corrupt"),  # CRC and size
        ("gzip", gzip.compress(TEXT, mtime=0)[:500], "gzip data is cut short"),
        ("deflate", zlib.compress(TEXT)[:500], "deflate data is cut short"),
        ("deflate", b"\xff\xff\xff\xff", "deflate data is corrupt"),
        ("deflate", b"x", "deflate data is cut short"),
        ("gzip, gzip", gzip.compress(b"inner is not gzip", mtime=0), "gzip data is corrupt"),
        ("gzip, br", b"brotli bytes, which httpx skips too", "gzip data is corrupt"),
    ],
)
def test_corrupt_or_cut_data_is_a_decoding_error(coding: str, body: bytes, what: str) -> None:
    handler = answer(200, headers={"Content-Encoding": coding}, content=streamed(body, 64))
    with pytest.raises(errors.NetworkError, match=what) as caught:
        mock_get(handler)
    assert caught.value.reason == "decoding"
    assert str(caught.value).startswith(f"GET {FEED}: cannot decode the body: ")
    assert_fit_message(caught.value)


@pytest.mark.parametrize("coding", ["br", "zstd", "utf-8", "compress", "", " , "])
def test_codings_without_a_decoder_are_skipped_like_httpx_does(coding: str) -> None:
    body = b"\x8b\x0b\x80<rss>not decodable here</rss>\x03"
    assert mock_get(answer(200, headers={"Content-Encoding": coding}, content=streamed(body))).content == body


def test_the_codings_around_a_skipped_one_are_still_undone() -> None:
    body = b"\x8b\x0b\x80brotli bytes"
    handler = answer(200, headers={"Content-Encoding": "br, gzip"}, content=streamed(gzip.compress(body)))
    assert mock_get(handler).content == body


@pytest.mark.parametrize("coding", ["identity", "br"])
def test_content_length_precheck_when_the_body_is_the_wire_bytes(coding: str) -> None:
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(b"chunk")
        yield b"x"

    headers = {"Content-Encoding": coding, "Content-Length": str(CAP + 1)}
    with pytest.raises(errors.TooLarge, match="Content-Length"):
        mock_get(answer(200, headers=headers, content=body()))
    assert read == []


def layered(data: bytes, layers: int) -> tuple[str, bytes]:
    for _ in range(layers):
        data = gzip.compress(data)
    return ", ".join(["gzip"] * layers), data


def test_up_to_max_layers_are_undone_and_more_is_a_decoding_error() -> None:
    coding, body = layered(b"<rss/>", decoding.MAX_LAYERS)
    assert mock_get(answer(200, headers={"Content-Encoding": coding}, content=streamed(body))).content == b"<rss/>"
    coding, body = layered(b"<rss/>", decoding.MAX_LAYERS + 1)
    with pytest.raises(errors.NetworkError, match="compressed 9 times over") as caught:
        mock_get(answer(200, headers={"Content-Encoding": coding}, content=streamed(body)))
    assert caught.value.reason == "decoding"
    coding = ", ".join(["gzip"] * 20_000)  # 100 KB of header: refused before any zlib state exists
    tracemalloc.start()
    try:
        with pytest.raises(errors.NetworkError, match="compressed 20000 times over"):
            mock_get(answer(200, headers={"Content-Encoding": coding}, content=streamed(body)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * MB


def test_endless_compressed_bytes_that_decode_to_nothing_are_capped() -> None:
    async def empty_blocks() -> AsyncIterator[bytes]:
        block = b"\x00\x00\x00\xff\xff" * 1000  # raw deflate: stored blocks of no bytes, never final
        while True:
            await asyncio.sleep(0)  # as a network would: the time limit can strike
            yield block

    handler = answer(200, headers={"Content-Encoding": "deflate"}, content=empty_blocks())
    with pytest.raises(errors.TooLarge, match="compressed body larger than"):
        mock_get(handler, max_bytes=64 * 1024, settings=Settings(respect_robots=False, retries=0, total_timeout=5))


# -- 2. validators: echoed byte for byte ---------------------------------------------------------


def validating(etag: bytes, last_modified: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    """A feed with a non-ASCII ETag and Last-Modified, answering 304 when both come back exactly."""

    def serve(handler: BaseHTTPRequestHandler) -> None:
        # http.server reads request headers as Latin-1: a character per byte
        sent_etag = (handler.headers.get("If-None-Match") or "").encode("latin-1")
        sent_date = (handler.headers.get("If-Modified-Since") or "").encode("latin-1")
        validators = {"ETag": etag.decode("latin-1"), "Last-Modified": last_modified.decode("latin-1")}
        if sent_etag == etag and sent_date == last_modified:
            send(handler, 304, validators, b"")
        else:
            send(handler, 200, {**RSS, **validators}, b"<rss/>")

    return serve


@pytest.mark.parametrize(
    ("etag", "last_modified"),
    [
        ('W/"日本-1"'.encode(), "Mi, 21 Okt 2015 07:28:00 GMT — März".encode()),
        ('"café"'.encode("latin-1"), "Wed, 21 Oct 2015 07:28:00 GMT, été".encode("latin-1")),
        (b'"\x80\xff\xa0"', b"\xa0Wed, 21 Oct 2015\xa0"),
    ],
    ids=["utf-8", "latin-1", "edges"],
)
def test_non_ascii_validators_come_back_byte_for_byte(etag: bytes, last_modified: bytes, server: HostileServer) -> None:
    path = f"/validators/{etag.hex()}"
    server.behaviours[path] = validating(etag, last_modified)
    first = real_get(server.origin + path)
    assert first.status == 200
    assert first.headers["etag"].encode("latin-1") == etag
    assert first.headers["last-modified"].encode("latin-1") == last_modified
    # the next poll, perhaps in another process: the strings as stored
    second = real_get(server.origin + path, etag=first.headers["etag"], last_modified=first.headers["last-modified"])
    assert second.status == 304
    _, sent = server.requests[-1]
    assert sent["if-none-match"].encode("latin-1") == etag
    assert sent["if-modified-since"].encode("latin-1") == last_modified


def test_response_headers_are_all_read_as_latin1() -> None:
    # httpx would read these as UTF-8 (all of them are), those of the next answer as Latin-1
    for raw in (
        [(b"ETag", '"é"'.encode()), (b"Content-Type", b"text/html")],
        [(b"ETag", '"é"'.encode()), (b"Content-Type", b"text/html"), (b"X-Latin", b"caf\xe9")],
    ):
        response = mock_get(answer(200, headers=raw, content=b"x"))
        assert response.headers["etag"] == '"é"'.encode().decode("latin-1")
        assert response.headers["content-type"] == "text/html"


@pytest.mark.parametrize("bad", ["日本", "a\r\nb", "a\nb", "\x00", "\ud800", "x\x0by", "\t", "  "])
def test_a_validator_http_cannot_carry_is_left_out(bad: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(304)

    assert mock_get(handler, etag=bad, last_modified="Wed, 21 Oct 2015 07:28:00 GMT").status == 304
    assert mock_get(handler, etag='"v1"', last_modified=bad).status == 304
    assert "if-none-match" not in sent[0].headers
    assert sent[0].headers["if-modified-since"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert "if-modified-since" not in sent[1].headers
    assert sent[1].headers["if-none-match"] == '"v1"'


# -- 3. the cookie jar is bounded --------------------------------------------------------------------


_serials = itertools.count()


def cookie_monster(handler: BaseHTTPRequestHandler) -> None:
    """200 new cookies on every response; 431 when the Cookie header passes 8 KB, like real servers."""
    cookie = handler.headers.get("Cookie") or ""
    if len(cookie) > 8 * 1024:
        send(handler, 431, {"Content-Type": "text/plain"}, b"Request Header Fields Too Large")
        return
    serial = next(_serials)  # new names every time
    handler.send_response(200)
    for n in range(200):
        handler.send_header("Set-Cookie", f"c{serial:x}_{n}=value-{n:03d}-0123456789; Path=/")
    handler.send_header("Content-Length", "6")
    handler.end_headers()
    handler.wfile.write(b"<rss/>")


def test_a_site_setting_200_cookies_a_page_is_still_answered(server: HostileServer) -> None:
    server.behaviours["/cookies"] = cookie_monster

    async def go() -> list[int]:
        async with Fetcher(LOCAL) as fetcher:
            return [(await fetcher.get(server.origin + "/cookies", max_bytes=CAP)).status for _ in range(20)]

    assert asyncio.run(go()) == [200] * 20
    sent = [headers.get("cookie", "") for target, headers in server.requests if target == "/cookies"][-19:]
    assert len(sent) == 19
    assert all(header.count("=") == cookies.MAX_PER_SITE for header in sent)
    assert max(len(header) for header in sent) < 8 * 1024


def test_cookies_keep_their_bytes(server: HostileServer) -> None:
    value = "日本-é".encode()

    def serve(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Set-Cookie", b"session=".decode() + value.decode("latin-1") + "; Path=/")
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    server.behaviours["/cookie-bytes"] = serve

    async def go() -> None:
        async with Fetcher(LOCAL) as fetcher:
            for _ in range(2):
                await fetcher.get(server.origin + "/cookie-bytes", max_bytes=CAP)

    asyncio.run(go())
    _, sent = server.requests[-1]
    assert sent["cookie"].encode("latin-1") == b"session=" + value


def set_cookies(jar: cookies.CookieJar, url: str, names: list[str], value: str = "v") -> None:
    jar.extract(url, [f"{name}={value}; Path=/" for name in names])


def names_sent(jar: cookies.CookieJar, url: str) -> list[str]:
    header = jar.header(url) or ""
    return sorted(pair.partition("=")[0] for pair in header.split("; ") if pair)


def test_per_site_the_oldest_cookies_go_first() -> None:
    jar = cookies.CookieJar()
    set_cookies(jar, "http://www.example.com/", [f"a{n:02d}" for n in range(30)])
    set_cookies(jar, "http://news.example.com/", [f"b{n:02d}" for n in range(30)])  # the same site
    set_cookies(jar, "http://other.example/", ["mine"])
    assert names_sent(jar, "http://www.example.com/") == [f"a{n:02d}" for n in range(10, 30)]
    assert names_sent(jar, "http://news.example.com/") == [f"b{n:02d}" for n in range(30)]
    assert names_sent(jar, "http://other.example/") == ["mine"]


def test_a_cookie_set_again_keeps_its_age() -> None:
    jar = cookies.CookieJar()
    set_cookies(jar, "http://example.com/", ["first", *(f"n{n:02d}" for n in range(49))])
    set_cookies(jar, "http://example.com/", ["first"], value="renewed")
    set_cookies(jar, "http://example.com/", ["newest"])
    sent = names_sent(jar, "http://example.com/")
    assert "first" not in sent and "newest" in sent and len(sent) == 50


def test_cookies_the_server_deleted_do_not_count() -> None:
    jar = cookies.CookieJar()
    set_cookies(jar, "http://example.com/", [f"n{n:02d}" for n in range(50)])
    jar.extract("http://example.com/", [f"n{n:02d}=; Max-Age=0; Path=/" for n in range(40)])
    set_cookies(jar, "http://example.com/", [f"m{n:02d}" for n in range(40)])
    assert len(names_sent(jar, "http://example.com/")) == 50
    assert "n49" in names_sent(jar, "http://example.com/")


def test_at_most_3000_cookies_in_all_the_oldest_evicted() -> None:
    jar = cookies.CookieJar()
    for site in range(70):  # 70 sites of 50 cookies: 3500
        set_cookies(jar, f"http://site{site}.example/", [f"c{n}" for n in range(50)])
    held = [len(names_sent(jar, f"http://site{site}.example/")) for site in range(70)]
    assert sum(held) == cookies.MAX_COOKIES
    assert held[:10] == [0] * 10 and held[10:] == [50] * 60


def test_a_cookie_over_4096_bytes_is_ignored() -> None:
    jar = cookies.CookieJar()
    jar.extract("http://example.com/", ["big=" + "x" * 4093, "huge=" + "x" * 4093, "small=1"])  # 4096, 4097
    assert names_sent(jar, "http://example.com/") == ["big", "small"]


# -- 4. oversized headers, in words ----------------------------------------------------------------


def test_oversized_response_headers_say_so(server: HostileServer) -> None:
    def serve(handler: BaseHTTPRequestHandler) -> None:
        head(handler, 200, {"X-Padding": "a" * 200_000, "Content-Length": "2"})

    server.behaviours["/big-header"] = serve
    url = server.origin + "/big-header"
    with pytest.raises(errors.TooLarge) as caught:
        real_get(url)
    assert str(caught.value) == f"GET {url}: the server's response headers are larger than 100 KB"


def test_an_endless_chunk_size_line_says_so(server: HostileServer) -> None:
    def serve(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 200_000)

    server.behaviours["/big-chunk-line"] = serve
    with pytest.raises(errors.NetworkError, match="a chunk header of the body is longer than 100 KB"):
        real_get(server.origin + "/big-chunk-line")


# -- 5. whatever the input: a Response or a FetchError ---------------------------------------------

#: (URL, whether it may go to the sockets directly: no host name the resolver might look up even
#: before the fix; the others go to the local proxy, which answers any name)
BAD_URLS = [
    ("http://[::1", True),
    ("http://" + "a" * 64 + ".com/", True),
    ("http://a..com/", True),
    ("http://.example.com/", True),
    ("https://xn--.com/", True),
    ("http://a b.com/", False),
    ("http://%41.com/", False),
    ("http://127.0.0.1:99999/", True),
    ("http://127.0.0.1:0/", True),
    ("http://[::1]:99999/", True),
    ("http://127.0.0.1:" + "9" * 30 + "/", True),
    ("", True),
    ("\x00", True),
    ("\ud800", True),
    ("http://example.com/\ud800", True),
    ("http://\ud800.com/", True),
    ("example.com/rss", True),
    ("http://" + "a." * 130 + "com/", False),
]


@pytest.mark.parametrize(("url", "direct"), BAD_URLS)
def test_a_url_that_cannot_be_fetched_is_a_bad_url(url: str, direct: bool, server: HostileServer) -> None:
    proxied = Settings(respect_robots=False, retries=0, proxy=server.origin)
    for settings_ in (LOCAL, proxied) if direct else (proxied,):
        with pytest.raises(errors.FetchError) as caught:
            real_get(url, settings_)
        assert caught.value.reason == "bad_url", str(caught.value)
        assert_fit_message(caught.value)
    with pytest.raises(errors.FetchError) as caught:
        mock_get(answer(200), url)
    assert caught.value.reason == "bad_url"


@pytest.mark.parametrize(
    "proxy",
    ["http://127.0.0.1:99999", "http://[::1", "http://" + "p" * 64 + ".example:3128", "http://127.0.0.1:0", "\ud800"],
)
def test_an_unusable_proxy_setting_is_bad_proxy(proxy: str) -> None:
    with pytest.raises(errors.FetchError) as caught:
        real_get("http://feeds.example/rss", Settings(respect_robots=False, retries=0, proxy=proxy))
    assert caught.value.reason == "bad_proxy"
    assert_fit_message(caught.value)


@pytest.mark.parametrize(
    ("location", "direct"),
    [
        (b"http://[::1", True),
        (b"http://" + b"a" * 64 + b".com/", True),
        (b"http://a..com/", True),
        (b"http://\xff\xfe.com/", False),
        (b"http://a b.com/", False),
        (b"http://127.0.0.1:99999/", True),
        (b"http://xn--.com/", True),
        (b"http://%ed%a0%80/", False),
    ],
)
def test_a_redirect_to_a_url_that_cannot_be_fetched_is_a_bad_url(
    location: bytes, direct: bool, server: HostileServer
) -> None:
    path = f"/redirect/{location.hex()}"
    server.behaviours[path] = lambda handler: send(handler, 302, {"Location": location.decode("latin-1")}, b"")
    # through the proxy the first hop is to a name (answered by the same local server)
    for url, settings_ in ([(server.origin + path, LOCAL)] if direct else []) + [
        ("http://hostile.test" + path, Settings(respect_robots=False, retries=0, proxy=server.origin))
    ]:
        with pytest.raises(errors.FetchError) as caught:
            real_get(url, settings_)
        assert caught.value.reason == "bad_url", str(caught.value)
        assert_fit_message(caught.value)


def test_long_locations_make_short_messages(server: HostileServer) -> None:
    with pytest.raises(errors.FetchError, match="redirect to an invalid URL") as caught:
        mock_get(answer(302, headers={"Location": "/" + "a" * 100_000}))
    assert_fit_message(caught.value)
    server.behaviours["/long-redirect"] = lambda handler: send(handler, 302, {"Location": "/" + "b" * 60_000}, b"")
    with pytest.raises(errors.HTTPStatusError) as status:  # followed: the server has no such page
        real_get(server.origin + "/long-redirect")
    assert status.value.status == 404
    assert_fit_message(status.value)


@pytest.mark.parametrize(
    ("location", "final"),
    [
        (b"/caf\xc3\xa9", "https://feeds.example/caf%C3%A9"),  # UTF-8, as browsers read it
        (b"/caf\xe9", "https://feeds.example/caf%E9"),  # not UTF-8: the byte itself
        (b"http://\xc3\xa9.example/", "http://xn--9ca.example/"),
    ],
)
def test_non_ascii_locations_are_followed_byte_for_byte(location: bytes, final: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/rss":
            return httpx.Response(302, headers=[(b"Location", location)])
        return httpx.Response(200, content=b"ok")

    assert mock_get(handler).final_url == final


@pytest.mark.parametrize(
    "value",
    [
        "1e400",
        "-5",
        "99999999999999999999",
        "1" * 400,
        "nan",
        "inf",
        "Wed, 01 May 99999 12:01:30 GMT",
        "Fri, 31 Dec 9999 23:59:59 -2359",
    ],
)
def test_absurd_retry_after_is_a_finite_wait_or_none(value: str) -> None:
    for retries in (0, 2):
        with pytest.raises(errors.HTTPStatusError) as caught:
            mock_get(
                answer(503, headers={"Retry-After": value}), settings=Settings(respect_robots=False, retries=retries)
            )
        wait = caught.value.retry_after
        assert wait is None or (math.isfinite(wait) and 0 <= wait <= 366 * 86400)
    assert parse_retry_after("1" * 400) == 366 * 86400


@pytest.mark.parametrize("declared", [b"abc", b"-1", b"\xb2", b"5" * 5000, b"1e3", str(10**30).encode(), b""])
def test_any_content_length_is_a_response_or_a_fetch_error(declared: bytes, server: HostileServer) -> None:
    headers = [(b"Content-Length", declared)]
    try:
        assert mock_get(answer(200, headers=headers, content=streamed(b"<rss/>"))).content == b"<rss/>"
    except errors.TooLarge:
        assert declared in (b"5" * 5000, str(10**30).encode())

    def serve(handler: BaseHTTPRequestHandler) -> None:
        head(handler, 200, {"Content-Length": declared.decode("latin-1")})
        handler.wfile.write(b"<rss/>")

    path = f"/content-length/{declared[:20].hex()}"
    server.behaviours[path] = serve
    try:
        real_get(server.origin + path)
    except errors.FetchError as exc:
        assert_fit_message(exc)


def test_a_unicode_user_agent_is_not_a_crash() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    mock_get(handler, settings=Settings(respect_robots=False, user_agent="archiver\r\nX-Injected: 1"))
    mock_get(handler, settings=Settings(respect_robots=False, user_agent="архиватор/1"))
    assert [r.headers["user-agent"] for r in sent] == [Settings.user_agent] * 2
    assert "x-injected" not in sent[0].headers


# -- properties --------------------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)  # surrogates and controls included
URLS = st.one_of(
    ANY_TEXT,
    st.builds(str.__add__, st.sampled_from(["http://", "https://", "HTTP://", "http:", "//", "ftp://"]), ANY_TEXT),
    st.builds("http://{}:{}/{}".format, ANY_TEXT, st.integers(-10, 10**6), ANY_TEXT),
    st.builds("https://{}.example/{}?{}".format, ANY_TEXT, ANY_TEXT, ANY_TEXT),
)
PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(call: Callable[[], Response]) -> Response | errors.FetchError:
    """The call's Response or FetchError; anything else fails the test."""
    try:
        response = call()
    except errors.FetchError as exc:
        assert_fit_message(exc)
        return exc
    assert isinstance(response, Response)
    return response


@PROPERTIES
@given(url=URLS, etag=st.none() | ANY_TEXT, last_modified=st.none() | ANY_TEXT)
def test_any_url_and_validators_give_a_response_or_a_fetch_error(
    url: str, etag: str | None, last_modified: str | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(304 if "if-none-match" in request.headers else 200, content=b"<rss/>")

    outcome(lambda: mock_get(handler, url, etag=etag, last_modified=last_modified))


#: header bytes a real server's answer can hold (h11 refuses NUL, CR, LF and other whitespace)
HEADER_BYTES = st.binary(max_size=40).map(lambda raw: re.sub(rb"[\x00\s]+", b" ", raw).strip(b" \t"))
CODINGS = st.lists(st.sampled_from(["gzip", "x-gzip", "deflate", "identity", "br", "bogus", ""]), max_size=3)
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
}


@PROPERTIES
@given(
    status=st.sampled_from([200, 200, 301, 302, 304, 308, 404, 429, 503, 599]),
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    b"Location",
                    b"Content-Length",
                    b"Retry-After",
                    b"Set-Cookie",
                    b"ETag",
                    b"Last-Modified",
                    b"Content-Encoding",
                ]
            ),
            HEADER_BYTES,
        ),
        max_size=6,
    ),
    codings=CODINGS,
    body=st.binary(max_size=300),
    encode=st.booleans(),
    chunk=st.integers(1, 64),
)
def test_any_server_answer_gives_a_response_or_a_fetch_error(
    status: int, headers: list[tuple[bytes, bytes]], codings: list[str], body: bytes, encode: bool, chunk: int
) -> None:
    if encode:  # a well-formed body for its codings, else raw bytes claiming them
        for coding in codings:
            body = ENCODERS.get(coding, bytes)(body)  # bytes: a coding without an encoder
    raw = [*headers, (b"Content-Encoding", ", ".join(codings).encode())] if codings else headers

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=raw, content=streamed(body, chunk))

    async def go() -> None:
        quick = Settings(respect_robots=False, retries=1, retry_backoff=0, max_retry_after=0)
        async with Fetcher(
            quick, transport=httpx.MockTransport(handler), resolver=public_dns, sleep=no_wait
        ) as fetcher:
            first = await outcome_async(fetcher.get(FEED, max_bytes=200))
            if isinstance(first, Response):  # the next poll sends back what it got
                await outcome_async(
                    fetcher.get(
                        FEED,
                        max_bytes=200,
                        etag=first.headers.get("etag"),
                        last_modified=first.headers.get("last-modified"),
                    )
                )

    asyncio.run(go())


async def outcome_async(call: Any) -> Response | errors.FetchError:
    try:
        response = await call
    except errors.FetchError as exc:
        assert_fit_message(exc)
        return exc
    assert isinstance(response, Response)
    return response
