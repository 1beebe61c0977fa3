"""The record of one request and its answer as they crossed the wire, for the WARC capture of it."""

from __future__ import annotations

from datetime import datetime

import httpx

from aggregator.models import Exchange

#: framing the HTTP layer removed from the body it hands over: not true of the payload kept
_FRAMING = frozenset({"transfer-encoding"})


def exchange_of(
    request: httpx.Request,
    response: httpx.Response,
    started: datetime,
    payload: bytes,
    *,
    proxied: bool,
    decoded: bool = False,
) -> Exchange:
    """``payload``: the body as received (``decoded``: only its decoded form exists, as from a
    transport that builds responses in memory, so the headers lose their Content-Encoding)."""
    dropped = _FRAMING | {"content-encoding"} if decoded else _FRAMING
    version = response.extensions.get("http_version", b"HTTP/1.1")
    reason = response.extensions.get("reason_phrase", b"")
    return Exchange(
        url=str(request.url),
        started=started,
        request_headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw),
        http_version=version.decode("latin-1") if isinstance(version, bytes) else str(version),
        status=response.status_code,
        reason=(reason.decode("latin-1") if isinstance(reason, bytes) else str(reason))
        or httpx.codes.get_reason_phrase(response.status_code),
        headers=tuple(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in response.headers.raw
            if k.decode("latin-1").lower() not in dropped
        ),
        payload=payload,
        ip=None if proxied else _server_ip(response),
    )


def _server_ip(response: httpx.Response) -> str | None:
    """The peer's address from httpcore's ``network_stream`` extension, when the transport has one."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        address = stream.get_extra_info("server_addr")
    except Exception:  # a stream that cannot say: the address is unknown, the capture still kept
        return None
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        return address[0]
    return None
