"""The main job: read → clean → summarise → tag → write, for a folder of articles.

``run_folder`` processes every article of a folder, writing ``summaries.jsonl`` (one record
per article), ``errors.jsonl`` (one line per file or record that failed), ``digest.md`` and
``run.json`` into the output folder. With ``resume`` it keeps the records of a previous,
possibly interrupted, run whose input and settings are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .clean import CleanedArticle, CleanOptions, clean
from .read import DEFAULT_MAX_BYTES, Document, ReadFailure, read_folder
from .write import Journal, atomic_write_text, load_records, render_digest

if TYPE_CHECKING:
    from .summarize import Summarizer
    from .tag import Tagger

__all__ = [
    "FolderReport",
    "RunOptions",
    "RunReport",
    "clean_folder",
    "group_records",
    "process",
    "run_folder",
    "safe_name",
    "settings_of",
]

RESULTS = "summaries.jsonl"
ERRORS = "errors.jsonl"
DIGEST = "digest.md"
RUNINFO = "run.json"


@dataclass
class RunOptions:
    """Options of a folder run.

    Attributes:
        resume: keep finished records of an earlier run with the same input and settings.
        max_bytes: files larger than this are refused.
        clean: cleaning options.
        progress: show a progress bar on stderr.
        duplicate_threshold: Jaccard similarity from which two articles are near-duplicates
            (they share a ``duplicate_group`` in the output and one digest entry).
        tags: tag topics (with ``tagger``, else the default tagger); False: no topics.
    """

    resume: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    clean: CleanOptions = field(default_factory=CleanOptions)
    progress: bool = True
    duplicate_threshold: float = 0.8
    tags: bool = True


@dataclass
class RunReport:
    """What a run did."""

    output: Path
    processed: int = 0
    resumed: int = 0
    duplicates: int = 0
    failures: list[ReadFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no file or record failed."""
        return not self.failures


def settings_of(summarizer: Summarizer, tagger: Tagger | None, options: RunOptions) -> dict:
    """Everything that changes the output for a given input: models, templates, options."""
    return {
        "toolkit": __version__,
        "summarizer": {
            "model": summarizer.model_name,
            "resolved": summarizer.resolved,
            "kind": summarizer.kind,
            "template": summarizer.template,
            "template_sha256": summarizer.template_sha256,
            "options": asdict(summarizer.options),
        },
        "tagger": None
        if tagger is None
        else {
            "backend": tagger.backend,
            "model": tagger.model_name,
            "labels_sha256": tagger.labels_sha256,
            "template_sha256": tagger.template_sha256,
            "dtype": tagger.dtype,
            "options": asdict(tagger.options),
        },
        "clean": asdict(options.clean),
    }


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def process(
    doc: Document,
    summarizer: Summarizer,
    tagger: Tagger | None,
    clean_options: CleanOptions | None = None,
) -> dict[str, Any]:
    """Clean, summarise and tag one document into an output record.

    Raises:
        ValueError: nothing is left of the article after cleaning.
    """
    t0 = time.perf_counter()
    cleaned = clean(doc.content, doc.fmt, title=doc.title, url=doc.url, options=clean_options)
    t1 = time.perf_counter()
    if not cleaned.text.strip():
        raise ValueError("no article text left after cleaning (all of it looked like boilerplate)")
    summary = summarizer.summarise(cleaned.text, cleaned.title)
    t2 = time.perf_counter()
    tagging = tagger(cleaned.text) if tagger is not None else None
    t3 = time.perf_counter()
    warnings = list(summary.warnings)
    if cleaned.truncated:
        warnings.append("the source article ends mid-sentence (truncated)")
    return {
        "id": doc.id,
        "source": doc.source,
        "title": cleaned.title,
        "byline": cleaned.byline,
        "date": cleaned.date,
        "language": cleaned.language,
        "url": doc.url,
        "encoding": doc.encoding,
        "text": cleaned.text,
        "cleaning": cleaned.report(),
        "summary": summary.text,
        "summary_info": {
            "chunks": summary.chunks,
            "rounds": summary.rounds,
            "input_tokens": summary.input_tokens,
            "guard": summary.guard,
            "method": summary.method,
        },
        "topics": [asdict(t) for t in tagging.topics] if tagging else [],
        "topic_scores": [asdict(t) for t in tagging.scores] if tagging else [],
        "models": {
            "summarizer": summarizer.model_name,
            "tagger": f"{tagger.backend}:{tagger.model_name}" if tagger else None,
        },
        "template": {"name": summarizer.template, "sha256": summarizer.template_sha256},
        "timing": {
            "clean_s": round(t1 - t0, 4),
            "summarise_s": round(t2 - t1, 4),
            "tag_s": round(t3 - t2, 4),
        },
        "warnings": warnings,
    }


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def group_records(records: list[dict[str, Any]], threshold: float = 0.8) -> int:
    """Give each record its duplicate group across the folder, in place.

    Sets ``duplicate_group`` (None when the article has no duplicate) and ``duplicates``
    (the ids of the other members) from the records' cleaned ``text``.

    Args:
        records: records with ``id`` and ``text``.
        threshold: Jaccard similarity of word 5-gram shingles from which two articles are
            near-duplicates (see :mod:`toolkit.dedupe`).

    Returns:
        How many records belong to a duplicate group.
    """
    from .dedupe import group_duplicates, group_members

    groups = group_duplicates({r["id"]: r["text"] for r in records}, threshold=threshold)
    members = group_members(groups)
    for rec in records:
        group = groups.get(rec["id"])
        rec["duplicate_group"] = group
        rec["duplicates"] = [m for m in members.get(group, []) if m != rec["id"]] if group else []
    return sum(1 for g in groups.values() if g)


def run_folder(
    input_dir: str | Path,
    output_dir: str | Path,
    *,
    summarizer: Summarizer | None = None,
    tagger: Tagger | None = None,
    options: RunOptions | None = None,
) -> RunReport:
    """Clean, summarise and tag every article below ``input_dir``; write results to ``output_dir``.

    Args:
        input_dir: a folder of articles (searched recursively) or one file.
        output_dir: where ``summaries.jsonl``, ``errors.jsonl``, ``digest.md`` and ``run.json``
            go; created if needed. Input files are never modified.
        summarizer: default: ``Summarizer()`` (the embedded default model).
        tagger: default: ``Tagger()`` (embedding backend, default taxonomy); none when
            ``options.tags`` is False.
        options: run options.

    Returns:
        A report; ``report.ok`` is False when any file or record failed (each failure was
        printed on stderr as one line naming the file and the reason).
    """
    from tqdm.auto import tqdm

    opts = options or RunOptions()
    src, out = Path(input_dir), Path(output_dir)
    if not src.exists():
        raise FileNotFoundError(f"input {src} does not exist")
    if summarizer is None:
        from .summarize import Summarizer

        summarizer = Summarizer()
    if not opts.tags:
        tagger = None
    elif tagger is None:
        from .tag import Tagger

        tagger = Tagger()
    settings = settings_of(summarizer, tagger, opts)
    settings_sha = _digest(settings)
    out.mkdir(parents=True, exist_ok=True)
    journal_path = out / (RESULTS + ".part")

    previous: dict[tuple[str, str], dict[str, Any]] = {}
    if opts.resume:
        for rec in load_records(out / RESULTS) + load_records(journal_path):
            if rec.get("settings_sha256") == settings_sha:
                previous[(rec["id"], rec.get("content_sha256", ""))] = rec
    elif (out / RESULTS).exists() or journal_path.exists():
        _say(f"note: starting afresh in {out}; use --resume to keep finished articles")

    report = RunReport(output=out)
    failures: list[dict[str, str]] = []
    records: list[dict[str, Any]] = []
    items = list(read_folder(src, opts.max_bytes))
    journal = Journal(journal_path)
    try:
        bar = tqdm(items, desc="articles", unit="article", disable=not opts.progress)
        for item in bar:
            if isinstance(item, ReadFailure):
                report.failures.append(item)
                failures.append({"source": item.source, "reason": item.reason})
                _say(f"error: {item}")
                continue
            bar.set_postfix_str(item.source[-40:], refresh=False)
            done = previous.get((item.id, item.sha256))
            if done is not None:
                record = done
                report.resumed += 1
            else:
                try:
                    record = process(item, summarizer, tagger, opts.clean)
                except Exception as err:  # one bad article must not stop the run
                    failure = ReadFailure(item.source, f"{type(err).__name__}: {err}")
                    report.failures.append(failure)
                    failures.append({"source": failure.source, "reason": failure.reason})
                    _say(f"error: {failure}")
                    continue
                record["content_sha256"] = item.sha256
                record["settings_sha256"] = settings_sha
                report.processed += 1
            journal.write(record)
            records.append(record)
    finally:
        journal.close()
    # duplicate groups need the whole folder: the finished records are rewritten with them
    report.duplicates = group_records(records, opts.duplicate_threshold)
    atomic_write_text(
        out / RESULTS, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    )
    journal_path.unlink(missing_ok=True)
    atomic_write_text(
        out / ERRORS, "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in failures)
    )
    header = {
        "input": str(src),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "summarizer": summarizer.model_name,
        "tagger": f"{tagger.backend}:{tagger.model_name}" if tagger else None,
    }
    atomic_write_text(out / DIGEST, render_digest(records, failures, header))
    info = {
        **header,
        "settings": settings,
        "settings_sha256": settings_sha,
        "processed": report.processed,
        "resumed": report.resumed,
        "duplicates": report.duplicates,
        "failed": len(report.failures),
    }
    atomic_write_text(out / RUNINFO, json.dumps(info, indent=2, default=str) + "\n")
    return report


# --------------------------------------------------------------------------------------
# The cleaning stage alone over a folder (``toolkit clean``)
# --------------------------------------------------------------------------------------

CLEANED = "cleaned.jsonl"
TEXTS = "texts"
_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class FolderReport:
    """What :func:`clean_folder` did.

    Attributes:
        output: the output folder.
        cleaned: articles cleaned and written.
        duplicates: articles that belong to a duplicate group.
        failures: ``"SOURCE: reason"`` for each file or record that failed.
    """

    output: Path
    cleaned: int = 0
    duplicates: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures


def safe_name(doc_id: str) -> str:
    """A file name for an article id: the id when it is already safe, else its safe
    characters plus a short hash of the id (so two ids never share a name).

    Args:
        doc_id: the article's id (e.g. ``news/a.txt`` or ``feed.jsonl#3``).

    Returns:
        A name made of letters, digits, ``.``, ``_`` and ``-`` (no leading dot).
    """
    safe = _UNSAFE_NAME_RE.sub("_", doc_id).strip("._") or "article"
    if safe == doc_id and len(safe) <= 120:
        return safe
    digest = hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:10]
    return f"{safe[:100]}-{digest}"


def _record(doc: Any, result: CleanedArticle) -> dict[str, Any]:
    """The ``cleaned.jsonl`` record of one article (without its duplicate group)."""
    return {
        "id": doc.id,
        "source": doc.source,
        "title": result.title,
        "byline": result.byline,
        "date": result.date,
        "language": result.language,
        "truncated": result.truncated,
        "removed": [{"text": s.text, "reason": s.reason} for s in result.removed],
        "chars_in": result.chars_in,
        "chars_out": len(result.text),
        "text_file": f"{TEXTS}/{safe_name(doc.id)}.txt",
        "text": result.text,
    }


def clean_folder(
    input_dir: str | Path,
    output_dir: str | Path,
    *,
    options: CleanOptions | None = None,
    progress: bool = True,
    max_bytes: int | None = None,
    threshold: float = 0.8,
) -> FolderReport:
    """Clean every article below ``input_dir`` and group duplicates across the folder.

    Writes ``cleaned.jsonl`` (one record per article: id, source, title, byline, date,
    language, truncated, removed segments with reasons, duplicate group and its members, text)
    and ``texts/<safe id>.txt``, every file atomically. Inputs are never modified. A file or
    record that cannot be read is printed on stderr as ``error: SOURCE: reason`` and the run
    goes on.

    Args:
        input_dir: folder of articles (or one file), as read by ``toolkit.read``.
        output_dir: output folder, created if needed.
        options: cleaning options.
        progress: show a progress bar.
        max_bytes: larger files are refused (default: ``toolkit.read``'s limit).
        threshold: Jaccard similarity from which two articles are near-duplicates.

    Returns:
        The report (``ok`` is False when something failed).
    """
    from tqdm.auto import tqdm

    src, out = Path(input_dir), Path(output_dir)
    if not src.exists():
        raise FileNotFoundError(f"input {src} does not exist")
    report = FolderReport(output=out)
    records: list[dict[str, Any]] = []
    items = read_folder(src, max_bytes or DEFAULT_MAX_BYTES)
    for item in tqdm(items, desc="cleaning", unit="article", disable=not progress):
        if isinstance(item, ReadFailure):
            report.failures.append(str(item))
            _say(f"error: {item}")
            continue
        try:
            result = clean(item.content, item.fmt, title=item.title, url=item.url, options=options)
        except Exception as err:  # noqa: BLE001 - one bad article must not stop the run
            failure = f"{item.source}: {type(err).__name__}: {err}"
            report.failures.append(failure)
            _say(f"error: {failure}")
            continue
        records.append(_record(item, result))
    report.duplicates = group_records(records, threshold)
    for rec in records:
        rec["text"] = rec.pop("text")  # keep the text last in each record
        atomic_write_text(out / rec["text_file"], rec["text"] + "\n" if rec["text"] else "")
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    atomic_write_text(out / CLEANED, lines)
    report.cleaned = len(records)
    return report
