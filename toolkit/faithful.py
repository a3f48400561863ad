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
  has none), with the other failures of :data:`FAILURES` (meta-talk, refusals, echoes,
  loops, ...). The summariser repairs a summary that fails, or regenerates it, or puts the
  article's extractive summary in its place, and the record says why.

The check uses the same entity rules as the eval harness's hallucination rate, so a guarded
summary scores (almost) zero there by construction: the eval reports the guard's verdicts
(how often the model's own summary passed) beside the scores, and `--set guard=off` gives the
model's unguarded rate.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .metrics import COMMON_WORDS, hallucination, tokenize
from .text import STOP_WORDS, split_sentences

__all__ = [
    "FAILURES",
    "GUARDS",
    "Check",
    "SourceConstraint",
    "SourceConstraints",
    "check",
    "content_support",
    "drop_unsupported",
    "language",
    "meta_bad_words",
    "partial_words",
    "strip_meta",
]

#: What the summariser does with a summary that fails :func:`check`.
GUARDS: tuple[str, ...] = ("fallback", "warn", "off")

#: The kinds of failure :func:`check` names, in the order it tests them.
FAILURES: tuple[str, ...] = (
    "empty",  # no text
    "refusal",  # "I'm sorry, I cannot ..."
    "meta",  # talk about the article or the task instead of the news: "This article discusses"
    "echo",  # the prompt's instructions or delimiters repeated back
    "language",  # not the article's language (or script)
    "repetition",  # a loop: a phrase three times, a sentence twice, a word thrice in a row
    "truncated",  # stops mid-sentence
    "unsupported",  # a name or number the article does not support
    "support",  # most of its words are not the article's
)

#: The least share of a summary's content words that must occur in the article.
MIN_SUPPORT = 0.5

_EDGE = "\"'()[]{}<>.,;:!?\u201c\u201d\u2018\u2019\u00ab\u00bb-\u2013\u2014*#"
#: Punctuation that ends the word before it (not "." or "-" or "'": "U.S.", "US-led",
#: "O'Brien" go on after them).
_CLOSING = frozenset(',;:!?)]}"\u201d\u00bb')
_POSSESSIVE = re.compile(r"['\u2019]s?$")
_FINAL = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")


def _core(word: str) -> str:
    """A word without surrounding punctuation and without a possessive: '"Merkel's,' ->
    'Merkel'."""
    word = word.strip(_EDGE)
    return _POSSESSIVE.sub("", word) if len(word) > 2 else word


def _source_words(source: str) -> frozenset[str]:
    """The words of a source as :class:`SourceConstraint` and :func:`partial_words` compare
    them: split at white space, without edge punctuation or a possessive."""
    return frozenset(w for w in (_core(w) for w in source.split()) if w)


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
        self.known = _source_words(source)
        self.words = sorted(self.known)

    def allowed(self, word: str, finished: bool = False) -> bool:
        """Whether a word may be written: begun (a prefix of an allowed word) or, with
        ``finished``, complete ("Aldwi" may begin "Aldwick" but cannot end there)."""
        core = _core(word)
        if not core or not _is_risky(core) or core.casefold() in _FREE:
            return True
        if finished:
            return core in self.known
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

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        return constrain_rows([self] * int(scores.shape[0]), input_ids, scores)

    def _verdict(self, tok: int, current: str) -> bool | None:
        """Whether token ``tok`` may follow the word being written (``current``); None for
        a token that is allowed but not counted (special, or empty)."""
        piece = self.pieces[tok] if tok < len(self.pieces) else ""
        if tok in self.special or not piece:
            return None  # allowed, but not counted: other processors may suppress them
        # every word the token finishes must be whole; the last may be begun
        words = piece.split() if piece[0].isspace() else (current + piece).split()
        ends = piece[-1].isspace()
        ok = not (piece[0].isspace() and current) or self.allowed(current, True)
        return ok and all(
            self.allowed(w, finished=ends or i < len(words) - 1 or w[-1] in _CLOSING)
            for i, w in enumerate(words)
        )


class SourceConstraints:
    """Logits processor for a batch: each item's :class:`SourceConstraint` (None: free) on
    its own rows (``group`` consecutive rows an item: the beams of beam search).

    Args:
        constraints: per item of the batch, its constraint or None.
        group: rows per item.
    """

    def __init__(
        self,
        constraints: Sequence[SourceConstraint | None],
        group: int = 1,
        stop_ids: Iterable[int] = (),
    ) -> None:
        self.constraints = list(constraints)
        self.group = group
        self.stop_ids = frozenset(stop_ids)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        rows = [self.constraints[r // self.group] for r in range(int(scores.shape[0]))]
        return constrain_rows(rows, input_ids, scores, self.stop_ids)


def constrain_rows(
    constraints: Sequence[SourceConstraint | None],
    input_ids: Any,
    scores: Any,
    stop_ids: frozenset[int] = frozenset(),
) -> Any:
    """Apply each row's constraint to its row of ``scores`` (in place; returned): per row, the
    best tokens are checked in falling order until ``keep`` allowed ones are found, and each
    token checked and refused gets probability zero. One top-k for all the rows.

    A row that has written one of ``stop_ids`` (its end-of-sequence tokens) is finished:
    what generation adds to it is padding, so it is not checked."""
    import torch

    rows = [r for r, c in enumerate(constraints) if c is not None]
    if not rows:
        return scores
    keep = max(c.keep for c in constraints if c is not None)
    vocab = int(scores.shape[-1])
    k = min(vocab, max(8 * keep, 32))
    top = torch.topk(scores[rows], k, dim=-1)
    values, indices = top.values.tolist(), top.indices.tolist()
    banned_rows: list[int] = []
    banned_cols: list[int] = []
    for j, row in enumerate(rows):
        c = constraints[row]
        assert c is not None
        ids = input_ids[row, c.prompt_length :].tolist()
        if stop_ids and not stop_ids.isdisjoint(ids):
            continue
        current = c._current_word(ids)
        found = 0
        for value, tok in _best_first(scores[row], values[j], indices[j]):
            if not math.isfinite(value):
                break
            verdict = c._verdict(tok, current)
            if verdict is None:
                continue
            if verdict:
                found += 1
                if found >= c.keep:
                    break
            else:
                banned_rows.append(row)
                banned_cols.append(tok)
    if banned_rows:
        scores[banned_rows, banned_cols] = -float("inf")
    return scores


def _best_first(row: Any, values: list[float], indices: list[int]) -> Iterator[tuple[float, int]]:
    """(score, token) of a row in falling order: its top k (already found), then the rest,
    sorted only when the search gets that far (rarely)."""
    yield from zip(values, indices, strict=True)
    if len(indices) < int(row.shape[-1]):
        import torch

        rest = torch.argsort(row, descending=True)[len(indices) :]
        yield from zip(row[rest].tolist(), rest.tolist(), strict=True)


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


_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry,|unfortunately,? i\b|as an ai\b|as a language model\b"
    r"|i (?:can ?not|can'?t|am unable|'m unable|am not able|do not have|don'?t have|won'?t)\b)",
    re.IGNORECASE,
)
_META_NOUN = r"(?:news )?(?:article|text|passage)"
_META_VERBS = (
    r"highlights|discusses|describes|details|covers|explores|examines|focuses on|provides"
    r"|presents|outlines|summari[sz]es|sheds light on|delves into"
)
_META = re.compile(
    r"\b(?:this|the|that|your|my|given|provided) " + _META_NOUN + r"\b(?! of\b)(?!\s*\d)"
    r"|\b(?:this|the) news (?:story|report)\b|\bthis (?:story|report)\b"
    # the genre named as the subject: "This news piece discusses", "A news article about",
    # "is a significant news story", "The story: ...", "A story about ..."
    r"|\bnews (?:piece|item)s?\b|\bthis (?:piece|item)\b(?! of\b)"
    r"|(?:^\W*|\b(?:is|was) )(?:a|an)(?! fake)(?: \w+)? news (?:article|story|report)\b"
    r"|^\W*(?:the|this|a) (?:news )?(?:story|piece|report|article)\s*:"
    # ... "A heartwarming story about"; a report only as "news report" or "report is
    # about": "A report on air pollution found ..." is news
    r"|^\W*(?:a|the|this)(?: \w+)? (?:news )?story(?: is| was)? (?:about|on)\b"
    r"|^\W*(?:a|the|this) (?:news )?piece(?: is| was)? (?:about|on)\b"
    r"|^\W*(?:a|the|this) (?:news report(?: is| was)?|report (?:is|was)) (?:about|on)\b"
    # an opening whose subject is the news as a text: "This news highlights", "The news is
    # about", "This news release provides" ("This paper presents" is how a paper's abstract
    # opens, and stays allowed)
    r"|^\W*(?:this|the) news(?: \w+)? (?:is (?:about|that)|" + _META_VERBS + r")\b"
    r"|\b(?:a|an) (?:recent |new )?(?:news )?article (?:in|from|by|on|published)\b"
    r"|\b(?:this|your|my)(?: one[- ]sentence| short| brief)? summary\b"
    # a label inside the text: "... Raqqa explained Mariya Petkova The story: The battle ..."
    r"|\b(?-i:The|This) (?:news )?(?:story|piece|report)\s*:"
    r"|\b(?:great|good|excellent|nice) (?:summary|question)\b"
    r"|^\W*(?:that'?s |what )?(?:a )?(?:great|good|excellent|nice) (?:article|job)\b"
    r"|\b(?:let me know|i hope this|feel free to|here(?: is|'s) (?:a|the|my|your)\b)"
    r"|^\W*(?:sure|certainly|of course|okay|absolutely)\b\W",
    re.IGNORECASE,
)
#: "The article says that X" -> "X": a meta opening with the news after it, cut off.
_META_LEAD = re.compile(
    r"^\W*(?:the|this) (?:news is that|"
    + _META_NOUN
    + r" (?:says|reports|states|notes|explains|claims|"
    r"argues|suggests|reveals|shows|points out|confirms)(?: that)?),?\s+(?=\S)",
    re.IGNORECASE,
)
_SYMBOLS = re.compile(r"[^\w\s]{6,}")
_TAGS = re.compile(r"</?\s*(?:article|summaries|summary|text|instructions?)\s*>", re.IGNORECASE)

#: A few of the commonest function words of languages news articles come in; a text's
#: language is the one whose words it uses most (ties and too little evidence: unknown).
_LANGUAGE_WORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split())
    for code, words in {
        "en": "the and of to is that for on with was as are by this it from at have has",
        "de": "der die das und ist nicht mit den von zu sich des auf für ein eine im dem wird",
        "fr": "le la les de et des est une un du en pour dans que qui sur pas au avec ce aux été",
        "es": "el la los las de y que en un una es por con para del se no lo su al",
        "it": "il lo la gli e di che è un una per con del non sono della alla nel",
        "nl": "het een en van is dat op te niet met voor zijn wordt ook bij",
        "pt": "o os e de que em um uma é para com não do da no na dos",
    }.items()
}


def language(text: str, min_hits: int = 3) -> str | None:
    """The language of a text by its function words ("en", "de", "fr", "es", "it", "nl",
    "pt"), or its script ("cyrillic", "cjk", ...) when it is mostly not Latin letters; None
    when unsure (fewer than ``min_hits`` function words, or a tie)."""
    import unicodedata

    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None
    scripts = Counter(unicodedata.name(ch, "UNKNOWN").split()[0] for ch in letters)
    script, n = scripts.most_common(1)[0]
    if script != "LATIN" and n > len(letters) / 2:
        return "cjk" if script in ("CJK", "HIRAGANA", "KATAKANA") else script.lower()
    words = re.findall(r"[^\W\d_]+", text.casefold())
    hits = Counter(
        {code: sum(w in vocab for w in words) for code, vocab in _LANGUAGE_WORDS.items()}
    )
    ranked = hits.most_common(2)
    best, count = ranked[0]
    if count < min_hits or (len(ranked) > 1 and ranked[1][1] == count):
        return None
    return best


def _loop(summary: str) -> str | None:
    """What repeats in a summary that loops, or None."""
    symbols = _SYMBOLS.search(summary)
    if symbols:
        return f"a run of symbols {symbols.group(0)[:12]!r}"
    words = [w.casefold().strip(_EDGE) for w in summary.split()]
    words = [w for w in words if w]
    for i in range(len(words) - 2):
        if words[i] == words[i + 1] == words[i + 2]:
            return f"{words[i]!r} three times in a row"
    for n in (5, 4, 3):
        grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
        if grams:
            gram, times = grams.most_common(1)[0]
            if times >= 3 or (n >= 5 and times >= 2):
                return f"{' '.join(gram)!r} {times} times"
    seen: set[str] = set()
    for sentence in split_sentences(summary):
        key = " ".join(tokenize(sentence))
        if key and key in seen:
            return "a sentence twice"
        seen.add(key)
    return None


def _grams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _echo(summary: str, instructions: str | None, source: str, n: int = 5) -> str | None:
    """The part of the instructions (or a delimiter tag) that a summary repeats, or None;
    words the article itself has in that order do not count."""
    tag = _TAGS.search(summary)
    if tag:
        return tag.group(0)
    if not instructions:
        return None
    grams = _grams(tokenize(instructions), n) - _grams(tokenize(source), n)
    words = tokenize(summary)
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) in grams:
            return " ".join(words[i : i + n])
    return None


def partial_words(summary: str, source: str) -> list[str]:
    """Words with a capital letter or a digit that the source has only as the start of a
    longer word: "British-Iri" for "British-Irish", "Aldwi" for "Aldwick" (a name cut off
    where the model stopped)."""
    known = _source_words(source)
    out = []
    for word in summary.split():
        core = _core(word)
        if not core or not _is_risky(core) or core.casefold() in _FREE or core in known:
            continue
        if any(k.startswith(core) for k in known):
            out.append(core)
    return out


#: Openings that talk about the article instead of the news; the summariser keeps the model
#: from writing them (:func:`meta_bad_words`).
META_PHRASES: tuple[str, ...] = (
    "the article", "this article", "the news article", "this news article", "the text",
    "this text", "the given text", "the provided text", "the passage", "this passage",
    "this news story", "the news story", "this story", "a recent article", "a new article",
    "the news report", "this news report", "news piece", "a news article", "a news story",
    "this news", "the news is",
)  # fmt: skip


def meta_bad_words(tokenizer: Any) -> list[list[int]]:
    """Token sequences of :data:`META_PHRASES` as a tokenizer writes them (lower case and
    capitalised, with and without a leading space), for ``generate(bad_words_ids=...)``:
    the last token of each is banned after the others, so "The" stays possible and
    "The article" does not."""
    out: set[tuple[int, ...]] = set()
    for phrase in META_PHRASES:
        for text in (phrase, phrase[:1].upper() + phrase[1:]):
            for spaced in (text, " " + text):
                ids = tokenizer(spaced, add_special_tokens=False)["input_ids"]
                if len(ids) > 1:
                    out.add(tuple(ids))
    return [list(ids) for ids in sorted(out)]


def strip_meta(summary: str) -> str:
    """Cut a meta opening that has the news after it: "The article says that the council
    will close the library." -> "The council will close the library." Anything else is
    returned as it is."""
    m = _META_LEAD.match(summary)
    if not m:
        return summary
    rest = summary[m.end() :]
    return rest[:1].upper() + rest[1:]


@dataclass
class Check:
    """The verdict on a summary."""

    ok: bool
    unsupported: list[str] = field(default_factory=list)  # names and numbers not in the source
    support: float | None = None  # share of content words from the source
    reasons: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # the failures, as named in FAILURES


def check(
    summary: str,
    source: str,
    *,
    instructions: str | None = None,
    complete: bool = True,
    min_support: float = MIN_SUPPORT,
) -> Check:
    """Whether a generated summary is a summary, and keeps to its source.

    Args:
        summary: the summary.
        source: the article (with its title, when the model saw one).
        instructions: the prompt without the article (its instructions); a summary that
            repeats five words of it in a row is an echo.
        complete: whether the summary must end a sentence (not for a headline).
        min_support: the least share of the summary's content words found in the source.

    Returns:
        A :class:`Check`: ``ok`` when none of :data:`FAILURES` is found; ``kinds`` names
        the failures and ``reasons`` says what failed, in words.
    """
    if not summary.strip():
        return Check(False, reasons=["the summary is empty"], kinds=["empty"])
    failed: list[tuple[str, str]] = []
    m = _REFUSAL.search(summary)
    if m:
        failed.append(("refusal", f"a refusal ({m.group(0).strip()!r})"))
    m = _META.search(summary)
    if m:
        failed.append(("meta", f"talks about the article or the task ({m.group(0).strip()!r})"))
    echoed = _echo(summary, instructions, source)
    if echoed:
        failed.append(("echo", f"repeats the instructions ({echoed!r})"))
    said, wrote = language(source), language(summary)
    if said and wrote and said != wrote:
        failed.append(("language", f"written in {wrote}, the article in {said}"))
    loop = _loop(summary)
    if loop:
        failed.append(("repetition", f"repeats itself ({loop})"))
    if complete and not _FINAL.search(summary.strip()):
        failed.append(("truncated", "stops mid-sentence"))
    found = hallucination(summary, source)
    unsupported = list(found["unsupported_items"])
    unsupported += [w for w in partial_words(summary, source) if w not in unsupported]
    if unsupported:
        names = ", ".join(repr(u) for u in unsupported)
        failed.append(("unsupported", "not in the article: " + names))
    support = content_support(summary, source)
    if support is None or support < min_support:
        share = "none" if support is None else f"{support:.0%}"
        failed.append(("support", f"too few of its words come from the article ({share})"))
    kinds = [k for k, _ in failed]
    return Check(not failed, unsupported, support, [r for _, r in failed], kinds)


def drop_unsupported(summary: str, source: str) -> str | None:
    """The summary without its sentences (or bullet lines) that state a name or number the
    source does not support; None when there is nothing to drop or nothing would be left."""
    lines = [ln for ln in summary.splitlines() if ln.strip()]
    units = lines if len(lines) > 1 else split_sentences(summary)
    keep = [u for u in units if not hallucination(u, source)["unsupported_items"]]
    if not keep or len(keep) == len(units):
        return None
    return ("\n" if len(lines) > 1 else " ").join(keep)
