"""The archive's WARC captures end to end: the real command line against a local site, the files
read back with warcio itself, record by record; pages kept in the database before WARC moved into
it, losing nothing; a torn file left by a killed writer cut and closed on the next start; doctor
checking every capture the database names."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import sqlite3
from base64 import b32encode
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from warcio.archiveiterator import ArchiveIterator

from aggregator.capture import WarcWriter
from aggregator.models import Exchange
from aggregator.store import open_store
from aggregator.store.sqlite.schema import MIGRATIONS
from tests.helpers.site import FEED, REFERENCE_HTML, SECOND_STORY, Site, run_cli, tass_config


def digest(payload: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(payload).digest()).decode()


def warc_records(folder: Path) -> list[tuple[str, str | None, str | None, bytes]]:
    """(WARC-Type, WARC-Target-URI, WARC-Payload-Digest, payload) of every record of every WARC file."""
    records = []
    for path in sorted(folder.glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                headers = record.rec_headers
                payload = record.raw_stream.read()
                records.append(
                    (
                        headers.get_header("WARC-Type"),
                        headers.get_header("WARC-Target-URI"),
                        headers.get_header("WARC-Payload-Digest"),
                        payload,
                    )
                )
    return records


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_every_exchange_is_a_warc_record_and_an_unchanged_feed_a_revisit(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    assert run_cli("fetch", config=config).returncode == 0  # the gallery and the 404 fail (pages: exit 0)
    folder, db = tmp_path / "archive" / "warc", tmp_path / "archive" / "archive.db"
    (warc,) = folder.glob("*.warc.gz")  # closed at the end of the run, none left open
    assert list(folder.glob("*.open")) == [] and warc.with_name(warc.name.removesuffix(".warc.gz") + ".cdxj").exists()
    records = warc_records(folder)
    assert records[0][0] == "warcinfo"
    by_uri = {(kind, uri): payload for kind, uri, _, payload in records[1:]}
    feed = by_uri[("response", "http://tass.com/rss/v2.xml")]
    assert feed.endswith(FEED.encode())  # the payload after the HTTP head is what the server sent
    page = by_uri[("response", "http://tass.com/politics/1189047?utm_source=rss&utm_medium=feed")]
    assert page.endswith(REFERENCE_HTML.encode())
    assert ("request", "http://tass.com/world/1189100?utm_source=rss") in by_uri
    # every capture the database names is a record of that URL at that offset, its digest right
    captures = rows(
        db, "SELECT kind, url, record_type, status, digest, warc_file, warc_offset, warc_length FROM captures"
    )
    assert sorted((kind, status) for kind, _, _, status, *_ in captures) == [
        ("feed", 200),
        ("page", 200),
        ("page", 200),
        ("page", 200),  # the gallery: captured, though it is no article
        ("page", 404),  # and the page that is gone: its answer is on record
    ]
    data = warc.read_bytes()
    for _, url, record_type, _, payload_digest, name, offset, length in captures:
        assert name == warc.name
        member = gzip.decompress(data[offset : offset + length])  # one record, one gzip member
        assert f"WARC-Type: {record_type}\r\n".encode() in member and f"WARC-Target-URI: {url}\r\n".encode() in member
        body = member.split(b"\r\n\r\n", 2)[2].removesuffix(b"\r\n\r\n")
        assert digest(body) == payload_digest
    # the second poll: the feed answers 304, kept as a revisit of the first capture
    assert run_cli("fetch", config=config).returncode == 0
    revisits = [r for r in warc_records(folder) if r[0] == "revisit"]
    assert [(uri, payload_digest) for _, uri, payload_digest, _ in revisits] == [
        ("http://tass.com/rss/v2.xml", digest(FEED.encode()))
    ]
    assert rows(db, "SELECT record_type, status FROM captures WHERE kind = 'feed' ORDER BY id") == [
        ("response", 200),
        ("revisit", 304),
    ]
    doctor = run_cli("doctor", config=config)
    assert (doctor.returncode, doctor.stdout.splitlines()[-1]) == (0, "checked 2 articles: 0 repaired, 0 problems")


def checkpointed_size(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db.stat().st_size


def legacy_archive(tmp_path: Path, tass_site: Site) -> tuple[Path, Path, dict[str, bytes]]:
    """An archive as the aggregator kept it before WARC: schema 4, the pages as gzip blobs."""
    config = tass_config(tmp_path, tass_site)
    config.write_text(config.read_text().replace("settings:\n", "settings:\n  keep_html: false\n"))
    run_cli("fetch", config=config)
    db = tmp_path / "archive" / "archive.db"
    # each page with 150 kB of noise in a comment: the blobs weigh what real pages do
    noise = [b"<!-- " + base64.b64encode(os.urandom(110_000)) + b" -->" for _ in range(2)]
    pages = {
        "https://tass.com/politics/1189047": REFERENCE_HTML.encode() + noise[0],
        "https://tass.com/world/1189100": SECOND_STORY.encode() + noise[1],
    }
    # the same archive in schema 4 (its first four migrations), its pages as blobs in ``pages``
    old = db.with_name("new.db")
    db.rename(old)
    legacy = sqlite_utils.Database(db)
    for migration in MIGRATIONS[:4]:
        migration(legacy)
    legacy.execute("PRAGMA user_version = 4")
    legacy.execute("ATTACH DATABASE ? AS new", [str(old)])
    for table in ("feeds", "articles", "article_urls", "entries", "polls"):
        columns = ", ".join(legacy[table].columns_dict)
        legacy.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM new.{table}")
    for url, html in pages.items():
        (article_id,) = legacy.execute("SELECT id FROM articles WHERE url = ?", [url]).fetchone()
        legacy.execute(
            "INSERT INTO pages VALUES (?, ?, 'text/html; charset=utf-8', '2020-08-13T00:00:00+00:00', ?)",
            [article_id, url, gzip.compress(html)],
        )
    legacy.conn.commit()
    legacy.execute("DETACH DATABASE new")
    legacy.close()
    old.unlink()
    config.write_text(config.read_text().replace("  keep_html: false\n", ""))
    return config, db, pages


def test_pages_kept_in_the_database_move_into_warc_files_and_the_database_shrinks(
    tmp_path: Path, tass_site: Site
) -> None:
    config, db, pages = legacy_archive(tmp_path, tass_site)
    doctor = run_cli("doctor", config=config)
    assert doctor.returncode == 1 and "problem: kept_pages: " in doctor.stdout and "2 pages kept" in doctor.stdout
    size = checkpointed_size(db)
    assert run_cli("reextract", config=config).stdout == "checked 2, changed 0, failed 0, no page kept 0\n"
    run_cli("fetch", config=config)
    assert "pages" not in [name for (name,) in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    moved = rows(
        db,
        "SELECT a.url, c.digest, c.captured_at FROM captures c JOIN articles a ON a.id = c.article_id "
        "WHERE c.kind = 'page' ORDER BY a.url",
    )
    assert [(url, payload_digest) for url, payload_digest, _ in moved] == [
        (url, digest(html)) for url, html in sorted(pages.items())
    ]
    assert {when for *_, when in moved} == {"2020-08-13T00:00:00.000000Z"}  # the time it was fetched, not moved
    records = {
        uri: payload for kind, uri, _, payload in warc_records(tmp_path / "archive" / "warc") if kind == "response"
    }
    assert all(records[url].endswith(html) for url, html in pages.items())
    assert checkpointed_size(db) < size - 200_000  # VACUUM gave the blobs' space back
    assert run_cli("reextract", config=config).stdout == "checked 2, changed 0, failed 0, no page kept 0\n"
    assert run_cli("doctor", config=config).returncode == 0


def test_a_file_a_killed_writer_left_open_is_cut_and_closed_on_the_next_start(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    folder = tmp_path / "archive" / "warc"
    exchange = Exchange("http://tass.com/x", datetime.now(UTC), (), "HTTP/1.1", 200, "OK", (), b"x" * 5000)
    with WarcWriter(folder, info={}) as writer:
        first = writer.write_exchange(exchange)
        writer.write_exchange(exchange)
    (closed,) = folder.glob("*.warc.gz")
    # as a writer killed while writing its last record leaves it: still named .open, nobody's lock on it
    left_open = closed.with_name(closed.name + ".open")
    closed.rename(left_open)
    torn = left_open.stat().st_size - 100
    with left_open.open("r+b") as stream:
        stream.truncate(torn)
    run_cli("fetch", config=config)
    # cut after the last whole record (the second exchange's request), the torn response gone
    assert not left_open.exists() and first.offset + first.length < closed.stat().st_size < torn
    uris = [uri for kind, uri, _, _ in warc_records(folder) if kind == "response"]
    assert uris.count("http://tass.com/x") == 1  # the whole record kept, the torn one cut
    with open_store(tmp_path / "archive" / "archive.db") as store:
        assert store.count("captures") == 5  # the run's own (the 404 among them), in a file of its own


def test_doctor_finds_a_damaged_capture_and_a_file_left_open(tmp_path: Path, tass_site: Site) -> None:
    config = tass_config(tmp_path, tass_site)
    run_cli("fetch", config=config)
    folder, db = tmp_path / "archive" / "warc", tmp_path / "archive" / "archive.db"
    (warc,) = folder.glob("*.warc.gz")
    ((capture_id, url, name, offset, length),) = rows(
        db, "SELECT id, url, warc_file, warc_offset, warc_length FROM captures WHERE url LIKE '%1189047%'"
    )
    # one byte of the page's payload changed, the record rewritten whole: readable, its digest wrong
    data = warc.read_bytes()
    member = gzip.decompress(data[offset : offset + length]).replace(b"Aliyev", b"Aliyew", 1)
    spoiled = data[:offset] + gzip.compress(member) + data[offset + length :]
    shift = len(spoiled) - len(data)
    warc.write_bytes(spoiled)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE captures SET warc_length = warc_length + ? WHERE warc_offset = ?", [shift, offset])
        conn.execute("UPDATE captures SET warc_offset = warc_offset + ? WHERE warc_offset > ?", [shift, offset])
    # and a file a killed writer left open
    with WarcWriter(folder, info={}) as writer:
        writer.write_exchange(Exchange("http://tass.com/y", datetime.now(UTC), (), "HTTP/1.1", 200, "OK", (), b"y"))
    (other,) = set(folder.glob("*.warc.gz")) - {warc}
    left_open = other.with_name(other.name + ".open")
    other.rename(left_open)
    doctor = run_cli("doctor", config=config)
    assert (doctor.returncode, doctor.stdout.splitlines()) == (
        1,
        [
            f"problem: warc_open: warc/{left_open.name}: left open by a writer that was killed",
            f"problem: capture: {name} at {offset}: capture {capture_id} ({url}): payload digest wrong",
            "checked 2 articles: 0 repaired, 2 problems",
        ],
    )
    repaired = run_cli("doctor", "--repair", config=config)
    assert f"repaired: warc_open: warc/{left_open.name}: closed after its last whole record" in repaired.stdout
    assert repaired.stdout.splitlines()[-1] == "checked 2 articles: 1 repaired, 1 problem"  # the damage stays
    assert not left_open.exists() and other.exists()
