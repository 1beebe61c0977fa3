"""Build the readability-derived extraction set from a checkout of mozilla/readability (Apache-2.0).

    git clone https://github.com/mozilla/readability /tmp/readability   # or any bare mirror
    .venv/bin/python benchmarks/extraction_sets/build_readability.py /tmp/readability [--git-dir]

For each ``test/test-pages/<id>/``: ``source.html`` is kept gzip-compressed as
``readability/html/<id>.html.gz``; the curated ``expected.html`` (the article as the project's
maintainers checked it) becomes plain text, a line per block element, in ``ground-truth.json``
together with the page's language (``expected-metadata.json``'s ``lang``, else the source's
``<html lang>``). Which part a page belongs to (dev or held-out) is not stored: it is a fixed rule
on the id (``benchmarks/extraction.py``: ``part_of``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_LANG = re.compile(r"<html[^>]*\blang=[\"']?([A-Za-z]{2,3})", re.IGNORECASE)


def _reader(root: Path, git_dir: bool):  # type: ignore[no-untyped-def]
    def read(path: str) -> bytes | None:
        if git_dir:
            done = subprocess.run(
                ["git", f"--git-dir={root}", "show", f"HEAD:{path}"], capture_output=True, check=False
            )
            return done.stdout if done.returncode == 0 else None
        file = root / path
        return file.read_bytes() if file.exists() else None

    def listing() -> list[str]:
        if git_dir:
            out = subprocess.run(
                ["git", f"--git-dir={root}", "ls-tree", "--name-only", "HEAD:test/test-pages"],
                capture_output=True,
                check=True,
                text=True,
            ).stdout
            return out.split()
        return sorted(p.name for p in (root / "test" / "test-pages").iterdir() if p.is_dir())

    return read, listing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("--git-dir", action="store_true", help="SOURCE is a bare git directory")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent.parent))
    from lxml import html as lxml_html

    from benchmarks.extraction import html_text

    read, listing = _reader(args.source, args.git_dir)
    out = HERE / "readability"
    (out / "html").mkdir(parents=True, exist_ok=True)
    truth: dict[str, dict[str, str]] = {}
    for page_id in listing():
        base = f"test/test-pages/{page_id}"
        source, expected = read(f"{base}/source.html"), read(f"{base}/expected.html")
        if source is None or expected is None:
            continue
        metadata = json.loads(read(f"{base}/expected-metadata.json") or b"{}")
        text = html_text(lxml_html.fromstring(expected.decode("utf-8")))
        body = "\n".join(line.strip() for line in text.splitlines() if line.strip())
        found = _LANG.search(source.decode("utf-8", "replace")[:5000])
        lang = (metadata.get("lang") or (found.group(1) if found else ""))[:2].lower() or "unknown"
        truth[page_id] = {"articleBody": body, "url": f"http://{page_id}.readability.test/article", "lang": lang}
        (out / "html" / f"{page_id}.html.gz").write_bytes(gzip.compress(source, 9, mtime=0))
    (out / "ground-truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=0, sort_keys=True) + "\n")
    print(f"{len(truth)} pages written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
