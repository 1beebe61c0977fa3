"""Shared test fixtures: a local web site on a real socket, config files, and the real CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer, URIPattern
from werkzeug import Request, Response

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class Site:
    """A web site served on 127.0.0.1 that answers for any host name (it is also an HTTP proxy).

    Routes are keyed by path (query ignored). Every 200 carries an ETag and honours
    If-None-Match, like a well-behaved news site. ``hits`` counts requests per path.
    """

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.routes: dict[str, Page] = {}
        self.hits: dict[str, int] = {}
        server.expect_request(_AnyPath()).respond_with_handler(self._handle)

    def __setitem__(self, path: str, page: Page | bytes | str) -> None:
        if isinstance(page, str):
            page = page.encode("utf-8")
        self.routes[path] = page if isinstance(page, Page) else Page(page)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def _handle(self, request: Request) -> Response:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        page = self.routes.get(request.path)
        if page is None:
            return Response("not found", status=404, content_type="text/plain")
        etag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
        if page.status == 200 and request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag, **page.headers} if page.status == 200 else dict(page.headers)
        return Response(page.body, status=page.status, content_type=page.content_type, headers=headers)


class _AnyPath(URIPattern):
    """A path matcher that accepts every path."""

    def match(self, uri: str) -> bool:
        return True


@pytest.fixture
def site() -> Iterator[Site]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield Site(server)
    finally:
        server.clear()
        server.stop()


def write_config(tmp_path: Path, feeds: str, *, settings: str = "") -> Path:
    """A feeds.yaml in ``tmp_path`` (archive and database go beside it)."""
    path = tmp_path / "feeds.yaml"
    base = "  retries: 0\n  total_timeout: 10\n"
    path.write_text(f"settings:\n{base}{settings}feeds:\n{feeds}", encoding="utf-8")
    return path


def run_cli(*args: str, config: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a subprocess, as a user would."""
    command = [sys.executable, "-m", "aggregator"]
    if config is not None:
        command += ["--config", str(config)]
    full_env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    full_env.update(env or {})
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, env=full_env,
                          check=False)
