"""Shared test fixtures: a local web site on a real socket (plain, or the TASS-like one), and the
figures the reliability tests record. The helpers they use are in tests/helpers/."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from tests.helpers.site import Site, serve_tass


@pytest.fixture
def site() -> Iterator[Site]:
    """A web site on 127.0.0.1 that answers for any host name; give it routes with ``site[path] = ...``."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield Site(server)
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def tass_site(site: Site) -> Site:
    """The site serving the TASS-like feed and its pages (tests.helpers.site.serve_tass)."""
    return serve_tass(site)


# -- reliability figures (docs/reliability.md) -------------------------------------------------

_FIGURES: dict[str, object] = {}


@pytest.fixture(scope="session")
def figures() -> dict[str, object]:
    """Figures the reliability tests record; rendered into docs/reliability.md at the end of the
    session when AGGREGATOR_WRITE_RELIABILITY=1 (see tests/helpers/reliability.py)."""
    return _FIGURES


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _FIGURES and os.environ.get("AGGREGATOR_WRITE_RELIABILITY") == "1" and exitstatus == 0:
        from tests.helpers.reliability import write_report

        write_report(_FIGURES)
