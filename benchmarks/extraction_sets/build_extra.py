"""Build the extraction sets beyond readability's, each from a pinned commit of a public repository.

    .venv/bin/python benchmarks/extraction_sets/build_extra.py NAME [NAME ...] --git-dir DIR

``DIR`` is a clone (or a bare mirror) of the set's repository holding the commit in ``SETS[NAME]``;
the pages are read from that commit (object by object), never from a work tree, so a build is the
same wherever it runs. Each set is written to ``benchmarks/extraction_sets/NAME/``: the pages as
``html/<id>.html.gz`` (UTF-8), the source's human-annotated main text as ``articleBody`` in
``ground-truth.json`` (plain text, a line per block, the form ``benchmarks/extraction.py`` scores),
with ``lang`` and a made-up URL (``http://NAME.test/<id>``: no site profile claims it, so the
generic extractor is what is measured), and ``SOURCE.json``: where the pages come from, their
licence, the sample rule and the command that builds the set.

Committed (the licence lets us redistribute the pages; the licence file is kept beside them):

* ``daniel``: the DAnIEL news corpus as re-annotated by Lejeune & Barbaresi in rundimeco/waddle
  (GPL-3.0): news pages of 2011-2012 in English, Chinese, Russian, Greek and Polish, sampled.
* ``zh-handcrafted``: immortal-autumn/Chinese-Web-Content-Extraction-Dataset (MIT), 69 Chinese
  pages (news, essays, notices) whose content its author copied by hand (``cleaned/``).
* ``readability-php``: fivefilters/readability.php (Apache-2.0), the curated test pages that
  mozilla/readability does not have (the ``readability`` set holds those).

Built locally only (``SOURCE.json`` is committed, the pages are not: their licence restricts them
or says nothing; the harness skips a set that is not built, in one line):

* ``dragnet``, ``l3s-gn1``, ``cleaneval``, ``cleanportaleval``: the classic boilerplate-removal
  sets as mirrored by j-szulc/html-cleaning-dataset-merged (Dragnet's data is AGPL-3.0, L3S-GN1
  is licensed for research use only, CleanEval and CleanPortalEval state no licence); English.

A page is left out when under half of its reference's words (``\\w+``) are words of the page's own text
(``from_the_page``: the reference belongs to another page, or the page's charset is unknown); ``SOURCE.json``
says how many. Large sets are then sampled: the ``per_stratum`` pages of each language with the smallest SHA-256 of
``sample:<id>`` (a fixed rule, independent of the dev/held-out split, which is ``part_of`` on the
id in ``benchmarks/extraction.py``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path

HERE = Path(__file__).resolve().parent
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HTML_LANG = re.compile(r"<html[^>]*\blang=[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
#: CleanEval's block markers: paragraph, heading, list item (each starts a block)
_CLEANEVAL_MARK = re.compile(r"<\s*[phl]\s*>", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
#: Dragnet's line between the article and its comments (typed by hand: its characters vary)
_DRAGNET_COMMENTS = re.compile(r"^[ !@#$%^&*()]{6,}COMMENTS\s*$", re.MULTILINE)
_WORD = re.compile(r"\w+")
_DANIEL_LANGS = {"English": "en", "Chinese": "zh", "Russian": "ru", "Greek": "el", "Polish": "pl"}


@dataclass(frozen=True)
class Built:
    """One page of a set: its id, the page as text, the reference body, its language, its real URL if known."""

    id: str
    html: str
    body: str
    lang: str
    source_url: str = ""


Files = dict[str, bytes]


@dataclass(frozen=True)
class SetSource:
    repository: str
    commit: str
    folders: tuple[str, ...]
    licence: str
    committed: bool
    sample: str
    pages: Callable[[Files], Iterator[Built]]
    per_stratum: int = 0  # 0: every page
    licence_file: str = ""


# --- reading a pinned commit ----------------------------------------------------------------------


def read_commit(git_dir: Path, commit: str, folders: tuple[str, ...]) -> Files:
    """Path -> bytes of every file under ``folders`` at ``commit`` of the repository at ``git_dir``
    (read object by object: ``git archive`` would leave out what ``.gitattributes`` marks export-ignore)."""
    git = ["git", f"--git-dir={git_dir / '.git' if (git_dir / '.git').exists() else git_dir}"]
    listed = subprocess.run([*git, "ls-tree", "-r", "-z", commit, "--", *folders], capture_output=True, check=False)
    if listed.returncode != 0:
        raise SystemExit(f"{git_dir}: cannot read commit {commit}: {listed.stderr.decode(errors='replace').strip()}")
    entries = [line.split(b"\t", 1) for line in listed.stdout.split(b"\0") if line]
    blobs = [(meta.split()[2].decode(), path.decode()) for meta, path in entries if meta.split()[1] == b"blob"]
    request = "".join(f"{sha}\n" for sha, _ in blobs).encode()
    out = subprocess.run([*git, "cat-file", "--batch"], input=request, capture_output=True, check=True).stdout
    files: Files = {}
    offset = 0
    for _, path in blobs:
        header_end = out.index(b"\n", offset)
        size = int(out[offset:header_end].split()[2])
        files[path] = out[header_end + 1 : header_end + 1 + size]
        offset = header_end + 1 + size + 1
    return files


def decode(raw: bytes, fallback: str = "windows-1252") -> str:
    """Bytes of a page or a text as text: UTF-8, else the declared charset, else ``fallback``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    found = _CHARSET.search(raw[:5000])
    name = found.group(1).decode("ascii").lower() if found else fallback
    if name in {"gb2312", "gbk", "gb_2312-80"}:
        name = "gb18030"  # the superset: pages labelled gb2312 often hold GBK characters
    try:
        return raw.decode(name, errors="replace")
    except LookupError:
        return raw.decode("windows-1252", errors="replace")


def plain(text: str) -> str:
    """A text as the harness scores it: each line stripped, empty lines dropped."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def html_body(html: str) -> str:
    """The text of an HTML fragment, a line per block element (the harness's ``html_text``)."""
    from lxml import html as lxml_html

    from benchmarks.extraction import html_text

    return plain(html_text(lxml_html.fromstring(html))) if html.strip() else ""


def page_lang(html: str, default: str) -> str:
    found = _HTML_LANG.search(html[:5000])
    return found.group(1)[:2].lower() if found else default


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def from_the_page(page: Built, least: float = 0.5) -> bool:
    """Whether at least ``least`` of the reference's words (``\\w+``) are words of the page's text: a reference
    copied from another page, or a page decoded with the wrong charset, fails (and is left out)."""
    from lxml import etree
    from lxml import html as lxml_html

    from benchmarks.extraction import html_text

    words = _WORD.findall(page.body)
    try:
        text = html_text(lxml_html.fromstring(page.html)) if page.html.strip() else ""
    except (etree.ParserError, ValueError):
        return False
    found = set(_WORD.findall(text))
    return bool(words) and sum(word in found for word in words) >= least * len(words)


def sample_key(page_id: str) -> bytes:
    return hashlib.sha256(f"sample:{page_id}".encode()).digest()


def sample(pages: list[Built], per_stratum: int) -> list[Built]:
    """The ``per_stratum`` pages of each language with the smallest SHA-256 of ``sample:<id>`` (all if 0)."""
    if not per_stratum:
        return pages
    chosen: list[Built] = []
    for lang in sorted({page.lang for page in pages}):
        stratum = sorted((page for page in pages if page.lang == lang), key=lambda page: sample_key(page.id))
        chosen += stratum[:per_stratum]
    return chosen


# --- the sources ----------------------------------------------------------------------------------


def zh_handcrafted(files: Files) -> Iterator[Built]:
    for path, raw in sorted(files.items()):
        if path.startswith("original/") and path.endswith(".html"):
            text = files.get(f"cleaned/{_stem(path)}.txt")
            if text is not None:
                yield Built(f"zh-{_stem(path)}", decode(raw, "gb18030"), plain(decode(text, "gb18030")), "zh")


def readability_php(files: Files) -> Iterator[Built]:
    """The curated pages of readability.php's suite that mozilla/readability's (our ``readability`` set) lacks."""
    ours = json.loads((HERE / "readability" / "ground-truth.json").read_text(encoding="utf-8"))
    seen = {
        hashlib.sha256(gzip.decompress(p.read_bytes())).hexdigest()
        for p in (HERE / "readability" / "html").glob("*.html.gz")
    }
    base = "test/test-pages/"
    names = sorted({path[len(base) :].split("/")[0] for path in files if path.startswith(base)})
    for name in names:
        source, expected = files.get(f"{base}{name}/source.html"), files.get(f"{base}{name}/expected.html")
        if source is None or expected is None or name in ours or hashlib.sha256(source).hexdigest() in seen:
            continue
        metadata = json.loads(files.get(f"{base}{name}/expected-metadata.json") or b"{}")
        html = decode(source)
        lang = (metadata.get("lang") or "")[:2].lower() or page_lang(html, "unknown")
        yield Built(f"rphp-{name}", html, html_body(decode(expected)), lang)


def daniel(files: Files) -> Iterator[Built]:
    base = "corpora/Corpus_daniel_v2.1/"
    langs = json.loads(files[f"{base}doc_lg.json"])
    for path, raw in sorted(files.items()):
        if path.startswith(f"{base}html/"):
            name = path.rsplit("/", 1)[-1]
            reference = files.get(f"{base}reference/{name}")
            if reference is not None and langs.get(name) in _DANIEL_LANGS:
                body = html_body(decode(reference))
                if body:
                    yield Built(f"daniel-{name}", decode(raw), body, _DANIEL_LANGS[langs[name]])


def _cleaneval_body(text: str) -> tuple[str, str]:
    """(body, URL) of a CleanEval gold file: a ``URL:`` line, then blocks each opened by <p>, <h> or <l>."""
    url = ""
    first, _, rest = text.lstrip().partition("\n")
    if first.startswith("URL:"):
        url, text = first[4:].strip(), rest
    text = _COMMENT.sub(" ", text)  # "<!-- this page contains no article -->": no body, the page is left out
    blocks = (" ".join(unescape(block).split()) for block in _CLEANEVAL_MARK.split(text))
    return "\n".join(block for block in blocks if block), url


def _cleaneval_pages(prefix: str, folders: tuple[str, ...]) -> Callable[[Files], Iterator[Built]]:
    def pages(files: Files) -> Iterator[Built]:
        for folder in folders:
            for path, raw in sorted(files.items()):
                if path.startswith(f"{folder}/GoldStandard/") and path.endswith(".txt"):
                    html = files.get(f"{folder}/input/{_stem(path)}.html")
                    body, url = _cleaneval_body(decode(raw))
                    if html is not None and body:
                        name = _stem(path) if len(folders) == 1 else f"{folder.split('-')[-1]}-{_stem(path)}"
                        yield Built(f"{prefix}-{name}", decode(html), body, "en", url)

    return pages


def dragnet(files: Files) -> Iterator[Built]:
    for path, raw in sorted(files.items()):
        if path.startswith("dragnet_data/GoldStandard/") and path.endswith(".txt"):
            html = files.get(f"dragnet_data/input/{_stem(path)}.html")
            body = plain(_DRAGNET_COMMENTS.split(decode(raw))[0])
            if html is not None and body:
                yield Built(f"dragnet-{_stem(path)}", decode(html), body, "en")


def l3s_gn1(files: Files) -> Iterator[Built]:
    """L3S-GN1: the annotated copy marks the article's full text with ``x-nc-sel2`` (1 is the headline,
    3 supplemental text, 4 comments, 5 related content); the body is the outermost sel2 spans' text."""
    from lxml import html as lxml_html

    mark = "contains(concat(' ', normalize-space(@class), ' '), ' x-nc-sel2 ')"
    for path, raw in sorted(files.items()):
        if path.startswith("page-signal-master/GoldStandard/") and path.endswith(".txt"):
            html = files.get(f"page-signal-master/input/{_stem(path)}.html")
            tree = lxml_html.fromstring(decode(raw))
            spans = tree.xpath(f"//*[{mark}][not(ancestor::*[{mark}])]")
            body = plain("\n".join(span.text_content() for span in spans))
            if html is not None and body:
                yield Built(f"l3s-{_stem(path)}", decode(html), body, "en")


_MERGED = "j-szulc/html-cleaning-dataset-merged"
_MERGED_COMMIT = "46e01a04b47051838a228bf23631430b2c9de375"
_ALL = "every page"

SETS: dict[str, SetSource] = {
    "zh-handcrafted": SetSource(
        "immortal-autumn/Chinese-Web-Content-Extraction-Dataset",
        "99d0ef08419109b5489b12e38f771f25b952d774",
        ("original", "cleaned", "LICENSE"),
        "MIT",
        True,
        _ALL,
        zh_handcrafted,
        licence_file="LICENSE",
    ),
    "readability-php": SetSource(
        "fivefilters/readability.php",
        "0e2370d2488f79651caf11164853e892775e294c",
        ("test/test-pages", "LICENSE"),
        "Apache-2.0",
        True,
        "every page not in the readability set (by id and by the source's SHA-256)",
        readability_php,
        licence_file="LICENSE",
    ),
    "daniel": SetSource(
        "rundimeco/waddle",
        "be875ce12ad9e23ef68ef7f3b0605db6d06bcdb1",
        ("corpora/Corpus_daniel_v2.1", "LICENSE"),
        "GPL-3.0 (the repository's licence, which covers the corpus it ships; this folder is GPL-3.0 too)",
        True,
        "80 pages per language (en, zh, ru, el, pl): those with the smallest SHA-256 of 'sample:<id>'",
        daniel,
        per_stratum=80,
        licence_file="LICENSE",
    ),
    "dragnet": SetSource(
        _MERGED,
        _MERGED_COMMIT,
        ("dragnet_data",),
        "AGPL-3.0 (seomoz/dragnet_data's README)",
        False,
        "75 pages: those with the smallest SHA-256 of 'sample:<id>'",
        dragnet,
        per_stratum=75,
    ),
    "l3s-gn1": SetSource(
        _MERGED,
        _MERGED_COMMIT,
        ("page-signal-master",),
        "L3S-GN1: research use only (its README)",
        False,
        "75 pages: those with the smallest SHA-256 of 'sample:<id>'",
        l3s_gn1,
        per_stratum=75,
    ),
    "cleaneval": SetSource(
        _MERGED,
        _MERGED_COMMIT,
        ("cleaneval-dev", "cleaneval-final"),
        "none stated (CleanEval 2007, SIGWAC)",
        False,
        "75 pages of the dev and final sets: those with the smallest SHA-256 of 'sample:<id>'",
        _cleaneval_pages("cleaneval", ("cleaneval-dev", "cleaneval-final")),
        per_stratum=75,
    ),
    "cleanportaleval": SetSource(
        _MERGED,
        _MERGED_COMMIT,
        ("CleanPortalEval-master",),
        "none stated (ppke-nlpg/CleanPortalEval)",
        False,
        _ALL,
        _cleaneval_pages("cpe", ("CleanPortalEval-master",)),
    ),
}


def build(name: str, git_dir: Path, out_root: Path = HERE) -> int:
    """Write set ``name`` from the repository at ``git_dir`` into ``out_root/name``; the number of pages."""
    spec = SETS[name]
    commit = spec.commit
    files = read_commit(git_dir, commit, spec.folders)
    every = list(spec.pages(files))
    kept = [page for page in every if from_the_page(page)]
    pages = sample(kept, spec.per_stratum)
    out = out_root / name
    (out / "html").mkdir(parents=True, exist_ok=True)
    for old in (out / "html").glob("*.html.gz"):
        old.unlink()
    truth: dict[str, dict[str, str]] = {}
    for page in pages:
        item = {"articleBody": page.body, "url": f"http://{name}.test/{page.id}", "lang": page.lang}
        if page.source_url:
            item["source_url"] = page.source_url
        truth[page.id] = item
        (out / "html" / f"{page.id}.html.gz").write_bytes(gzip.compress(page.html.encode("utf-8"), 9, mtime=0))
    (out / "ground-truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=0, sort_keys=True) + "\n")
    if spec.licence_file:
        (out / "LICENSE").write_bytes(files[spec.licence_file])
    source = {
        "repository": spec.repository,
        "commit": commit,
        "licence": spec.licence,
        "committed": spec.committed,
        "sample": spec.sample,
        "pages": len(truth),
        "left_out": f"{len(every) - len(kept)} of {len(every)} pages before sampling: under half of the reference's "
        "words are words of the page's text (a reference of another page, or a page in an unknown charset)",
        "build": f"benchmarks/extraction_sets/build_extra.py {name} --git-dir <a clone of {spec.repository}>",
    }
    (out / "SOURCE.json").write_text(json.dumps(source, indent=1) + "\n")
    if spec.committed:
        (out / ".gitignore").unlink(missing_ok=True)
    else:
        (out / ".gitignore").write_text(
            "# built locally (see SOURCE.json): the licence keeps the pages out of git\nhtml/\nground-truth.json\n"
        )
    return len(truth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", choices=sorted(SETS), metavar="NAME", help=", ".join(sorted(SETS)))
    parser.add_argument("--git-dir", type=Path, required=True, help="a clone or bare mirror of the set's repository")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent.parent))
    for name in args.names:
        print(f"{name}: {build(name, args.git_dir)} pages written to {HERE / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
