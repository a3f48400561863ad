"""The stages of the main job, over batches: clean → summarise and tag → record.

The local engine (:func:`toolkit.core.run_folder`) and the distributed one call these same
functions, so that one code path decides what an article's record is.

- :func:`clean_stage`: one document to a :class:`Cleaned` article (or a ``ValueError`` that
  becomes the article's error line). Pure CPU work, cheap, run ahead of the model stage
  (:func:`clean_stream`, in worker processes where the machine has cores to spare).
- :func:`model_stage`: a batch of cleaned articles through the summariser and the tagger,
  each one batched call, to their records.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .clean import CleanedArticle, CleanOptions, clean
from .limits import ArticleTimeout, deadline
from .read import Document, ReadFailure

if TYPE_CHECKING:
    from .summarize import Summarizer
    from .tag import Tagger

__all__ = ["Cleaned", "clean_stage", "clean_stream", "make_record", "model_stage"]


@dataclass
class Cleaned:
    """A document after cleaning, ready for the model stages."""

    doc: Document
    article: CleanedArticle
    seconds: float


def clean_stage(doc: Document, options: CleanOptions | None, max_chars: int) -> Cleaned:
    """Clean one document.

    Raises:
        ValueError: nothing is left of the article after cleaning, or it is longer than
            ``max_chars`` characters.
    """
    t0 = time.perf_counter()
    cleaned = clean(doc.content, doc.fmt, title=doc.title, url=doc.url, options=options)
    if not cleaned.text.strip():
        raise ValueError("no article text left after cleaning (all of it looked like boilerplate)")
    if len(cleaned.text) > max_chars:
        raise ValueError(
            f"too long: {len(cleaned.text):,} characters after cleaning (limit {max_chars:,}; "
            "raise it with --max-chars)"
        )
    return Cleaned(doc, cleaned, time.perf_counter() - t0)


def _clean_job(args: tuple[Document, CleanOptions | None, int]) -> Cleaned | BaseException:
    try:
        return clean_stage(*args)
    except Exception as err:  # noqa: BLE001 - the article's error, sent back to the parent
        return err


def clean_stream(
    items: Iterable[Document | ReadFailure],
    options: CleanOptions | None,
    max_chars: int,
    *,
    timeout: float | None = None,
    workers: int = 0,
    ahead: int = 16,
) -> Iterator[tuple[Document | ReadFailure, Cleaned | BaseException | None]]:
    """Clean a stream of documents, in order, with at most ``timeout`` seconds each.

    Args:
        items: documents (and read failures, passed through with None).
        options: cleaning options.
        max_chars: the longest cleaned text taken.
        timeout: seconds one document may take (None or 0: no limit).
        workers: 0 cleans in this process (the deadline is a signal); more cleans in that
            many worker processes, ``ahead`` documents ahead of the consumer, so cleaning
            overlaps the model stage (a worker past its deadline is stopped and replaced).
        ahead: with workers, how many documents are in flight.

    Yields:
        (item, its :class:`Cleaned` article or the error that is its reason; None for a
        read failure or anything not a document the caller let through)
    """
    if workers <= 0:
        for item in items:
            if isinstance(item, ReadFailure):
                yield item, None
                continue
            result: Cleaned | BaseException
            try:
                with deadline(timeout, "cleaning the article"):
                    result = clean_stage(item, options, max_chars)
            except Exception as err:  # noqa: BLE001 - one bad article must not stop the run
                result = err
            yield item, result
        return
    yield from _pooled(items, options, max_chars, timeout or None, workers, max(ahead, workers))


def _pooled(
    items: Iterable[Document | ReadFailure],
    options: CleanOptions | None,
    max_chars: int,
    timeout: float | None,
    workers: int,
    ahead: int,
) -> Iterator[tuple[Document | ReadFailure, Cleaned | BaseException | None]]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no fork of a process running torch
    pool = context.Pool(workers)
    window: deque[tuple[Document | ReadFailure, Any]] = deque()
    source = iter(items)
    try:
        while True:
            while len(window) < ahead:
                item = next(source, None)
                if item is None:
                    break
                job = None if isinstance(item, ReadFailure) else pool.apply_async(
                    _clean_job, ((item, options, max_chars),)
                )  # fmt: skip
                window.append((item, job))
            if not window:
                return
            item, job = window.popleft()
            if job is None:
                yield item, None
                continue
            try:
                result = job.get(timeout)
            except multiprocessing.TimeoutError:
                pool.terminate()  # the only way to stop a runaway worker
                pool = context.Pool(workers)
                rest = [(i, None if j is None else pool.apply_async(
                    _clean_job, ((i, options, max_chars),))) for i, j in window]  # fmt: skip
                window = deque(rest)
                assert isinstance(item, Document)
                result = ArticleTimeout(
                    f"cleaning the article took longer than its {timeout:g} s budget; "
                    "raise it with --article-timeout"
                )
            yield item, result
    finally:
        pool.terminate()
        pool.join()


def model_stage(
    batch: list[Cleaned], summarizer: Summarizer, tagger: Tagger | None
) -> list[dict[str, Any]]:
    """Summarise and tag a batch of cleaned articles (one batched call each) into records.

    The ``timing`` of each record is its share of the batch's time.
    """
    texts = [c.article.text for c in batch]
    t1 = time.perf_counter()
    summaries = summarizer.summarise_many(texts, [c.article.title for c in batch])
    t2 = time.perf_counter()
    taggings = tagger(texts) if tagger is not None else [None] * len(batch)
    t3 = time.perf_counter()
    share = 1 / len(batch) if batch else 0.0
    return [
        make_record(
            c,
            s,
            t,
            {"clean_s": c.seconds, "summarise_s": (t2 - t1) * share, "tag_s": (t3 - t2) * share},
            summarizer,
            tagger,
        )  # fmt: skip
        for c, s, t in zip(batch, summaries, taggings, strict=True)
    ]


def make_record(
    item: Cleaned,
    summary: Any,
    tagging: Any,
    timing: dict[str, float],
    summarizer: Summarizer,
    tagger: Tagger | None,
) -> dict[str, Any]:
    """An article's output record (without its duplicate group and keys)."""
    doc, cleaned = item.doc, item.article
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
        "timing": {k: round(v, 4) for k, v in timing.items()},
        "warnings": warnings,
    }
