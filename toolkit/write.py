"""Write: results as JSON lines and a Markdown digest, without ever leaving a half-written file.

Records go to ``summaries.jsonl.part`` one line at a time (flushed and synced), so an
interrupted run keeps everything it finished; at the end the journal is renamed over
``summaries.jsonl`` in one step. Other files are written to a temporary file and renamed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

__all__ = ["Journal", "atomic_write_text", "load_records", "render_digest"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_records(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file, skipping a torn or invalid line (e.g. from a killed run)."""
    if not path.exists():
        return []
    records = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                records.append(obj)
    return records


class Journal:
    """Append-only JSON-lines file; each record is on disk before :meth:`write` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] = path.open("w", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_digest(
    records: Iterable[dict[str, Any]], failures: Iterable[dict[str, str]], header: dict[str, Any]
) -> str:
    """A Markdown digest: articles grouped under their best topic, then what failed.

    Args:
        records: result records as written to ``summaries.jsonl``.
        failures: ``{"source", "reason"}`` for each file or record that failed.
        header: ``input``, ``generated`` (timestamp), ``summarizer``, ``tagger``.

    Returns:
        The Markdown text.
    """
    records = list(records)
    failures = list(failures)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen_groups: set[str] = set()
    folded = 0
    for rec in records:
        group_id = rec.get("duplicate_group")
        if group_id:  # one entry per duplicate group, naming the other copies
            if group_id in seen_groups:
                folded += 1
                continue
            seen_groups.add(group_id)
        topics = rec.get("topics") or []
        groups[topics[0]["label"] if topics else "untagged"].append(rec)
    topics_by = f"topics by `{header['tagger']}`" if header.get("tagger") else "no topics"
    lines = [
        "# News digest",
        "",
        f"{len(records)} articles from `{header['input']}` · {header['generated']} · "
        f"summaries by `{header['summarizer']}` · {topics_by}",
    ]
    if folded:
        lines.append(f"· {folded} duplicates shown once, under their first copy")
    if failures:
        lines.append(f"· {len(failures)} could not be processed (listed at the end)")
    order = sorted(groups, key=lambda g: (g == "untagged", -len(groups[g]), g))
    for group in order:
        lines += ["", f"## {group.capitalize()} ({len(groups[group])})"]
        for rec in groups[group]:
            title = _one_line(rec.get("title") or rec["id"])
            lines += ["", f"### {title}", ""]
            meta = [f"`{rec['source']}`"]
            if rec.get("byline"):
                meta.append(f"by {_one_line(rec['byline'])}")
            if rec.get("date"):
                meta.append(str(rec["date"]))
            if rec.get("topics"):
                meta.append(
                    "topics: "
                    + ", ".join(f"{t['label']} ({t['score']:.2f})" for t in rec["topics"])
                )
            if rec.get("cleaning", {}).get("truncated"):
                meta.append("**truncated source**")
            if rec.get("duplicates"):
                meta.append("also saved as " + ", ".join(f"`{d}`" for d in rec["duplicates"]))
            lines.append(" · ".join(meta))
            lines += ["", _one_line(rec.get("summary") or "*(no summary)*")]
            for warning in rec.get("warnings") or []:
                lines.append(f"\n> note: {_one_line(warning)}")
    if failures:
        lines += ["", "## Could not be processed", ""]
        lines += [f"- `{f['source']}`: {_one_line(f['reason'])}" for f in failures]
    return "\n".join(lines) + "\n"
