"""Extractive summaries: the most central sentences of an article, kept word for word.

An :class:`Extractor` embeds every sentence of an article with a sentence-transformers
encoder (default ``minilm``) and scores it by its centrality among the others:

- ``textrank`` (default): PageRank over the graph whose edges are the positive cosine
  similarities between sentences (see :func:`textrank`).
- ``centroid``: the cosine of each sentence to the normalised mean of all the sentence
  embeddings (see :func:`centroid_scores`).

An optional position prior (``lead_weight``) favours early sentences, as news puts the gist
first, and when the article's title is known, a sentence close to it in meaning counts more
(``title_weight``): a standfirst or summary restates what the headline announces. The best
sentences are picked greedily, near-duplicates skipped, within a sentence, word or token
budget, and returned in the article's order. Nothing is generated, so nothing is made up; a
token budget lets a long article's salient part be fed to an abstractive model.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .models import DEFAULT_EMBEDDER, load_embedder, resolve
from .settings import pick_device
from .summarize import Pipeline, Summary
from .text import split_sentences

__all__ = ["METHODS", "ExtractOptions", "Extractor", "centroid_scores", "textrank"]

#: Centrality measures :class:`Extractor` knows; "lead" takes the first sentences (the news
#: baseline) and needs no model.
METHODS = ("textrank", "centroid", "lead")

_PARAGRAPH_RE = re.compile(r"\n[ \t\r\f\v]*\n")


@dataclass
class ExtractOptions:
    """How an :class:`Extractor` scores and picks sentences.

    Attributes:
        sentences: most sentences in an extractive summary.
        words: stop adding sentences once this many words are reached (the first pick
            always goes in); None: no word limit.
        method: "textrank" (PageRank on the sentence similarity graph), "centroid"
            (cosine to the mean embedding) or "lead" (the first sentences; no model).
        lead_weight: position prior, 0..1: a sentence's score is
            ``centrality * (1 - lead_weight) + lead_weight / (1 + position)``, with
            positions 0-based and centrality normalised to a maximum of 1. 0.25 was chosen
            on the news-standfirst dev split (README): news puts the gist first, but the first
            sentence is not always it.
        title_weight: with a title, 0..1: the score above becomes
            ``title_weight * cosine(sentence, title) + (1 - title_weight) * score``; without
            one it is unchanged. 0.75 was chosen on the news-standfirst dev split (README).
        min_words: sentences of fewer words (datelines, captions, bylines) are not
            candidates, unless no sentence has that many.
        redundancy: a candidate whose cosine to an already chosen sentence exceeds this is
            skipped (an identical sentence always is).
        batch_size: sentences encoded per batch.
    """

    sentences: int = 1
    words: int | None = None
    method: str = "textrank"
    lead_weight: float = 0.25
    title_weight: float = 0.75
    min_words: int = 6
    redundancy: float = 0.9
    batch_size: int = 32

    def __post_init__(self) -> None:
        _check_count("sentences", self.sentences)
        if self.words is not None:
            _check_count("words", self.words)
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not isinstance(self.lead_weight, (int, float)) or not 0.0 <= self.lead_weight <= 1.0:
            raise ValueError(f"lead_weight must be between 0 and 1, got {self.lead_weight!r}")
        weight = self.title_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValueError(f"title_weight must be between 0 and 1, got {weight!r}")
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"title_weight must be between 0 and 1, got {weight!r}")
        if isinstance(self.min_words, bool) or not isinstance(self.min_words, int):
            raise ValueError(f"min_words must be an integer >= 0, got {self.min_words!r}")
        if self.min_words < 0:
            raise ValueError(f"min_words must be >= 0, got {self.min_words}")
        if not isinstance(self.redundancy, (int, float)) or not 0.0 <= self.redundancy <= 1.0:
            raise ValueError(f"redundancy must be between 0 and 1, got {self.redundancy!r}")
        _check_count("batch_size", self.batch_size)


def _check_count(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def textrank(
    similarity: np.ndarray, damping: float = 0.85, *, tol: float = 1e-6, max_iter: int = 100
) -> np.ndarray:
    """PageRank over a weighted sentence graph.

    Edges are the positive entries of ``similarity`` (negative ones and the diagonal are
    dropped); a node's outgoing weights are normalised to sum to 1, and a node without edges
    spreads its score evenly over all nodes.

    Args:
        similarity: an (n, n) matrix of pairwise similarities.
        damping: the probability of following an edge rather than jumping anywhere.
        tol: stop when the scores change by less than this (L1 norm).
        max_iter: stop after this many iterations at the latest.

    Returns:
        The n scores, summing to 1 (empty for n = 0).
    """
    weights = np.clip(np.asarray(similarity, dtype=np.float64), 0.0, None)
    n = weights.shape[0]
    if weights.shape != (n, n):
        raise ValueError(f"similarity must be a square matrix, got shape {weights.shape}")
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    np.fill_diagonal(weights, 0.0)
    out = weights.sum(axis=1)
    dangling = out <= 0
    share = np.divide(weights, out[:, None], out=np.zeros_like(weights), where=~dangling[:, None])
    scores = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        spread = share.T @ scores + scores[dangling].sum() / n
        new = (1.0 - damping) / n + damping * spread
        change = float(np.abs(new - scores).sum())
        scores = new
        if change < tol:
            break
    return scores


def centroid_scores(vectors: np.ndarray) -> np.ndarray:
    """The cosine of each vector to the normalised mean of all of them.

    Args:
        vectors: an (n, d) matrix, one embedding a row (normalised here).

    Returns:
        The n cosines (0 for a zero vector, all 0 when the mean is the zero vector).
    """
    rows = np.asarray(vectors, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"vectors must be a 2-d matrix, got shape {rows.shape}")
    if len(rows) == 0:
        return np.zeros(0, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    units = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    mean = units.mean(axis=0)
    length = float(np.linalg.norm(mean))
    if length <= 0:
        return np.zeros(len(rows), dtype=np.float64)
    return units @ (mean / length)


class Extractor(Pipeline):
    """Extractive summaries: the most central sentences of an article, in the article's order.

    Args:
        model: sentence-transformers preset (``minilm``), local folder or hub id.
        options: scoring and selection options (see :class:`ExtractOptions`).
        device: torch device; None: auto-detected.
        cache: cache folder for registry presets.

    Attributes:
        model_name: the model as asked for.
        resolved: the folder or hub id it was loaded from.
        options: the options in effect.
        device: the torch device.

    Raises:
        ModelUnavailable: the model cannot be fetched or loaded.
    """

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDER,
        *,
        options: ExtractOptions | None = None,
        device: str | None = None,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        self.options = options or ExtractOptions()
        self.device = pick_device(device)
        self.model: Any = None
        if self.options.method == "lead":
            self.model_name = self.resolved = "lead"
            return
        self.model_name = model
        self.resolved = resolve(model, cache)
        self.model = load_embedder(model, self.device, cache)

    def sentences(self, text: str) -> list[str]:
        """Split an article into sentences.

        Paragraphs (separated by blank lines) always end a sentence; within a paragraph,
        white space is normalised (line breaks included) before splitting.

        Args:
            text: the article.

        Returns:
            The sentences, in order; empty for an empty article.
        """
        out: list[str] = []
        for paragraph in _PARAGRAPH_RE.split(text):
            flat = " ".join(paragraph.split())
            if flat:
                out.extend(split_sentences(flat))
        return out

    def _encode(self, sentences: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(sentences),
            batch_size=self.options.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _score(
        self, sentences: Sequence[str], title: str | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(scores, unit embeddings) of the sentences, from one encode call (no embeddings
        for the lead method; the title, when given and weighted, is encoded with them)."""
        prior = 1.0 / (1.0 + np.arange(len(sentences), dtype=np.float64))
        if self.options.method == "lead":
            return prior, None
        if not sentences:
            return np.zeros(0, dtype=np.float64), np.zeros((0, 0), dtype=np.float32)
        heading = title.strip() if title else ""
        weight = self.options.title_weight if heading else 0.0
        vectors = self._encode([*sentences, heading] if weight else sentences)
        topic = None
        if weight:
            vectors, topic = vectors[:-1], vectors[-1]
        return self.score_vectors(vectors, topic), vectors

    def score_vectors(self, vectors: np.ndarray, topic: np.ndarray | None = None) -> np.ndarray:
        """Scores of sentences from their unit embeddings (``method`` textrank or centroid).

        Args:
            vectors: (n, d) unit embeddings of an article's sentences, in order.
            topic: the unit embedding of the article's title; None: no title.

        Returns:
            The n scores: centrality (highest 1) mixed with the lead prior, then with the
            cosine to the title when ``topic`` is given and ``title_weight`` > 0.
        """
        prior = 1.0 / (1.0 + np.arange(len(vectors), dtype=np.float64))
        if self.options.method == "textrank":
            centrality = textrank(vectors @ vectors.T)
        else:
            centrality = centroid_scores(vectors)
        peak = float(centrality.max()) if len(centrality) else 0.0
        centrality = centrality / peak if peak > 0 else np.zeros_like(centrality)
        lead = self.options.lead_weight
        scores = centrality * (1.0 - lead) + lead * prior
        weight = self.options.title_weight if topic is not None else 0.0
        if weight:
            scores = weight * (vectors @ topic).astype(np.float64) + (1.0 - weight) * scores
        return np.asarray(scores, dtype=np.float64)

    def rank(self, sentences: Sequence[str], title: str | None = None) -> list[float]:
        """Score sentences: their centrality (by ``options.method``) plus the lead prior,
        mixed with their similarity to the title when one is given.

        Args:
            sentences: an article's sentences, in order (positions count from 0).
            title: the article's title; None or blank: not used.

        Returns:
            One score per sentence; the highest centrality counts 1 before the prior.
        """
        return [float(s) for s in self._score(sentences, title)[0]]

    def select(
        self,
        text: str,
        *,
        sentences: int | None = None,
        words: int | None = None,
        tokens: int | None = None,
        count: Callable[[str], int] | None = None,
        title: str | None = None,
    ) -> list[str]:
        """Pick the salient sentences of an article.

        Candidates are taken greedily by score (ties: the earlier sentence first); one too
        similar to a sentence already chosen (see ``ExtractOptions.redundancy``) is skipped.

        Args:
            text: the article.
            sentences: at most this many sentences; None: ``options.sentences``, or no limit
                when ``tokens`` is given.
            words: stop once the chosen sentences have this many words (the first pick always
                goes in); None: ``options.words``.
            tokens: the chosen sentences, joined with spaces, must fit in this many tokens as
                measured by ``count``; a sentence that would overflow is skipped and the next
                one tried (so nothing is chosen when no sentence fits).
            count: the token counter for ``tokens``, e.g. ``lambda s: len(tok.encode(s))``.
            title: the article's title: sentences close to it score higher (see
                ``ExtractOptions.title_weight``); None: not used.

        Returns:
            The chosen sentences, in the article's order; empty for an empty article.

        Raises:
            ValueError: a bad limit, or ``tokens`` without ``count``.
        """
        if sentences is not None:
            _check_count("sentences", sentences)
        if words is not None:
            _check_count("words", words)
        if tokens is not None:
            _check_count("tokens", tokens)
            if count is None:
                raise ValueError("tokens needs count, a function that counts a text's tokens")
        most = sentences
        if most is None and tokens is None:
            most = self.options.sentences
        budget = words if words is not None else self.options.words

        split = self.sentences(text)
        if not split:
            return []
        scores, vectors = self._score(split, title)
        lengths = [len(s.split()) for s in split]
        candidates = [i for i, n in enumerate(lengths) if n >= self.options.min_words]
        if not candidates:
            candidates = list(range(len(split)))

        chosen: list[int] = []
        total = 0
        for i in sorted(candidates, key=lambda j: (-scores[j], j)):
            if most is not None and len(chosen) >= most:
                break
            if budget is not None and total >= budget:
                break
            if any(
                split[i] == split[j]
                or (
                    vectors is not None and float(vectors[i] @ vectors[j]) > self.options.redundancy
                )
                for j in chosen
            ):
                continue
            if tokens is not None and count is not None:
                trial = " ".join(split[j] for j in sorted([*chosen, i]))
                if count(trial) > tokens:
                    continue
            chosen.append(i)
            total += lengths[i]
        return [split[i] for i in sorted(chosen)]

    def summarise(self, text: str, title: str | None = None) -> Summary:
        """Summarise one article by extraction (see :meth:`select`, with the options' limits).

        Args:
            text: the article.
            title: the article's title (see ``ExtractOptions.title_weight``).

        Returns:
            A :class:`toolkit.summarize.Summary`; ``input_tokens`` counts the article's words,
            and an empty article gives an empty text and the warning "empty article".
        """
        chosen = self.select(text, title=title)
        return Summary(
            text=" ".join(chosen),
            chunks=1,
            rounds=1,
            input_tokens=len(text.split()),
            warnings=[] if chosen else ["empty article"],
            guard=None,
            method="extractive",
        )

    def __repr__(self) -> str:
        opts = self.options
        return (
            f"Extractor(model={self.model_name!r}, method={opts.method!r}, "
            f"sentences={opts.sentences}, lead_weight={opts.lead_weight}, "
            f"title_weight={opts.title_weight})"
        )
