"""Hostile command lines through the real CLI: every one ends with a documented exit code (0, 1 or
2), never a traceback, and every error is exactly one line on stderr starting with ``error: `` (a
config file with several problems: that line says how many, and an indented line names each).

Nothing reaches the network: the archive is built in-process from fixtures, the commands that
would fetch are refused before they do, and the one feed that is fetched is on a 127.0.0.1 port
that refuses connections.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from aggregator.daemon.lock import DaemonLock
from tests.helpers.archive import build_archive, invoke
from tests.helpers.site import FIXTURES, run_cli

PAGE = str(FIXTURES / "tass" / "politics-1189047.html")
URL = "https://tass.com/politics/1189047"
NOT_UTF8 = "\udcff"  # what Python makes of the byte 0xff on a command line (PEP 383)
USAGE_ERROR = re.compile(r"error: [^\n]+ \(see 'aggregator( [a-z-]+)* --help'\)\n")


def _refused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real archive (``feeds.yaml``, ``a.db``, ``archive/``), a feeds.yaml whose one feed refuses
    connections, an OPML file with a URL that cannot be parsed, and a folder."""
    root = tmp_path_factory.mktemp("cli-errors")
    build_archive(root)
    (root / "refusing.yaml").write_text(
        "settings:\n  database: other.db\n  retries: 0\n  allow_private_networks: true\nfeeds:\n"
        f"  - {{id: local, url: 'http://127.0.0.1:{_refused_port()}/rss', source: Local}}\n",
        encoding="utf-8",
    )
    (root / "bad.opml").write_text(
        '<opml version="2.0"><body><outline text="Loopback" xmlUrl="http://[::1"/></body></opml>', encoding="utf-8"
    )
    (root / "folder").mkdir()
    return root


USAGE = 3  # a usage error: exit code 2, and the line ends with the help to read

# (arguments after ``--config feeds.yaml``, expected exit code or USAGE); {dir} is the module's folder.
CASES: list[tuple[list[str], int]] = [
    ([], USAGE),  # no command
    (["fech"], USAGE),
    (["--log-format", "xml", "feeds"], USAGE),
    (["search", "x", "--limit", "99999999999999999999999"], USAGE),  # OverflowError from SQLite before
    (["search", NOT_UTF8], USAGE),  # UnicodeEncodeError from SQLite before
    (["search", "x", "--source", NOT_UTF8, "--format", "json"], USAGE),
    (["search", "x", "--since", "0000-01-01"], USAGE),
    (["search", "aliyev", "--since", "0001-01-01", "--until", "9999-12-31", "--limit", "10000"], 0),
    (["search", "x", "--since", "2020-08-13", "--until", "2020-08-01"], USAGE),
    (["article", "--html", PAGE, "--url", URL, "--source", " "], USAGE),  # ValueError from render before
    (["article", "--html", PAGE, "--url", "http://[::1"], USAGE),  # ValueError from urllib before
    (["article", "--html", PAGE, "--url", "https://" + "a" * 64 + ".com/x"], USAGE),  # UnicodeError before
    (["article", "--html", "{dir}/folder", "--url", URL], USAGE),
    (["article", "--html", "/dev/zero", "--url", URL], USAGE),  # read for ever before
    (["article", "--html", PAGE, "--url", URL, "--timezone", "Europe"], USAGE),  # IsADirectoryError before
    (["article", "--html", PAGE, "--url", URL, "--profile", "../../etc/passwd"], USAGE),
    (["article", "http://127.0.0.1:99999/"], USAGE),  # IndexError in the connection code before
    (["article"], USAGE),
    (["serve", "--host", NOT_UTF8], USAGE),  # UnicodeError from getaddrinfo before
    (["run", "--metrics-port", "9", "--metrics-host", ""], USAGE),  # "" listened on every interface
    (["export", "--format", "jsonl", "--out", ""], USAGE),
    (["export", "--format", "jsonl", "--out", "{dir}/folder"], 1),
    (["export", "--format", "text", "--out", "{dir}/feeds.yaml"], 1),
    (["export", "--format", "csv", "--source", NOT_UTF8], USAGE),
    (["feeds", "import", "{dir}/folder"], USAGE),
    (["feeds", "import", "/dev/zero"], USAGE),  # read for ever before
    (["feeds", "import", "{dir}/bad.opml"], 2),
    (["feeds", "import", "{dir}/bad.opml", "--timezone", "Mars/Olympus"], USAGE),
    (["feeds", "export", "--out", "{dir}/folder"], USAGE),
    (["reextract", "--since", "0000-01-01"], USAGE),
    (["fetch", "no-such-feed"], 2),
    (["doctor"], 0),
]


@pytest.mark.parametrize(("args", "code"), CASES, ids=[" ".join(args)[:60] or "(none)" for args, _ in CASES])
def test_hostile_arguments_end_in_one_line_and_a_documented_code(folder: Path, args: list[str], code: int) -> None:
    result = run_cli(*(arg.format(dir=folder) for arg in args), config=folder / "feeds.yaml")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == min(code, 2), result.stderr
    if code:
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    if code == USAGE:
        assert USAGE_ERROR.fullmatch(result.stderr), result.stderr


@pytest.mark.parametrize("config", ["", "folder", "absent.yaml", "/dev/zero"])
def test_a_config_path_that_is_empty_a_folder_absent_or_endless(folder: Path, config: str) -> None:
    result = run_cli("--config", config and str(folder / config), "feeds")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr


def test_a_config_with_several_problems_names_them_all_one_line_each(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "settings: {concurrency: 0}\nfeeds:\n"
        "  - {id: a, url: 'http://x.org/rss', source: X, timezone: Mars/Base}\n"
        "  - {id: b, url: 'http://X.ORG/rss#top', source: X}\n",
        encoding="utf-8",
    )
    result = invoke("feeds", config=config)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: {config}: 3 problems:\n"
        "  settings.concurrency: 0 is out of range; allowed: 1 to 1000\n"
        "  feed 'a': unknown time zone 'Mars/Base'\n"
        "  feed 'b': duplicate url 'http://X.ORG/rss#top' (the same feed as feed 'a')\n"
    )
    config.write_text("feeds:\n  - {id: a, url: 'http://x.org/rss', source: X, timezone: Mars/Base}\n")
    one = invoke("fetch", config=config)  # one problem: the one line it always was
    assert (one.returncode, one.stderr) == (2, f"error: {config}: feed 'a': unknown time zone 'Mars/Base'\n")


def test_a_feed_that_refuses_connections_is_one_summary_line_and_exit_1(folder: Path) -> None:
    result = run_cli("fetch", config=folder / "refusing.yaml")
    assert result.returncode == 1
    assert result.stdout.startswith("local: FAILED: GET http://127.0.0.1:") and result.stdout.count("\n") == 1
    # and the failed poll is logged at WARNING, so that a log without -v has it too: one line
    (logged,) = result.stderr.splitlines()
    assert " WARNING poll feed=local outcome=error " in logged


def test_help_and_version_still_exit_0(folder: Path) -> None:
    top = run_cli("--help")
    assert (top.returncode, top.stderr) == (0, "") and top.stdout.startswith("Usage: aggregator [OPTIONS] COMMAND")
    sub = run_cli("feeds", "import", "--help")
    assert (sub.returncode, sub.stderr) == (0, "") and "--skip-existing" in sub.stdout
    version = run_cli("--version")
    assert (version.returncode, version.stdout) == (0, f"aggregator, version {_version()}\n")


def test_the_usage_error_names_the_option_and_the_help_to_read(folder: Path) -> None:
    result = run_cli("search", "x", "--limit", "0", config=folder / "feeds.yaml")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "error: Invalid value for '--limit': 0 is not in the range 1<=x<=10000. (see 'aggregator search --help')\n"
    )


def test_a_path_that_is_not_utf8_prints_back_as_its_bytes(folder: Path) -> None:
    # In a UTF-8 locale other than C.UTF-8 stdout is strict: printing such a path raised before.
    out = folder / f"{NOT_UTF8}.csv"
    command = [
        sys.executable,
        "-m",
        "aggregator",
        "--config",
        str(folder / "feeds.yaml"),
        "export",
        "--format",
        "csv",
        "--out",
        str(out),
    ]
    result = subprocess.run(
        command, capture_output=True, timeout=60, check=False, env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert out.exists() and result.stdout == b"3 articles written to " + os.fsencode(out) + b"\n"


def _version() -> str:
    from aggregator import __version__

    return __version__


@pytest.mark.parametrize("pid", ["0", "1", "99999999999999999999"])
def test_reload_signals_no_process_group_init_or_overflowing_pid(tmp_path: Path, pid: str) -> None:
    # os.kill(0, SIGHUP) would hang up this whole process group (pytest included); a pid past
    # the C int raised OverflowError. Only a held lock file names a pid, so hold one here.
    config = tmp_path / "feeds.yaml"
    config.write_text("settings:\n  database: a.db\nfeeds: []\n", encoding="utf-8")
    with DaemonLock(tmp_path / "a.db") as lock:
        lock.path.write_text(f"{pid}\n", encoding="utf-8")
        result = invoke("reload", config=config)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: the lock file of {tmp_path / 'a.db'} holds no usable pid ({int(pid)})\n"
