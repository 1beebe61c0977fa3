"""The archive's WARC files: every HTTP exchange written as standard WARC/1.1, indexed as CDXJ, read back.

The only user of warcio and surt: nothing of theirs crosses this package's boundary, and their
failures arrive as ``aggregator.errors.CaptureError``."""

from __future__ import annotations

from aggregator.capture.index import cdxj_line, index_file, index_path
from aggregator.capture.read import Record, RefersTo, iter_records, read_record
from aggregator.capture.recovery import abandoned, recover
from aggregator.capture.warc import FEED_GZIP_LEVEL, GZIP_LEVEL, WarcWriter, payload_digest

__all__ = [
    "FEED_GZIP_LEVEL",
    "GZIP_LEVEL",
    "Record",
    "RefersTo",
    "WarcWriter",
    "abandoned",
    "cdxj_line",
    "index_file",
    "index_path",
    "iter_records",
    "payload_digest",
    "read_record",
    "recover",
]
