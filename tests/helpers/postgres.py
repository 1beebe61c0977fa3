"""A throwaway, real PostgreSQL server for the tests: started once per test process (each xdist
worker has its own), stopped when the process ends; each test gets a fresh empty database.

``AGGREGATOR_TEST_POSTGRES=postgresql://user@host:port/db`` uses an existing server instead (its
databases are created beside ``db`` and dropped at the end). When neither can be had, the
PostgreSQL tests are skipped with one line saying why ("PostgreSQL not available: ...").
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "AGGREGATOR_TEST_POSTGRES"
_SERVER_ARGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


@dataclass
class Server:
    """A server the tests may create databases on: ``url`` names its maintenance database."""

    url: str
    stop: object = None  # how to stop it (None: not ours)

    def database_url(self, name: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{name}"))


_lock = threading.Lock()
_server: Server | None = None
_failure: str | None = None
_names = itertools.count()


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        found = shutil.which("initdb")
        if found is None:
            raise RuntimeError("no initdb in /usr/lib/postgresql/*/bin or on PATH")
        return Path(found).parent
    return Path(candidates[0]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start() -> Server:
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="aggregator-pg-"))
    data, sockets = root / "data", root / "socket"
    data.mkdir()
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: the server runs as the postgres user
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(f"{Path(command[0]).name} failed: {lines[-1] if lines else done.returncode}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
    options = f"-h 127.0.0.1 -p {port} -k {sockets} {_SERVER_ARGS}"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start")

    def stop() -> None:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return Server(f"postgresql://postgres@127.0.0.1:{port}/postgres", stop)


def server() -> Server:
    """The session's server (started at the first call); skips the test when there is none."""
    global _server, _failure
    with _lock:
        if _server is None and _failure is None:
            try:
                _server = Server(os.environ[ENV]) if os.environ.get(ENV) else _start()
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                _failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if _server is None:
            pytest.skip(f"PostgreSQL not available: {_failure}")
        return _server


def fresh_database() -> str:
    """The URL of a new, empty database on the session's server (skips without a server)."""
    import psycopg

    found = server()
    name = f"aggregator_test_{os.getpid()}_{next(_names)}"
    with psycopg.connect(found.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    if found.stop is None and not _created:  # not our server: its databases are dropped at the end
        atexit.register(_drop_created, found.url)
    _created.append(name)
    return found.database_url(name)


_created: list[str] = []


def _drop_created(url: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in _created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass  # the server went first: nothing left to tidy
