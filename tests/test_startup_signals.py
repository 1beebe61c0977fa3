"""Signals during start-up, on the real command line: ``aggregator run`` stops in order whenever a
SIGTERM or SIGINT comes, the first moments of start-up included (exit 0, "daemon stopped", the
lock released, nothing polled: it starts, sees the stop it was asked for, and stops); the other
commands keep the default behaviour.

A signal at a chosen point of start-up comes from the process itself (an audit hook sends it when
a module is imported, a file opened, the database connected), so the moment is the same however
loaded the machine is; a signal at a chosen time comes from outside, as a service manager sends it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aggregator.daemon.lock import daemon_pid
from tests.helpers.daemon import handles_sigterm, is_up, query, start_daemon, wait_for
from tests.helpers.site import Site, tass_config

#: ``aggregator`` with an audit hook that sends the process ``argv[2]`` at the first ``argv[1]``
#: event: ``import:MODULE``, ``open:FILE NAME``, or ``sqlite3.connect``
SIGNAL_ITSELF = """
import os, sys
point, signum = sys.argv[1], int(sys.argv[2])
del sys.argv[1:3]
def hook(event, args, sent=[]):
    name = ''
    if event == 'import':
        name = 'import:' + str(args[0])
    elif event == 'open':
        name = 'open:' + os.path.basename(str(args[0]))
    elif event == 'sqlite3.connect':
        name = event
    if name == point and not sent:
        sent.append(True)
        os.kill(os.getpid(), signum)
sys.addaudithook(hook)
from aggregator.cli import main
main()
"""


def assert_stopped_in_order(daemon: subprocess.Popen[str], db: Path, site: Site, *, during_start_up: bool) -> None:
    """Exit 0, "daemon stopped", the lock free; when the signal came during start-up, "daemon
    started" and "daemon stopped" alone: nothing polled."""
    try:
        assert daemon.wait(timeout=60) == 0
    finally:
        daemon.kill()
    _, stderr = daemon.communicate()
    events = [json.loads(line) for line in stderr.splitlines()]
    assert [(e["event"], e["message"]) for e in events][-1] == ("stop", "daemon stopped")
    if during_start_up:
        assert [e["event"] for e in events] == ["start", "stop"], stderr
        assert "/rss/v2.xml" not in site.hits
    assert daemon_pid(db) is None and not is_up(db, daemon)  # the lock released, its pid cleared
    assert not list(db.parent.rglob(".tmp-*"))  # nothing half-written
    if db.exists():
        assert query(db, "PRAGMA integrity_check") == [("ok",)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "signum"),
    [
        ("import:aggregator.cli.app", signal.SIGTERM),  # main's first line has run: every import is ahead
        ("import:click", signal.SIGTERM),
        ("import:aggregator.daemon.scheduler", signal.SIGTERM),
        ("import:apscheduler.schedulers.asyncio", signal.SIGINT),
        ("open:feeds.yaml", signal.SIGTERM),  # the daemon reads its configuration
        ("sqlite3.connect", signal.SIGTERM),  # the lock taken, the database opening
    ],
)
def test_a_signal_at_any_point_of_start_up_is_an_orderly_stop(
    tmp_path: Path, tass_site: Site, point: str, signum: signal.Signals
) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    command = [sys.executable, "-c", SIGNAL_ITSELF, point, str(int(signum))]
    daemon = subprocess.Popen(
        [*command, "--config", str(config), "--log-format", "json", "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert_stopped_in_order(daemon, db, tass_site, during_start_up=True)

    second = start_daemon(config)  # the next start takes the lock, and stops in order too
    try:
        wait_for(lambda: is_up(db, second))
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        second.kill()
        second.communicate()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/PID/status (Linux)")
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.1, 0.2])
def test_a_sigterm_early_in_start_up_from_outside_is_an_orderly_stop(
    tmp_path: Path, tass_site: Site, delay: float
) -> None:
    config = tass_config(tmp_path, tass_site)
    db = tmp_path / "archive" / "archive.db"
    daemon = start_daemon(config, "--log-format", "json")
    # counted from main's first line (the interpreter's own start, ~50 ms before it, runs none of
    # our code): start-up still has most of a second to go
    assert handles_sigterm(daemon)
    time.sleep(delay)
    daemon.send_signal(signal.SIGTERM)
    during_start_up = not is_up(db, daemon)  # sent before the daemon took its lock: no tick has run
    assert during_start_up or delay > 0  # the first moment is always during start-up
    assert_stopped_in_order(daemon, db, tass_site, during_start_up=during_start_up)


@pytest.mark.parametrize(
    ("signum", "returncode", "stderr"),
    [(signal.SIGTERM, -signal.SIGTERM, ""), (signal.SIGINT, 130, "\nerror: interrupted\n")],
)
def test_the_other_commands_keep_the_default_behaviour(
    tmp_path: Path, tass_site: Site, signum: signal.Signals, returncode: int, stderr: str
) -> None:
    """Held while the commands are imported, then given back: the signal acts before ``fetch`` runs."""
    config = tass_config(tmp_path, tass_site)
    command = [sys.executable, "-c", SIGNAL_ITSELF, "import:aggregator.cli.app", str(int(signum))]
    fetch = subprocess.Popen(
        [*command, "--config", str(config), "fetch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = fetch.communicate(timeout=60)
    finally:
        fetch.kill()
    assert (fetch.returncode, out, err) == (returncode, "", stderr)
    assert tass_site.hits == {}  # stopped before it fetched anything
