"""Faithfulness: keep a summary to what its article says.

Two parts, used by :class:`toolkit.summarize.Summarizer`:

- **Constrained decoding** (:class:`SourceConstraint`): while the model writes a word with a
  capital letter or a digit in it (a name, an acronym, a number), the word must be one the
  article has. A small model can then copy "Angela Merkel" or "1,200" from the article but
  cannot invent "a Kenyan-American rapper" or "2013".
- **A check of the finished summary** (:func:`check`): the names and numbers it states must
  be supported by the article (the rules of :func:`toolkit.metrics.hallucination`: a
  two-word name whose words are both in the article but far apart still fails), and half
  of its content words must come from the article (a reply like "That's a great summary!"
  has none). A summary that fails is replaced by a faithful stand-in, the article's first
  real sentence (:func:`fallback`), and the record says why.

The check uses the same entity rules as the eval harness's hallucination rate, so a guarded
summary scores (almost) zero there by construction: the eval reports the guard's verdicts
(how often the model's own summary passed) beside the scores, and `--set guard=off` gives the
model's unguarded rate.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from .metrics import COMMON_WORDS, hallucination, tokenize
from .text import STOP_WORDS, split_sentences

__all__ = ["GUARDS", "Check", "SourceConstraint", "check", "content_support", "fallback"]

#: What the summariser does with a summary that fails :func:`check`.
GUARDS: tuple[str, ...] = ("fallback", "warn", "off")

#: The least share of a summary's content words that must occur in the article.
MIN_SUPPORT = 0.5

_EDGE = "\"'()[]{}<>.,;:!?\u201c\u201d\u2018\u2019\u00ab\u00bb-\u2013\u2014*#"
_POSSESSIVE = re.compile(r"['\u2019]s?$")


def _core(word: str) -> str:
    """A word without surrounding punctuation and without a possessive: '"Merkel's,' ->
    'Merkel'."""
    word = word.strip(_EDGE)
    return _POSSESSIVE.sub("", word) if len(word) > 2 else word


def _is_risky(word: str) -> bool:
    """Whether a word could be (part of) a name or a number: it has a capital letter (in any
    script with case) or a digit."""
    return any(ch.isdigit() or ch.isupper() for ch in word)


#: Words a capital does not make a name: "The", "Officials" (sorted too, for prefix lookups).
_FREE = frozenset(w.casefold() for w in STOP_WORDS | COMMON_WORDS)
_FREE_SORTED = sorted(_FREE)


class SourceConstraint:
    """Logits processor: a word with a capital letter or a digit only as the source writes it.

    While the model writes a word that has a capital letter or a digit (a name, a number, an
    acronym), the word so far must begin some word of the source ("Mer" and "Merkel" for a
    source with "Merkel"); a token that would make it anything else gets probability zero.
    Capitalised common words ("The", "Officials") are free. So a small model can copy
    "Angela Merkel" or "1,200" but cannot invent "Amina Mironchik" or "2013". Only the best
    few tokens of each step are checked: enough that the ones search can pick are allowed.

    Args:
        tokenizer: the model's tokenizer.
        source: the article (and title) the summary must keep to.
        prompt_length: prompt tokens at the start of each row (causal models); 0 for seq2seq.
        keep: how many allowed tokens each step must offer (2 x beams is what beam search
            looks at).
    """

    def __init__(self, tokenizer: Any, source: str, prompt_length: int = 0, keep: int = 2) -> None:
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.keep = keep
        self.pieces = _pieces(tokenizer)
        self.special = set(getattr(tokenizer, "all_special_ids", []) or [])
        words = {_core(w) for w in source.split()}
        self.words = sorted(w for w in words if w)

    def allowed(self, word: str) -> bool:
        """Whether a (possibly unfinished) word may be written."""
        core = _core(word)
        if not core or not _is_risky(core) or core.casefold() in _FREE:
            return True
        i = bisect.bisect_left(self.words, core)
        if i < len(self.words) and self.words[i].startswith(core):
            return True
        # a capitalised common word being spelt out: "Th" (of "The"), "Offic" (of "Officials")
        if len(core) > 1 and not core[1:].islower():
            return False
        folded = core.casefold()
        i = bisect.bisect_left(_FREE_SORTED, folded)
        return core[0].isalpha() and i < len(_FREE_SORTED) and _FREE_SORTED[i].startswith(folded)

    def _current_word(self, ids: list[int]) -> str:
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return "" if not text or text[-1].isspace() else text.split()[-1]

    @staticmethod
    def _best_first(row: Any, k: int) -> Any:
        """Token ids by falling score: the top ``k`` first, the rest only if they are needed."""
        import torch

        original = row.clone()  # the caller bans tokens of ``row`` as it goes
        yield from torch.topk(original, k).indices.tolist()
        if k < original.shape[-1]:
            yield from torch.argsort(original, descending=True)[k:].tolist()

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        k = min(scores.shape[-1], max(8 * self.keep, 32))
        for row in range(scores.shape[0]):
            current = self._current_word(input_ids[row, self.prompt_length :].tolist())
            found = 0
            for tok in self._best_first(scores[row], k):
                if not torch.isfinite(scores[row, tok]):
                    break
                piece = self.pieces[tok] if tok < len(self.pieces) else ""
                if tok in self.special or not piece:
                    continue  # allowed, but not counted: other processors may suppress them
                if piece[0].isspace():
                    ok = all(self.allowed(w) for w in piece.split())
                else:
                    words = (current + piece).split()
                    ok = all(self.allowed(w) for w in words)
                if ok:
                    found += 1
                    if found >= self.keep:
                        break
                else:
                    scores[row, tok] = -float("inf")
        return scores


@functools.lru_cache(maxsize=8)
def _pieces(tokenizer: Any) -> tuple[str, ...]:
    """Each vocabulary token decoded on its own (once per tokenizer, about a second for a
    50,000-token vocabulary)."""
    return tuple(tokenizer.batch_decode([[i] for i in range(len(tokenizer))]))


def content_support(summary: str, source: str) -> float | None:
    """Share of the summary's content words (not function words) that occur in the source,
    compared lowercased; None when the summary has no content word."""
    words = [w for w in tokenize(summary) if w not in STOP_WORDS]
    if not words:
        return None
    have = set(tokenize(source))
    return sum(w in have for w in words) / len(words)


@dataclass
class Check:
    """The verdict on a summary."""

    ok: bool
    unsupported: list[str] = field(default_factory=list)  # names and numbers not in the source
    support: float | None = None  # share of content words from the source
    reasons: list[str] = field(default_factory=list)


def check(summary: str, source: str, min_support: float = MIN_SUPPORT) -> Check:
    """Whether a summary keeps to its source.

    Args:
        summary: the summary.
        source: the article (with its title, when the model saw one).
        min_support: the least share of the summary's content words found in the source.

    Returns:
        A :class:`Check`: ``ok`` when the summary is not empty, every name and number in it is
        supported (:func:`toolkit.metrics.hallucination`) and its content-word support is at
        least ``min_support``; ``reasons`` says what failed, in words.
    """
    reasons: list[str] = []
    if not summary.strip():
        return Check(False, reasons=["the summary is empty"])
    found = hallucination(summary, source)
    unsupported = list(found["unsupported_items"])
    if unsupported:
        reasons.append("not in the article: " + ", ".join(repr(u) for u in unsupported))
    support = content_support(summary, source)
    if support is None or support < min_support:
        share = "none" if support is None else f"{support:.0%}"
        reasons.append(f"too few of its words come from the article ({share})")
    return Check(not reasons, unsupported, support, reasons)


def fallback(text: str, min_words: int = 6) -> str:
    """A faithful stand-in summary: the article's first sentence of at least ``min_words``
    words (a dateline such as "MOSCOW, February 7." is not a lead), whole: cutting a sentence
    short could change what it says.

    Args:
        text: the article.
        min_words: shorter sentences at the start are passed over.

    Returns:
        That sentence (the first one when none is long enough), or "" for an empty text.
    """
    sentences = split_sentences(" ".join(text.split()))
    for sentence in sentences:
        if len(sentence.split()) >= min_words:
            return sentence
    return sentences[0] if sentences else ""
