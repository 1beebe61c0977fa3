"""A free local port, and ``aggregator serve`` (a real Datasette) in a subprocess on one, with a
client for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

STARTUP_SECONDS = 30


def free_port() -> int:
    """A local TCP port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(config: Path, *options: str) -> Iterator[httpx.Client]:
    """`aggregator serve` (with ``options``) in a subprocess; yields a client for it once it
    answers, stops it after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    command = [sys.executable, "-m", "aggregator", "--config", str(config), "serve", "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve exited with {process.returncode}: {process.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                if client.get("/-/versions.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Datasette did not answer within {STARTUP_SECONDS} s")
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        process.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn shuts down cleanly
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
