"""The PostgreSQL backend's particulars (the interface itself is tests/test_store.py's, on both
backends): a fresh database opened by many at once, the search language as a tsquery, messages
that never show the password, and the real command line on a PostgreSQL archive."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from aggregator.errors import StoreError
from aggregator.store import Store, open_store
from aggregator.store.postgresql import SCHEMA_VERSION, PostgreSQLStore, public_url
from tests.helpers.postgres import fresh_database
from tests.helpers.site import Site, run_cli, tass_config
from tests.helpers.stores import FEED
from tests.helpers.stores import new_article as article


@pytest.fixture
def url() -> str:
    return fresh_database()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = open_store(url)
    opened.sync_feeds([FEED])
    yield opened
    opened.close()


def test_a_url_opens_the_postgresql_backend_either_scheme(url: str) -> None:
    with open_store(url) as first, open_store(url.replace("postgresql://", "postgres://", 1)) as second:
        assert isinstance(first, PostgreSQLStore) and isinstance(second, PostgreSQLStore)
        assert first.schema_version == second.schema_version == SCHEMA_VERSION


def test_many_opening_a_fresh_database_at_once_make_one_schema(url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def opener() -> None:
        barrier.wait()
        try:
            with open_store(url) as store:
                store.sync_feeds([FEED])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_store(url) as store:
        assert store.schema_version == SCHEMA_VERSION  # type: ignore[attr-defined]
        assert store.count("feeds") == 1
        assert store.integrity_problems() == []


def _ids(store: Store, query: str) -> list[str]:
    return sorted(row["id"][0] for row in store.search(query))


def test_the_search_language_as_a_tsquery(store: Store) -> None:
    store.save_article(article("https://tass.com/1", "1" * 16, title="Presidential talks", body="Moscow summit"), None)
    store.save_article(article("https://tass.com/2", "2" * 16, body="The president spoke in Moscow"), None)
    store.save_article(article("https://tass.com/3", "3" * 16, body="Weather: covid-19 & rain | snow!"), None)
    store.save_article(article("https://tass.com/4", "4" * 16, body="it's o'clock: AT&T's 'quoted' <-> words"), None)
    assert _ids(store, "presiden*") == ["1", "2"]  # a prefix longer than the stem still finds it
    assert _ids(store, "mosc*") == ["1", "2"]
    assert _ids(store, '"spoke in moscow"') == ["2"]  # a phrase, in order
    assert _ids(store, '"moscow spoke"') == []
    assert _ids(store, "moscow -summit") == ["2"] and _ids(store, "moscow NOT summit") == ["2"]
    assert _ids(store, "summit OR weather") == ["1", "3"]
    assert _ids(store, "covid-19") == ["3"]
    # what tsquery would read as syntax is only characters of words here
    for typed in ("rain|snow", "rain & snow", "rain:*", "!rain", "'rain'", "snow!", "rain<->snow", "(rain"):
        assert _ids(store, typed) == ["3"], typed
    assert _ids(store, "o'clock") == ["4"] and _ids(store, "'quoted'") == ["4"]
    store.search("AT&T's <-> !(x:*)")  # no syntax error (what it finds is the parser's business)
    assert store.count_matches("moscow") == 2 and store.count_matches("moscow -summit") == 1
    assert store.count_matches("moscow", source="other") == 0
    # counted to one past at_most, as the SQLite backend does ("more than 1")
    assert [store.count_matches("moscow", at_most=n) for n in (0, 1, 2, 5)] == [1, 2, 2, 2]
    (hit,) = store.search("presidential", marks=("«", "»"))
    assert hit["snippet"] == "«Presidential» talks"  # the title, when only the title matches


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{password}@{parts.hostname}:{parts.port}"))


def test_the_password_is_never_in_a_message(url: str) -> None:
    secret = "s3cr3t-pw"
    with_password = _with_password(url, secret)
    assert secret not in public_url(with_password)
    with open_store(with_password) as store:  # trust auth: the password is not even needed
        assert secret not in store.location and store.location == public_url(with_password)
    missing = with_password.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StoreError) as caught:
        open_store(missing)
    message = str(caught.value)
    assert secret not in message and "no_such_database" in message and "\n" not in message


def test_an_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://someone:hunter2@127.0.0.1:{port}/archive"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    message = str(caught.value)
    assert message.startswith(f"postgresql://someone@127.0.0.1:{port}/archive: cannot open the archive database: ")
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.slow
def test_the_command_line_on_a_postgresql_archive(tmp_path: Path, tass_site: Site, url: str) -> None:
    config = tass_config(tmp_path, tass_site)
    env = {"AGGREGATOR_DATABASE": url}
    fetched = run_cli("fetch", config=config, env=env, timeout=120)
    assert fetched.returncode == 0, fetched.stderr
    assert not (tmp_path / "archive" / "archive.db").exists()  # the URL, not the file, was used
    with open_store(url) as store:
        articles = store.count("articles")
        assert articles > 0
        title = next(iter(store.iter_articles(columns=["title"])))["title"]
    word = max(title.split(), key=len).strip(".,:;\"'")
    found = run_cli("search", word, config=config, env=env)
    assert found.returncode == 0, found.stderr
    assert title.split()[0] in found.stdout
    feeds = run_cli("feeds", config=config, env=env)
    assert feeds.returncode == 0, feeds.stderr
    assert "tass" in feeds.stdout
    served = run_cli("serve", config=config, env=env)
    assert served.returncode == 2
    assert served.stderr.strip().splitlines() == [
        "error: `aggregator serve` works on an SQLite archive file only, not on a PostgreSQL database"
    ]
