"""The digest: a Markdown page to read, articles grouped under their best topic.

Everything in it that comes from an article (titles, bylines, summaries, file names, warnings)
is untrusted text, and people render digests to HTML. So every such value is escaped: it is
put on one line, HTML and Markdown markup in it are backslash-escaped (CommonMark renders an
escaped character as itself), and file names go in code spans fenced so that they cannot
close them. Article text can neither add markup (``<script>``, ``<img onerror=...>``,
links, emphasis) nor structure (headings, lists, quotes) to the page.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

__all__ = ["digest_lines", "md_code", "md_text", "render_digest"]

# Characters that start inline markup in CommonMark / GitHub Markdown, or HTML.
_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
# What makes a line a heading, quote, list item, thematic break or setext underline.
_LEADING = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def md_text(text: object) -> str:
    """Untrusted text as inert Markdown: one line, markup characters escaped.

    Args:
        text: any value (turned into a string).

    Returns:
        Markdown that renders as exactly the text's characters (whitespace collapsed).
    """
    line = _INLINE.sub(r"\\\1", _one_line(text))
    line = _ENTITY.sub(r"\\&", line)
    match = _LEADING.match(line)
    if match:
        lead, mark = match.groups()
        if mark.isdigit():  # "1. " or "1) ": escape the delimiter after the number
            end = match.end()
            line = f"{line[:end]}\\{line[end:]}"
        else:
            line = f"{lead}\\{line[len(lead) :]}"
    return line


def md_code(text: object) -> str:
    """Untrusted text as a Markdown code span (rendered literally), on one line, fenced with
    more backticks than any run inside it."""
    line = _one_line(text)
    runs = [len(m) for m in re.findall(r"`+", line)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") or not line else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def _summary_lines(summary: str) -> list[str]:
    """The summary as Markdown: bullets (``- item`` lines) as a list, else one paragraph."""
    items = [ln.strip() for ln in summary.splitlines() if ln.strip()]
    if len(items) > 1 and all(ln.startswith("- ") for ln in items):
        return [f"- {md_text(ln[2:])}" for ln in items]
    return [md_text(summary)]


def _spool_file() -> IO[str]:
    return tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="\n")


def render_digest(
    records: Iterable[dict[str, Any]], failures: Iterable[dict[str, str]], header: dict[str, Any]
) -> str:
    """A Markdown digest: articles grouped under their best topic, then what failed.

    Args:
        records: result records as written to ``summaries.jsonl``.
        failures: ``{"source", "reason"}`` for each file or record that failed.
        header: ``input``, ``generated`` (timestamp), ``summarizer``, ``tagger``.

    Returns:
        The Markdown text; every value from an article is escaped (see the module).
    """
    return "".join(digest_lines(records, failures, header, io.StringIO))


def digest_lines(
    records: Iterable[dict[str, Any]],
    failures: Iterable[dict[str, str]],
    header: dict[str, Any],
    spool: Callable[[], IO[str]] = _spool_file,
) -> Iterator[str]:
    """The digest's lines (each ending in a newline), in one pass over ``records``.

    Each topic's entries are written to a spool of their own (a temporary file by default)
    as the records go by, and the spools are read back in the digest's order: the memory
    used does not grow with the number of articles.

    Args:
        records: result records, in the order they are shown within a topic.
        failures: the files and records that failed.
        header: as for :func:`render_digest`.
        spool: makes a text buffer for one topic's entries.
    """
    sections: dict[str, tuple[IO[str], list[int]]] = {}
    seen_groups: set[str] = set()
    total = folded = 0
    try:
        for rec in records:
            total += 1
            group_id = rec.get("duplicate_group")
            if group_id:  # one entry per duplicate group, naming the other copies
                if group_id in seen_groups:
                    folded += 1
                    continue
                seen_groups.add(group_id)
            topics = rec.get("topics") or []
            topic = topics[0]["label"] if topics else "untagged"
            if topic not in sections:
                sections[topic] = (spool(), [0])
            buffer, count = sections[topic]
            buffer.writelines(_entry(_digest_fields(rec)))
            count[0] += 1
        failed = list(failures)
        topics_by = (
            f"topics by {md_code(header['tagger'])}" if header.get("tagger") else "no topics"
        )
        yield "# News digest\n"
        yield "\n"
        yield (
            f"{total} articles from {md_code(header['input'])} · {md_text(header['generated'])} · "
            f"summaries by {md_code(header['summarizer'])} · {topics_by}\n"
        )
        if folded:
            yield f"· {folded} duplicates shown once, under their first copy\n"
        if failed:
            yield f"· {len(failed)} could not be processed (listed at the end)\n"
        order = sorted(sections, key=lambda g: (g == "untagged", -sections[g][1][0], g))
        for topic in order:
            buffer, count = sections[topic]
            yield "\n"
            yield f"## {md_text(topic.capitalize())} ({count[0]})\n"
            buffer.seek(0)
            yield from buffer
        if failed:
            yield "\n"
            yield "## Could not be processed\n"
            yield "\n"
            for f in failed:
                yield f"- {md_code(f['source'])}: {md_text(f['reason'])}\n"
    finally:
        for buffer, _ in sections.values():
            buffer.close()


def _entry(rec: dict[str, Any]) -> Iterator[str]:
    """One article's lines in the digest."""
    yield "\n"
    yield f"### {md_text(rec['title'])}\n"
    yield "\n"
    meta = [md_code(rec["source"])]
    if rec["byline"]:
        meta.append(f"by {md_text(rec['byline'])}")
    if rec["date"]:
        meta.append(md_text(rec["date"]))
    if rec["topics"]:
        meta.append(
            "topics: "
            + ", ".join(f"{md_text(t['label'])} ({t['score']:.2f})" for t in rec["topics"])
        )
    if rec["truncated"]:
        meta.append("**truncated source**")
    if rec["duplicates"]:
        meta.append("also saved as " + ", ".join(md_code(d) for d in rec["duplicates"]))
    yield " · ".join(meta) + "\n"
    yield "\n"
    summary = _summary_lines(rec["summary"]) if rec["summary"] else ["*(no summary)*"]
    for line in summary:
        yield line + "\n"
    for warning in rec["warnings"]:
        yield "\n"
        yield f"> note: {md_text(warning)}\n"


def _digest_fields(rec: dict[str, Any]) -> dict[str, Any]:
    """What the digest shows of a record (so that a whole folder's texts are not held)."""
    return {
        "title": rec.get("title") or rec["id"],
        "source": rec.get("source", rec["id"]),
        "byline": rec.get("byline"),
        "date": rec.get("date"),
        "topics": rec.get("topics") or [],
        "truncated": bool((rec.get("cleaning") or {}).get("truncated")),
        "duplicates": rec.get("duplicates") or [],
        "summary": rec.get("summary") or "",
        "warnings": list(rec.get("warnings") or []),
    }
