"""The main job: read → clean → summarise → tag → write, for a folder of articles.

``run_folder`` processes every article of a folder, writing ``summaries.jsonl`` (one record
per article), ``errors.jsonl`` (one line per file or record that failed), ``digest.md`` and
``run.json`` into the output folder. With ``resume`` it keeps the records of a previous,
possibly interrupted, run whose input and settings are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .clean import CleanedArticle, CleanOptions, clean
from .digest import digest_lines
from .errors import ToolkitError, UsageError
from .limits import deadline
from .outdir import OutputFolder
from .pipeline import Cleaned, clean_stage, clean_stream, model_stage
from .read import DEFAULT_MAX_BYTES, Document, ReadFailure, read_folder
from .write import atomic_write_lines, iter_journal

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
#: An article's cleaned text longer than this (in characters) is that article's error: it
#: is far past any news article (about 15,000 words) and would make the model stages slow.
DEFAULT_MAX_CHARS = 100_000
#: Seconds one article may take (cleaning, summarising and tagging) before it is that
#: article's error; generous for a CPU and a long article summarised part by part.
DEFAULT_ARTICLE_TIMEOUT = 600.0


@dataclass
class RunOptions:
    """Options of a folder run.

    Attributes:
        resume: keep finished records of an earlier run with the same input and settings
            (without it, a run into a folder that holds results is refused).
        max_bytes: files larger than this (for JSON Lines: records) are refused.
        max_chars: an article whose cleaned text is longer than this is refused.
        article_timeout: seconds one article may take; past it, the article is that
            article's error line and the run goes on (None or 0: no limit).
        follow_symlinks: read symbolic links that lead outside the input folder too.
        clean: cleaning options.
        progress: show a progress bar on stderr.
        duplicate_threshold: Jaccard similarity from which two articles are near-duplicates
            (they share a ``duplicate_group`` in the output and one digest entry).
        tags: tag topics (with ``tagger``, else the default tagger); False: no topics.
        batch_size: articles that go through the model stages together (the summariser
            batches them further by its own ``batch_size``).
        workers: processes that clean articles ahead of the model stage (0: cleaning in
            this process; None: one where the machine has more than two cores, else 0).
    """

    resume: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    max_chars: int = DEFAULT_MAX_CHARS
    article_timeout: float | None = DEFAULT_ARTICLE_TIMEOUT
    follow_symlinks: bool = False
    clean: CleanOptions = field(default_factory=CleanOptions)
    progress: bool = True
    duplicate_threshold: float = 0.8
    tags: bool = True
    batch_size: int = 32
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise UsageError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.workers is None:
            self.workers = 1 if (os.cpu_count() or 1) > 2 else 0
        if self.workers < 0:
            raise UsageError(f"workers must be 0 or more, got {self.workers}")
        if self.max_bytes < 1:
            raise UsageError(f"max_bytes must be a positive number of bytes, got {self.max_bytes}")
        if self.max_chars < 1:
            raise UsageError(f"max_chars must be a positive number, got {self.max_chars}")
        if self.article_timeout is not None and self.article_timeout < 0:
            raise UsageError(
                f"article_timeout must be 0 (no limit) or more seconds, got {self.article_timeout}"
            )
        if not 0.0 < self.duplicate_threshold <= 1.0:
            raise UsageError(
                f"duplicate_threshold must be in (0, 1], got {self.duplicate_threshold}"
            )


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
    max_chars: int = DEFAULT_MAX_CHARS,
) -> dict[str, Any]:
    """Clean, summarise and tag one document into an output record (the stages of
    :mod:`toolkit.pipeline` on a batch of one).

    Raises:
        ValueError: nothing is left of the article after cleaning, or it is longer than
            ``max_chars``.
    """
    return model_stage([clean_stage(doc, clean_options, max_chars)], summarizer, tagger)[0]


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
    groups = _groups({r["id"]: r["text"] for r in records}, threshold)
    for rec in records:
        _set_group(rec, groups)
    return sum(1 for g, _ in groups.values() if g)


def _groups(texts: dict[str, str], threshold: float) -> dict[str, tuple[str | None, list[str]]]:
    """id -> (its duplicate group, the group's members)."""
    from .dedupe import group_duplicates, group_members

    groups = group_duplicates(texts, threshold=threshold)
    members = group_members(groups)
    return {key: (group, members.get(group, []) if group else []) for key, group in groups.items()}


def _stream_groups(
    folder: OutputFolder, threshold: float
) -> dict[str, tuple[str | None, list[str]]]:
    """id -> (its duplicate group, the group's members), from the records on disk, holding
    only their MinHash band hashes in memory (texts are read again for candidate pairs)."""
    from .dedupe import DuplicateIndex, group_members

    index = DuplicateIndex(threshold)
    for rec in folder.records():
        index.add(rec["id"], rec["text"])
    groups = index.groups(lambda key: str((folder.record(key) or {}).get("text") or ""))
    members = group_members(groups)
    return {
        key: (group, members.get(group, []) if group else [])
        for key, group in groups.items()
        if group is not None
    }


def _model_batches(
    batch: list[Cleaned], summarizer: Summarizer, tagger: Tagger | None, opts: RunOptions
) -> list[tuple[Cleaned, dict[str, Any] | BaseException]]:
    """The model stage over a batch, within the batch's time budget (the articles' budgets
    together); a batch that fails or runs out of time is done again one article at a time,
    each with its own budget, so only the article at fault gets an error line."""
    if not batch:
        return []
    budget = opts.article_timeout * len(batch) if opts.article_timeout else None
    try:
        with deadline(budget, f"a batch of {len(batch)} articles"):
            records = model_stage(batch, summarizer, tagger)
        return list(zip(batch, records, strict=True))
    except Exception as err:  # noqa: BLE001 - found below, article by article
        if len(batch) == 1:
            return [(batch[0], err)]
    results: list[tuple[Cleaned, dict[str, Any] | BaseException]] = []
    for item in batch:
        try:
            with deadline(opts.article_timeout, "the article"):
                results.append((item, model_stage([item], summarizer, tagger)[0]))
        except Exception as err:  # noqa: BLE001 - one bad article must not stop the run
            results.append((item, err))
    return results


def _set_group(rec: dict[str, Any], groups: dict[str, tuple[str | None, list[str]]]) -> None:
    group, members = groups.get(rec["id"], (None, []))
    rec["duplicate_group"] = group
    rec["duplicates"] = [m for m in members if m != rec["id"]]


class _Progress:
    """A progress bar over the articles of a folder: articles done, articles a minute and the
    time left (the total is counted before the run: files, and the lines of JSON Lines)."""

    def __init__(self, source: Path, options: RunOptions, skip: Path, unit: str = "article"):
        from tqdm.auto import tqdm

        total = _estimate(source, options, skip) if options.progress else None
        self.bar = tqdm(
            total=total,
            desc="articles" if unit == "article" else unit,
            unit=unit,
            disable=not options.progress,
            smoothing=0.1,
            dynamic_ncols=True,
        )
        self.started = time.perf_counter()

    def step(self, source: str, done: int) -> None:
        minutes = (time.perf_counter() - self.started) / 60
        rate = f"{done / minutes:.1f}/min" if minutes > 0 and done else "…"
        self.bar.set_postfix_str(f"{rate} {source[-30:]}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _estimate(source: Path, options: RunOptions, skip: Path) -> int:
    """How many articles (files, and lines of JSON-lines files) the input has."""
    from .read import walk

    total = 0
    for path in walk(source, follow_symlinks=options.follow_symlinks, skip=[skip]):
        if isinstance(path, ReadFailure):
            total += 1
        elif path.suffix.lower() == ".jsonl":
            try:
                with path.open("rb") as fh:
                    blocks = iter(lambda: fh.read(1 << 20), b"")
                    total += sum(block.count(b"\n") for block in blocks)
            except OSError:
                total += 1
        else:
            total += 1
    return total


def _fail(report: RunReport, failures: list[dict[str, str]], source: str, reason: str) -> None:
    failure = ReadFailure(source, " ".join(reason.split()))
    report.failures.append(failure)
    failures.append({"source": failure.source, "reason": failure.reason})
    _say(f"error: {failure}")


def _reason(err: BaseException) -> str:
    """An article's error as a reason: the message of the toolkit's own errors (a limit, an
    empty article, a timeout), the type and message of anything unforeseen."""
    if isinstance(err, ToolkitError | ValueError | TimeoutError) and str(err):
        return str(err)
    return f"{type(err).__name__}: {err}"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def preflight(
    input_dir: str | Path, output_dir: str | Path, resume: bool = False, *, clean: bool = False
) -> None:
    """The checks a run makes before it starts, without loading models or writing anything:
    the paths (see :func:`toolkit.outdir.check_paths`), a folder holding results without
    ``resume``, and a folder in use by another run.

    Raises:
        FileNotFoundError, UsageError, OutputError: with a one-line message.
    """
    _output_folder(Path(output_dir), clean).check(Path(input_dir), resume)


def _output_folder(out: Path, clean: bool = False) -> OutputFolder:
    if clean:
        return OutputFolder(out, results=CLEANED, folders=(TEXTS,), command="clean")
    return OutputFolder(out, results=RESULTS, files=(ERRORS, DIGEST, RUNINFO), command="summarise")


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
            go; created if needed. It must not be the input folder; inside it, it is skipped
            when reading. Input files are never modified.
        summarizer: default: ``Summarizer()`` (the embedded default model).
        tagger: default: ``Tagger()`` (embedding backend, default taxonomy); none when
            ``options.tags`` is False.
        options: run options.

    Returns:
        A report; ``report.ok`` is False when any file or record failed (each failure was
        printed on stderr as one line naming the file and the reason).

    Raises:
        UsageError: a path that would lose data, or a folder with results and no ``resume``.
        OutputError: the output folder cannot be written, or another run is using it.
    """
    opts = options or RunOptions()
    src, out = Path(input_dir), Path(output_dir)
    preflight(src, out, opts.resume)
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
    report = RunReport(output=out)
    failures: list[dict[str, str]] = []
    with _output_folder(out) as folder:
        folder.start(src, opts.resume)
        progress = _Progress(src, opts, out)
        try:
            items = read_folder(
                src, opts.max_bytes, follow_symlinks=opts.follow_symlinks, skip=[out]
            )
            batch: list[Cleaned] = []

            def finish(batch: list[Cleaned]) -> None:
                for cleaned, result in _model_batches(batch, summarizer, tagger, opts):
                    if isinstance(result, BaseException):
                        _fail(report, failures, cleaned.doc.source, _reason(result))
                    else:
                        result["content_sha256"] = cleaned.doc.sha256
                        result["settings_sha256"] = settings_sha
                        folder.add(result)
                        report.processed += 1
                    progress.step(cleaned.doc.source, report.processed + report.resumed)

            def todo() -> Iterator[Document | ReadFailure]:
                for item in items:
                    if isinstance(item, Document):
                        folder.expect(item.id)
                    if isinstance(item, Document) and folder.finished(
                        item.id, item.sha256, settings_sha
                    ):
                        report.resumed += 1
                        progress.step(item.source, report.processed + report.resumed)
                    else:
                        yield item

            stream = clean_stream(todo(), opts.clean, opts.max_chars,
                                  timeout=opts.article_timeout,
                                  workers=opts.workers or 0)  # fmt: skip
            for item, result in stream:
                if isinstance(item, ReadFailure):
                    _fail(report, failures, item.source, item.reason)
                    progress.step(item.source, report.processed + report.resumed)
                elif isinstance(result, Cleaned):
                    batch.append(result)
                    if len(batch) >= opts.batch_size:
                        finish(batch)
                        batch = []
                else:
                    _fail(report, failures, item.source, _reason(result or ValueError("?")))
                    progress.step(item.source, report.processed + report.resumed)
            finish(batch)
        finally:
            progress.close()
        # duplicate groups need the whole folder: the final file is written with them
        groups = _stream_groups(folder, opts.duplicate_threshold)
        report.duplicates = sum(1 for g, _ in groups.values() if g)

        def with_groups() -> Iterator[dict[str, Any]]:
            for rec in folder.records():
                _set_group(rec, groups)
                yield rec

        header = {
            "input": str(src),
            "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "summarizer": summarizer.model_name,
            "tagger": f"{tagger.backend}:{tagger.model_name}" if tagger else None,
        }
        folder.write(ERRORS, "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in failures))
        folder.commit(with_groups())
        final = (rec for _, rec in iter_journal(out / RESULTS))
        atomic_write_lines(out / DIGEST, digest_lines(final, failures, header))
        info = {
            **header,
            "settings": settings,
            "settings_sha256": settings_sha,
            "processed": report.processed,
            "resumed": report.resumed,
            "duplicates": report.duplicates,
            "failed": len(report.failures),
        }
        folder.write(RUNINFO, json.dumps(info, indent=2, default=str) + "\n")
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
        cleaned: articles cleaned and written (kept ones included).
        resumed: articles kept from an earlier run.
        duplicates: articles that belong to a duplicate group.
        failures: ``"SOURCE: reason"`` for each file or record that failed.
    """

    output: Path
    cleaned: int = 0
    resumed: int = 0
    duplicates: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures


def safe_name(doc_id: str) -> str:
    """A file name for an article id, the same whatever else is in the folder.

    An id that is already a safe, lower-case name is its own name. Any other id becomes its
    safe characters, cut to 100, then ``~`` and a hash of the whole id: ``~`` is never in an
    id kept as it is, so two different ids never share a name (also on a file system that
    ignores case).

    Args:
        doc_id: the article's id (e.g. ``news/a.txt`` or ``feed.jsonl#3``).

    Returns:
        A name made of letters, digits, ``.``, ``_``, ``-`` and ``~`` (no leading dot).
    """
    safe = _UNSAFE_NAME_RE.sub("_", doc_id).strip("._") or "article"
    if safe == doc_id and safe == safe.lower() and len(safe) <= 120:
        return safe
    digest = hashlib.sha256(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{safe[:100]}~{digest}"


def _record(doc: Any, result: CleanedArticle, text_file: str) -> dict[str, Any]:
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
        "text_file": text_file,
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
    resume: bool = False,
    follow_symlinks: bool = False,
    article_timeout: float | None = DEFAULT_ARTICLE_TIMEOUT,
) -> FolderReport:
    """Clean every article below ``input_dir`` and group duplicates across the folder.

    Writes ``cleaned.jsonl`` (one record per article: id, source, title, byline, date,
    language, truncated, removed segments with reasons, duplicate group and its members, text)
    and ``texts/<safe id>.txt``, every file atomically, with the same guarantees as
    :func:`run_folder`: inputs are never modified or overwritten, a file or record that cannot
    be read is printed on stderr as ``error: SOURCE: reason`` and the run goes on, an
    interrupted run resumes, and a second run on the same folder is refused.

    Args:
        input_dir: folder of articles (or one file), as read by ``toolkit.read``.
        output_dir: output folder, created if needed.
        options: cleaning options.
        progress: show a progress bar.
        max_bytes: larger files are refused (default: ``toolkit.read``'s limit).
        threshold: Jaccard similarity from which two articles are near-duplicates.
        resume: keep the articles an earlier run finished (same content and options).
        follow_symlinks: read symbolic links that lead outside the input folder too.
        article_timeout: seconds one article may take (None or 0: no limit).

    Returns:
        The report (``ok`` is False when something failed).
    """
    opts = RunOptions(
        resume=resume,
        max_bytes=max_bytes or DEFAULT_MAX_BYTES,
        article_timeout=article_timeout,
        follow_symlinks=follow_symlinks,
        clean=options or CleanOptions(),
        progress=progress,
        duplicate_threshold=threshold,
        tags=False,
    )
    src, out = Path(input_dir), Path(output_dir)
    preflight(src, out, resume, clean=True)
    report = FolderReport(output=out)
    settings_sha = _digest({"toolkit": __version__, "clean": asdict(opts.clean)})
    with _output_folder(out, clean=True) as folder:
        folder.start(src, resume)
        # names stay with their ids across resumed runs; a new id never takes an old name
        names: dict[str, str] = {}
        for doc_id in folder.previous_ids():
            name = str((folder.previous(doc_id) or {}).get("text_file") or "")
            if name:
                names[doc_id] = name
        used = {name.casefold() for name in names.values()}
        bar = _Progress(src, opts, out)
        try:
            items = read_folder(src, opts.max_bytes, follow_symlinks=follow_symlinks, skip=[out])
            for item in items:
                if isinstance(item, ReadFailure):
                    report.failures.append(str(item))
                    _say(f"error: {item}")
                elif (
                    item.id in names
                    and (out / names[item.id]).is_file()
                    and folder.finished(item.id, item.sha256, settings_sha)
                ):
                    report.resumed += 1
                else:
                    try:
                        with deadline(opts.article_timeout, item.source):
                            result = clean(item.content, item.fmt, title=item.title,
                                           url=item.url, options=opts.clean)  # fmt: skip
                    except Exception as err:  # noqa: BLE001 - one bad article must not stop the run
                        failure = " ".join(f"{item.source}: {_reason(err)}".split())
                        report.failures.append(failure)
                        _say(f"error: {failure}")
                    else:
                        if item.id not in names:
                            names[item.id] = _unique(f"{TEXTS}/{safe_name(item.id)}", used)
                        record = _record(item, result, names[item.id])
                        text = result.text + "\n" if result.text else ""
                        atomic_write_lines(out / names[item.id], [text])
                        record["content_sha256"] = item.sha256
                        record["settings_sha256"] = settings_sha
                        record["text"] = record.pop("text")  # the text last in each record
                        folder.add(record)
                bar.step(item.source, len(folder))
        finally:
            bar.close()
        groups = _stream_groups(folder, threshold)
        report.duplicates = sum(1 for g, _ in groups.values() if g)
        report.cleaned = len(folder)

        def with_groups() -> Iterator[dict[str, Any]]:
            for rec in folder.records():
                _set_group(rec, groups)
                rec["text"] = rec.pop("text")  # the text last in each record
                yield rec

        folder.commit(with_groups())
    return report


def _unique(name: str, used: set[str]) -> str:
    """``name + ".txt"``, or ``name~2.txt``, ``name~3.txt``, ... until no name in ``used`` is
    the same ignoring case; the name taken is added to ``used`` (case-folded)."""
    candidate, n = f"{name}.txt", 1
    while candidate.casefold() in used:
        n += 1
        candidate = f"{name}~{n}.txt"
    used.add(candidate.casefold())
    return candidate
