"""The digest: a Markdown page to read, articles grouped under their best topic.

Everything in it that comes from an article (titles, bylines, summaries, file names, warnings)
is untrusted text, and people render digests to HTML. So every such value is escaped: it is
put on one line, HTML and Markdown markup in it are backslash-escaped (CommonMark renders an
escaped character as itself), and file names go in code spans fenced so that they cannot
close them. Article text can neither add markup (``<script>``, ``<img onerror=...>``,
links, emphasis) nor structure (headings, lists, quotes) to the page.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

__all__ = ["md_code", "md_text", "render_digest"]

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
    failures = list(failures)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen_groups: set[str] = set()
    total = folded = 0
    for rec in records:
        total += 1
        group_id = rec.get("duplicate_group")
        if group_id:  # one entry per duplicate group, naming the other copies
            if group_id in seen_groups:
                folded += 1
                continue
            seen_groups.add(group_id)
        topics = rec.get("topics") or []
        groups[topics[0]["label"] if topics else "untagged"].append(_digest_fields(rec))
    topics_by = f"topics by {md_code(header['tagger'])}" if header.get("tagger") else "no topics"
    lines = [
        "# News digest",
        "",
        f"{total} articles from {md_code(header['input'])} · {md_text(header['generated'])} · "
        f"summaries by {md_code(header['summarizer'])} · {topics_by}",
    ]
    if folded:
        lines.append(f"· {folded} duplicates shown once, under their first copy")
    if failures:
        lines.append(f"· {len(failures)} could not be processed (listed at the end)")
    order = sorted(groups, key=lambda g: (g == "untagged", -len(groups[g]), g))
    for group in order:
        lines += ["", f"## {md_text(group.capitalize())} ({len(groups[group])})"]
        for rec in groups[group]:
            lines += ["", f"### {md_text(rec['title'])}", ""]
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
            lines.append(" · ".join(meta))
            summary = _summary_lines(rec["summary"]) if rec["summary"] else ["*(no summary)*"]
            lines += ["", *summary]
            for warning in rec["warnings"]:
                lines.append(f"\n> note: {md_text(warning)}")
    if failures:
        lines += ["", "## Could not be processed", ""]
        lines += [f"- {md_code(f['source'])}: {md_text(f['reason'])}" for f in failures]
    return "\n".join(lines) + "\n"


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
