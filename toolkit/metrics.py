"""Metrics of the evaluation harness: small pure functions, one number family each.

Summaries:

- :func:`rouge`: ROUGE-1/2/L/Lsum per example with rouge-score's ``RougeScorer`` and a
  tokenizer that keeps non-English text (see :class:`RougeTokenizer`).
- :func:`bertscore`: BERTScore P/R/F1 per example with the bert-score package and an embedded
  encoder (MiniLM by default), no baseline rescaling.
- :func:`length_stats`, :func:`novel_ngrams`: length, compression and abstractiveness.
- :func:`find_entities`, :func:`hallucination`: names and numbers in a summary that its source
  does not support, by transparent rules (no NER model can be had offline).

Topics: :func:`classification_report` (accuracy, macro-F1, per label, confusion matrix).

Uncertainty: :func:`bootstrap_ci` (mean of per-example values), :func:`bootstrap_stat`
(corpus-level statistics such as macro-F1), :func:`paired_bootstrap` (system B minus system A on
the same examples). All are percentile bootstraps with a fixed seed, so reruns agree.

**ROUGE checked against the official Perl ROUGE-1.5.5.** ``tests/data/rouge_reference.json``
holds per-pair numbers of ``ROUGE-1.5.5.pl -m -n 2 -a -c 95 -r 1000 -f A -p 0.5 -d`` (made by
``eval/tools/perl_rouge_reference.py``); ``tests/test_metrics.py`` requires :func:`rouge` to
agree within 0.005 on every pair and metric. On English ASCII text our tokens equal
rouge-score's default ones, so the numbers equal rouge-score's with ``use_stemmer=True``. Known,
inherent differences from Perl, both from stemming (pairs showing them are excluded from the
check, with the reason, in the test):

- Perl first looks a word up in WordNet 2.0's exception lists (``went`` -> ``go``,
  ``children`` -> ``child``); rouge-score has no such lists.
- rouge-score uses NLTK's Porter stemmer in its default ``NLTK_EXTENSIONS`` mode, which differs
  from Porter's own Perl code on a few words (Perl stems ``says`` to ``sai``, so it misses
  ``say``; ``news`` to ``new``; NLTK keeps ``news`` and makes ``dying`` ``die``). NLTK's
  ``MARTIN_EXTENSIONS`` mode would match Perl on ``says``, but we keep rouge-score's stemmer so
  that our numbers equal the rouge-score numbers most papers now report.

Over the 32 reference pairs, the other 122 of 128 (pair, metric) numbers agree with Perl to
1e-5 (Perl prints 5 decimals).

Non-ASCII text is where we differ on purpose: Perl ROUGE and rouge-score both delete every
character outside ``[a-z0-9]``, so ``Zürich`` becomes ``z rich`` and Greek or Cyrillic text
becomes nothing (every score 0). Ours keeps Unicode letters, digits and combining marks.
"""

from __future__ import annotations

import functools
import math
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .text import STOP_WORDS as _STOP_WORDS
from .text import split_sentences

__all__ = [
    "COMMON_WORDS",
    "ROUGE_TYPES",
    "RougeTokenizer",
    "bertscore",
    "bootstrap_ci",
    "bootstrap_stat",
    "classification_report",
    "find_entities",
    "hallucination",
    "length_stats",
    "novel_ngrams",
    "paired_bootstrap",
    "rouge",
    "tokenize",
]

#: ROUGE variants :func:`rouge` reports, each with ``_p``, ``_r`` and ``_f`` keys.
ROUGE_TYPES: tuple[str, ...] = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def _check_pairs(predictions: Sequence[str], references: Sequence[str]) -> None:
    if isinstance(predictions, str) or isinstance(references, str):
        raise TypeError("predictions and references must be sequences of strings, not strings")
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references; they must pair up"
        )


# --------------------------------------------------------------------------------------------
# Tokens and sentences
# --------------------------------------------------------------------------------------------

#: Han ideographs and Japanese kana: one token per character (these scripts use no spaces).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_ASCII_TOKEN_RE = re.compile(r"[a-z0-9]+")


@functools.cache
def _unicode_token_re() -> re.Pattern[str]:
    """Tokens of Unicode letters, digits and combining marks; CJK characters one by one.

    Python's ``\\w`` leaves out combining marks (Devanagari vowel signs, Arabic harakat...),
    which would cut words apart, so the marks are added as a character class built once.
    """
    ranges: list[str] = []
    start: int | None = None
    for cp in [*range(0x20000), *range(0xE0100, 0xE01F0), 0x10FFFF]:
        is_mark = unicodedata.category(chr(cp)).startswith("M")
        if is_mark and start is None:
            start = cp
        elif not is_mark and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(cp - 1))}")
            start = None
    marks = "".join(ranges)
    return re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])(?:[^\W_]|[{marks}]))+")


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens: runs of Unicode letters, digits and combining marks.

    Everything else (punctuation, hyphens, apostrophes, symbols) separates tokens, as in
    Perl ROUGE and rouge-score, so on ASCII text the tokens are exactly theirs. Text is NFKC
    normalised first (composed accents, full-width letters); Han and kana characters are one
    token each. No stemming (see :class:`RougeTokenizer`).
    """
    text = unicodedata.normalize("NFKC", text).lower()
    if text.isascii():
        return _ASCII_TOKEN_RE.findall(text)
    return _unicode_token_re().findall(text)


@functools.cache
def _porter() -> Any:
    from nltk.stem import porter

    return porter.PorterStemmer()  # NLTK_EXTENSIONS mode, as rouge-score's DefaultTokenizer


@functools.lru_cache(maxsize=65536)
def _stem(token: str) -> str:
    """Porter stem of an ASCII ``[a-z0-9]`` token longer than 3 characters, as rouge-score."""
    if len(token) > 3 and token.isascii() and token.isalnum():
        return str(_porter().stem(token))
    return token


class RougeTokenizer:
    """The tokenizer :func:`rouge` gives rouge-score: :func:`tokenize`, then stemming.

    Porter stemming (NLTK, rouge-score's mode) applies to ASCII words longer than 3 characters,
    exactly where rouge-score applies it; other words are kept as they are, since the stemmer
    only knows English. It has rouge-score's ``Tokenizer`` interface (``tokenize(text)``).
    """

    def __init__(self, use_stemmer: bool = True) -> None:
        self.use_stemmer = use_stemmer

    def tokenize(self, text: str) -> list[str]:
        tokens = tokenize(text)
        return [_stem(t) for t in tokens] if self.use_stemmer else tokens


# --------------------------------------------------------------------------------------------
# ROUGE
# --------------------------------------------------------------------------------------------


@functools.cache
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=RougeTokenizer())


def rouge(predictions: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
    """Per-example ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum precision, recall and F1.

    rouge-score's ``RougeScorer`` with :class:`RougeTokenizer`: Unicode-aware lowercase word
    tokens (rouge-score's own tokenizer deletes every character outside ``[a-z0-9]``, so
    ``Zürich`` or Greek and Cyrillic text vanish) and Porter stemming of ASCII words longer than
    3 characters, as rouge-score's ``use_stemmer=True``. ROUGE-L is the LCS of the two texts
    taken whole; ROUGE-Lsum splits both into sentences (:func:`split_sentences`, one per line)
    and takes the summary-level union LCS, the ROUGE-L of Perl ROUGE-1.5.5 on one sentence per
    line. See the module docstring for how the numbers compare with Perl ROUGE.

    Args:
        predictions: system summaries.
        references: reference summaries, one per prediction.

    Returns:
        One dict per pair with keys ``rouge1_p``, ``rouge1_r``, ``rouge1_f``, ``rouge2_*``,
        ``rougeL_*`` and ``rougeLsum_*``, all in [0, 1]. An empty side scores 0.
    """
    _check_pairs(predictions, references)
    scorer = _rouge_scorer()
    out: list[dict[str, float]] = []
    for pred, ref in zip(predictions, references, strict=True):
        scores = scorer.score("\n".join(split_sentences(ref)), "\n".join(split_sentences(pred)))
        row: dict[str, float] = {}
        for name in ROUGE_TYPES:
            s = scores[name]
            row[f"{name}_p"] = float(s.precision)
            row[f"{name}_r"] = float(s.recall)
            row[f"{name}_f"] = float(s.fmeasure)
        out.append(row)
    return out


# --------------------------------------------------------------------------------------------
# BERTScore
# --------------------------------------------------------------------------------------------


@dataclass
class _BertModel:
    model: Any
    tokenizer: Any
    device: str


#: Loaded encoders, keyed by (resolved model, num_layers, device); loaded once per process.
_BERT_CACHE: dict[tuple[str, int, str], _BertModel] = {}


def _keep_layers(model: Any, num_layers: int) -> Any:
    """Keep the first ``num_layers`` layers of an encoder, as bert-score does."""
    import torch

    if hasattr(model, "decoder") and hasattr(model, "encoder"):
        model = model.encoder
    for owner_name, attr in [("encoder", "layer"), ("transformer", "layer"), ("", "layers")]:
        owner = getattr(model, owner_name) if owner_name else model
        layers = getattr(owner, attr, None)
        if isinstance(layers, torch.nn.ModuleList):
            if not 0 < num_layers <= len(layers):
                raise ValueError(f"num_layers must be between 1 and {len(layers)}")
            setattr(owner, attr, torch.nn.ModuleList(list(layers)[:num_layers]))
            return model
    raise ValueError(f"cannot cut the layers of a {type(model).__name__} for BERTScore")


def _bert_model(
    model: str, num_layers: int, device: str | None, cache: str | os.PathLike[str] | None
) -> _BertModel:
    from .models import ModelUnavailable, resolve
    from .settings import pick_device

    resolved = resolve(model, cache)
    dev = pick_device(device)
    key = (resolved, num_layers, dev)
    if key not in _BERT_CACHE:
        from transformers import AutoModel, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(resolved, trust_remote_code=False)
            encoder = AutoModel.from_pretrained(
                resolved,
                trust_remote_code=False,
                use_safetensors=True,  # never unpickle weights
            )
        except OSError as err:
            raise ModelUnavailable(
                f"cannot load {model!r} for BERTScore: {str(err).splitlines()[0]} (only "
                "safetensors weights are loaded: convert a pytorch_model.bin with "
                "save_pretrained first)"
            ) from err
        encoder = _keep_layers(encoder, num_layers)
        encoder.eval()
        encoder.to(dev)
        _BERT_CACHE[key] = _BertModel(encoder, tokenizer, dev)
    return _BERT_CACHE[key]


def bertscore(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    model: str = "minilm",
    num_layers: int = 6,
    batch_size: int = 32,
    device: str | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> list[dict[str, float]]:
    """Per-example BERTScore precision, recall and F1 (Zhang et al., 2020).

    Greedy cosine matching of contextual token embeddings, computed by the bert-score package
    (``bert_cos_score_idf``, no idf weighting) from an encoder we load ourselves:
    ``resolve(model)`` (the embedded MiniLM, sentence-transformers/all-MiniLM-L6-v2, by
    default: fetched from the package registry once), ``trust_remote_code=False`` and
    ``use_safetensors=True``, the first ``num_layers`` layers kept (6 = all of MiniLM's). The
    encoder is loaded once per process and cached by (model, num_layers, device).

    The scores are raw cosines, **not rescaled with a baseline**: bert-score's baseline files
    exist only for hub models and languages it has measured, not for this MiniLM. Raw scores
    sit in a narrow band (unrelated English sentences often score 0.2-0.4 with MiniLM), so
    compare systems with each other, not with published rescaled numbers. Inputs longer than
    the model's maximum (512 word pieces) are cut.

    Args:
        predictions: system summaries.
        references: reference summaries, one per prediction.
        model: preset, local folder or hub id of an encoder.
        num_layers: the layer whose output is used.
        batch_size: texts per forward pass.
        device: torch device (default: auto-detected).
        cache: cache folder for registry presets.

    Returns:
        One dict per pair with ``bertscore_p``, ``bertscore_r``, ``bertscore_f``. A pair with an
        empty (or blank) side scores 0 without running the model.

    Raises:
        toolkit.models.ModelUnavailable: the model cannot be fetched or has no safetensors
            weights.
        ValueError: ``num_layers`` is out of range for the model.
    """
    _check_pairs(predictions, references)
    keep = [
        i
        for i, (p, r) in enumerate(zip(predictions, references, strict=True))
        if p.strip() and r.strip()
    ]
    out = [{"bertscore_p": 0.0, "bertscore_r": 0.0, "bertscore_f": 0.0} for _ in predictions]
    if not keep:
        return out
    from bert_score.utils import bert_cos_score_idf

    bert = _bert_model(model, num_layers, device, cache)
    idf: defaultdict[int, float] = defaultdict(lambda: 1.0)
    idf[bert.tokenizer.sep_token_id] = 0.0
    idf[bert.tokenizer.cls_token_id] = 0.0
    scores = bert_cos_score_idf(
        bert.model,
        [references[i] for i in keep],
        [predictions[i] for i in keep],
        bert.tokenizer,
        idf,
        batch_size=batch_size,
        device=bert.device,
    ).cpu()
    for row, i in enumerate(keep):
        p, r, f = (float(x) for x in scores[row])
        out[i] = {"bertscore_p": p, "bertscore_r": r, "bertscore_f": f}
    return out


# --------------------------------------------------------------------------------------------
# Length and abstractiveness
# --------------------------------------------------------------------------------------------

#: Words for counting: letters/digits joined by inner hyphens, apostrophes, periods, commas
#: ("long-awaited", "don't", "2.5", "1,200" are one word each).
_WORD_RE = re.compile(r"[^\W_]+(?:[-'\u2019.,][^\W_]+)*")


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).lower())


def length_stats(prediction: str, source: str) -> dict[str, float]:
    """Length of a summary and its source, and the compression ratio.

    Words are runs of letters and digits, with inner hyphens, apostrophes, periods and commas
    kept inside (``long-awaited``, ``1,200``: one word each).

    Returns:
        ``summary_words``, ``source_words`` and ``compression`` = source words / summary words;
        ``compression`` is NaN (not infinity) for an empty summary: aggregate with
        ``np.nanmean`` or leave such rows out.
    """
    summary_words = len(_words(prediction))
    source_words = len(_words(source))
    compression = source_words / summary_words if summary_words else math.nan
    return {
        "summary_words": float(summary_words),
        "source_words": float(source_words),
        "compression": float(compression),
    }


def _ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def novel_ngrams(prediction: str, source: str, n: int) -> float:
    """Share of the summary's n-grams that do not occur in the source (abstractiveness).

    Lowercased words as in :func:`length_stats`, no stemming; n-grams are counted with
    repetition (a repeated novel bigram counts twice), the usual definition (See et al. 2017,
    Narayan et al. 2018).

    Returns:
        A share in [0, 1]; NaN when the summary has fewer than ``n`` words.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    summary = _ngrams(_words(prediction), n)
    if not summary:
        return math.nan
    seen = set(_ngrams(_words(source), n))
    return sum(g not in seen for g in summary) / len(summary)


# --------------------------------------------------------------------------------------------
# Entities and hallucination
# --------------------------------------------------------------------------------------------


#: Words that are not names when they open a sentence: stop words, plus words that often
#: open news sentences. A sentence-initial capitalised word in this set, or one that also
#: appears in lowercase elsewhere in the same text, is not taken as (the start of) a name.
COMMON_WORDS: frozenset[str] = _STOP_WORDS | frozenset(
    """according additionally again ahead amid analysts asked authorities back based
    businesses campaigners children citizens companies consumers critics customers despite
    doctors earlier early economists elsewhere emergency employees experts families fans
    farmers finally firefighters firms first following fresh further given government heavy
    here high hospitals households investigators investors it's last late later lawmakers
    lawyers leaders local low major markets members meanwhile military ministers more most
    much new news officers officials once overall parents patients people plans police prices
    prosecutors protesters rescuers researchers residents results sales scientists second
    shares shoppers shortly similarly some sources staff still stocks students supporters
    teachers that's the there's third this three top troops two users victims voters while
    witnesses workers yes""".split()
)

#: Lowercase words that may join the parts of a name: "Bank of England", "Charles de Gaulle".
#: Common words kept at the start of a sentence when a capitalised word follows them.
_NAME_OPENERS = frozenset("new high police first".split())
#: Honorifics, ignored when a name is looked for in the source ("Mr Smith" ~ "John Smith").
_HONORIFICS = frozenset("mr mrs ms mx dr prof sir dame lord lady rev".split())
_NAME_JOINERS = frozenset("of de da del della der di du la le van von den al bin ibn y".split())
#: A word of a name: a dotted acronym ("U.S.") or letters/digits with inner hyphens/apostrophes.
_NAME_TOKEN_RE = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_](?:[\w'\u2019-]*[^\W_])?")
_POSSESSIVE_RE = re.compile(r"(?:['\u2019]s|(?<=s)['\u2019])$", re.IGNORECASE)

_MAGNITUDES = {
    "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
    "k": 1e3, "m": 1e6, "bn": 1e9, "tn": 1e12,
}  # fmt: skip
#: A number: optional currency, digits (thousands commas, decimals), then optionally a
#: percent sign or "per cent"/"percent", an ordinal suffix, or a magnitude ("million"; the
#: short "m", "bn", "k" only right after a currency number: "$3m", "£2.5bn").
_NUMBER_RE = re.compile(
    r"(?<![\w.,])(?<![^\W\d_]-)"
    r"(?P<cur>(?:US|A|C|NZ|HK)?[$£€¥₹])?\s?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:(?P<pct>\s?%|\s?per\s?cent\b|\s?percent\b)"
    r"|(?P<ord>st|nd|rd|th)\b"
    r"|(?P<mag>\s?(?:thousand|million|billion|trillion)\b|(?:bn|tn|m|k)\b))?",
    re.IGNORECASE,
)
_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy "
                                              "eighty ninety".split())}  # fmt: skip
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50,
    "sixtieth": 60, "seventieth": 70, "eightieth": 80, "ninetieth": 90, "hundredth": 100,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER_WORDS = {**_UNITS, **_TENS, **_ORDINALS}
_FIRST_NUMBER_WORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_ANY_NUMBER_WORD = "|".join(sorted({*_NUMBER_WORDS, *_SCALES}, key=len, reverse=True))
#: Numbers in words: a unit, ten or ordinal, then more number words ("two hundred and fifty").
_WORD_NUMBER_RE = re.compile(
    rf"\b(?:(?:{_FIRST_NUMBER_WORD})(?:[\s-]+(?:and[\s-]+)?(?:{_ANY_NUMBER_WORD}))*)\b"
    r"(?P<pct>\s?%|\s+per\s?cent\b|\s+percent\b)?",
    re.IGNORECASE,
)
#: How near (in words) the words of a multi-word name must be in the source.
_NEAR = 10


@dataclass(frozen=True)
class _Entity:
    text: str  # as written in the summary
    kind: str  # "name" or "number"
    value: float = 0.0  # numbers: the value, magnitude applied
    decimals: int = 0  # numbers: digits after the decimal point as written
    scale: float = 1.0  # numbers: the magnitude written ("million" = 1e6)
    percent: bool = False
    start: int = 0

    @property
    def key(self) -> tuple[Any, ...]:
        if self.kind == "number":
            return ("number", round(self.value, 9), self.percent)
        return ("name", " ".join(self.text.split()).casefold())


def _number_entity(m: re.Match[str]) -> _Entity | None:
    num, cur, mag = m.group("num"), m.group("cur"), m.group("mag")
    text = m.group(0).strip()
    if mag and mag.strip().lower() in ("k", "m", "bn", "tn") and not cur:
        mag = None  # "5m" may be five metres: a short magnitude needs a currency
        text = text[: len(text) - len(m.group("mag"))]
    scale = _MAGNITUDES[mag.strip().lower()] if mag else 1.0
    digits = num.replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return _Entity(
        text=text,
        kind="number",
        value=float(digits) * scale,
        decimals=decimals,
        scale=scale,
        percent=bool(m.group("pct")),
        start=m.start(),
    )


def _word_number_value(words: str) -> tuple[float, bool] | None:
    """Value of written numbers ("forty-two", "two hundred and fifty", "third"); is_ordinal."""
    total, current, ordinal = 0.0, 0.0, False
    for w in re.split(r"[\s-]+", words.lower()):
        if w == "and":
            continue
        if w in _SCALES:
            current = max(current, 1.0) * _SCALES[w]
            if _SCALES[w] >= 1000:
                total, current = total + current, 0.0
        elif w in _NUMBER_WORDS:
            if w in _ORDINALS:
                ordinal = True
            current += _NUMBER_WORDS[w]
        else:  # pragma: no cover - the regex admits only number words
            return None
    return total + current, ordinal


def _word_numbers(text: str, *, for_summary: bool) -> list[_Entity]:
    """Numbers written in words. In a summary only cardinals of 2 or more count as entities
    ("one", "first", "second" are too often not numbers); in a source all count as support."""
    out: list[_Entity] = []
    for m in _WORD_NUMBER_RE.finditer(text):
        words = m.group(0)[: len(m.group(0)) - len(m.group("pct") or "")]
        parsed = _word_number_value(words)
        if parsed is None or not any(c.isalpha() for c in words):
            continue
        value, ordinal = parsed
        if for_summary and (ordinal or value < 2):
            continue
        out.append(
            _Entity(m.group(0).strip(), "number", value, 0, 1.0, bool(m.group("pct")), m.start())
        )
    return out


def _numbers(text: str, *, for_summary: bool) -> list[_Entity]:
    found = [e for m in _NUMBER_RE.finditer(text) if (e := _number_entity(m)) is not None]
    return found + _word_numbers(text, for_summary=for_summary)


def _strip_possessive(word: str) -> tuple[str, bool]:
    stripped = _POSSESSIVE_RE.sub("", word)
    return stripped, stripped != word


def _name_spans(sentence: str, lowercase_words: set[str]) -> list[tuple[int, int]]:
    """(start, end) of the names in one sentence; see :func:`find_entities` for the rules."""
    spans: list[tuple[int, int]] = []
    group: list[re.Match[str]] = []

    def flush() -> None:
        while group and group[-1].group(0) in _NAME_JOINERS:
            group.pop()
        if group:
            spans.append((group[0].start(), group[-1].end()))
        group.clear()

    tokens = list(_NAME_TOKEN_RE.finditer(sentence))
    for i, tok in enumerate(tokens):
        word = tok.group(0)
        gap = sentence[tokens[i - 1].end() : tok.start()] if i else ""
        if group and gap != " " * len(gap):
            flush()  # punctuation between two words ends a name
        if not word[0].isupper():
            if group and word in _NAME_JOINERS:
                group.append(tok)
            else:
                flush()
            continue
        # Sentence-initial: the first word, or the first after a colon or an opening quote.
        if i == 0 or gap.strip() in (":", '"', "\u201c", "\u2018", ': "', ": \u201c"):
            flush()
            bare = _strip_possessive(word)[0]
            common = bare.lower() in COMMON_WORDS or bare.lower() in lowercase_words
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            opens_name = (
                bare.lower() in _NAME_OPENERS
                and nxt is not None
                and nxt.group(0)[0].isupper()
                and sentence[tok.end() : nxt.start()] == " "
            )  # "New York", "High Court", "Police Scotland"
            if common and not opens_name and not (len(bare) > 1 and bare.isupper()):
                continue  # "The", "Officials": not a name
        group.append(tok)
        if _strip_possessive(word)[1]:
            flush()  # "Britain's Prime Minister": two names
    flush()
    return spans


def _names(text: str) -> list[_Entity]:
    """Capitalised word sequences (and acronyms) that are not sentence-initial common words."""
    lowercase_words = {w for w in _NAME_TOKEN_RE.findall(text) if w[0].islower()}
    out: list[_Entity] = []
    pos = 0
    for sentence in split_sentences(text):
        offset = max(text.find(sentence, pos), 0)
        pos = offset + len(sentence)
        for start, end in _name_spans(sentence, lowercase_words):
            name = " ".join(_strip_possessive(sentence[start:end])[0].split())
            if len(name) > 1:  # "I", "A": not names
                out.append(_Entity(name, "name", start=offset + start))
    return out


def _entities(text: str) -> list[_Entity]:
    text = unicodedata.normalize("NFC", text)
    found = sorted(_names(text) + _numbers(text, for_summary=True), key=lambda e: e.start)
    seen: set[tuple[Any, ...]] = set()
    unique: list[_Entity] = []
    for e in found:
        if e.key not in seen:
            seen.add(e.key)
            unique.append(e)
    return unique


def find_entities(text: str) -> list[str]:
    """Named entities and numbers in a text, by transparent rules (no NER model offline).

    Rules:

    - **Names**: runs of capitalised words separated by single spaces ("Vladimir Putin",
      "Port Aldwick", "Bank of England": ``of``, ``de``, ``van``... may join them), acronyms
      ("NATO", "U.S.", "G7"). A possessive ends a name and is dropped ("Britain's Prime
      Minister" -> "Britain", "Prime Minister"). The first word of a sentence (or after a
      colon or an opening quote) is skipped when it is in :data:`COMMON_WORDS` or occurs in
      lowercase elsewhere in the text ("The", "In", "Officials"); "In London" keeps "London".
      "New", "High", "Police" and "First" are kept when a capitalised word follows ("New
      York", "High Court"). "I" and single letters are not names.
    - **Numbers**: digits with thousands commas and decimals ("1,200", "2.5"), a percent sign
      or "per cent"/"percent" ("40%"), an ordinal suffix ("3rd"), a currency sign ("$3",
      "£2.5bn") and a magnitude ("3 million"; "m", "bn", "k" only after a currency). Digits
      glued to letters ("G7", "COVID-19") are part of a name, not numbers. Cardinals written
      in words from "two" up ("forty", "twenty-five", "two hundred") count too.

    Each entity is listed once (names case-insensitively, numbers by value), in order of
    first appearance, as written.

    Known limits: capitalisation is the only signal, so names written in lowercase
    ("iPhone", "de Gaulle" alone) are missed or cut; a common word that opens a sentence but
    is not in the list ("Shoppers") is taken as a name; all-capitals and title-case headlines
    yield many spurious "names"; a name that opens a sentence with a common word ("May said")
    is missed; a sentence-opening participle ("Speaking in Frankfurt, ...") is taken as a name;
    dates ("14 May") give a number and a name; European decimal commas ("2,5") are not
    understood. Scripts without case (Chinese, Arabic) yield numbers only. In
    :func:`hallucination`: acronyms are not expanded ("ECB" is not supported by "European
    Central Bank"), demonyms do not match countries, and ordinals equal cardinals.
    """
    return [e.text for e in _entities(text)]


@dataclass
class _SourceIndex:
    """A source text indexed for support checks."""

    folded: str  # casefolded, white space collapsed
    positions: dict[str, list[int]]  # casefolded token -> positions
    exact: dict[str, list[int]]  # token as written -> positions (short acronyms)
    numbers: list[_Entity]


def _index_source(source: str) -> _SourceIndex:
    source = unicodedata.normalize("NFC", source)
    undotted = re.sub(
        r"(?:[^\W\d_]\.){2,}", lambda m: m.group(0).replace(".", "") + " ", source
    )  # "U.S." -> "US"
    positions: dict[str, list[int]] = defaultdict(list)
    exact: dict[str, list[int]] = defaultdict(list)
    for i, tok in enumerate(re.findall(r"[^\W_]+", undotted)):
        positions[tok.casefold()].append(i)
        exact[tok].append(i)
    folded = " ".join(source.split()).casefold()
    return _SourceIndex(folded, positions, exact, _numbers(source, for_summary=False))


def _is_short_acronym(word: str) -> bool:
    """ "US", "UN", "WHO": compared in capitals, lest "us" or "who" support them."""
    return word.isupper() and len(word) <= 3


def _name_supported(name: str, src: _SourceIndex) -> bool:
    undotted = re.sub(r"(?:[^\W\d_]\.){2,}", lambda m: m.group(0).replace(".", ""), name)
    words = [
        w
        for w in re.findall(r"[^\W_]+", undotted)
        if w.lower() not in _NAME_JOINERS and w.lower() not in _HONORIFICS
    ]
    if not words:
        return False
    has_short_acronym = any(_is_short_acronym(w) for w in words)
    if not has_short_acronym and " ".join(name.split()).casefold() in src.folded:
        return True
    found: list[list[int]] = []
    for w in words:
        exact = _is_short_acronym(w)
        hits = src.exact.get(w, []) if exact else src.positions.get(w.casefold(), [])
        if not hits:
            return False
        found.append(hits)
    anchor, others = found[-1], found[:-1]
    return any(all(any(abs(p - q) <= _NEAR for q in hits) for hits in others) for p in anchor)


def _number_supported(number: _Entity, src: _SourceIndex) -> bool:
    want = round(number.value / number.scale * 10**number.decimals)
    for cand in src.numbers:
        if number.percent and not cand.percent:
            continue
        got = math.floor(cand.value / number.scale * 10**number.decimals + 0.5)
        if got == want:
            return True
    return False


def hallucination(prediction: str, source: str) -> dict[str, Any]:
    """Entities of a summary (:func:`find_entities`) that its source does not support.

    Support rules:

    - A **name** is supported when it occurs in the source (case-insensitive, white space
      normalised), or when all its words (joiners like "of" aside) occur in the source with
      every word within 10 words of an occurrence of its last word ("President Biden" is
      supported by "Joe Biden, the president"); honorifics (Mr, Dr, Sir...) are not looked
      for ("Mr Smith" is supported by "John Smith"). Acronyms of up to 3 letters must match in
      capitals ("US" is not supported by "us"); dotted and undotted forms are equal ("U.S." ==
      "US"). Words must match exactly: "Russian" is not supported by "Russia".
    - A **number** is supported when the source has the same value, whatever the formatting:
      "1,200" == "1200", "40%" == "40 per cent" == "40 percent", "$3m" == "3 million" ==
      "3,000,000", "3rd" == "3" == "third", and numbers written in words count ("forty" in
      the source supports "40"). A rounded summary number is supported by a more precise
      source number that rounds to it ("1.2 million" by "1,204,000", "40%" by "39.6%"), not
      the other way round. A percentage needs a percentage in the source; a plain number does
      not care. Currency signs are not compared.

    Returns:
        ``entities`` (how many distinct), ``unsupported`` (how many not supported), ``rate``
        (unsupported / entities, None when the summary has no entity), ``unsupported_items``
        and ``supported_items`` (as written in the summary).
    """
    entities = _entities(prediction)
    src = _index_source(source)
    supported: list[str] = []
    unsupported: list[str] = []
    for e in entities:
        ok = _number_supported(e, src) if e.kind == "number" else _name_supported(e.text, src)
        (supported if ok else unsupported).append(e.text)
    n = len(entities)
    return {
        "entities": n,
        "unsupported": len(unsupported),
        "rate": len(unsupported) / n if n else None,
        "unsupported_items": unsupported,
        "supported_items": supported,
    }


# --------------------------------------------------------------------------------------------
# Topic classification
# --------------------------------------------------------------------------------------------


def classification_report(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-label scores and the confusion matrix (scikit-learn).

    Args:
        gold: true labels.
        pred: predicted labels, one per gold label.
        labels: the label set, in the order to report.

    Returns:
        ``n``, ``accuracy`` (over all items), ``macro_f1`` (unweighted mean F1 over
        ``labels``; a label never predicted nor present scores 0), ``per_label``
        ``{label: {precision, recall, f1, support}}`` (0 where undefined), and ``confusion``
        ``{"labels": [...], "matrix": [[...]]}`` with gold labels as rows and predicted labels
        as columns. Labels seen in ``gold`` or ``pred`` but not in ``labels`` (an "unknown"
        prediction) are appended to the confusion labels, so every item is counted, and listed
        in ``extra_labels``; they are not part of ``macro_f1``.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    _check_pairs(gold, pred)
    if len(gold) == 0:
        raise ValueError("no items to score")
    labels = list(labels)
    extra = sorted({str(x) for x in (*gold, *pred)} - set(labels))
    p, r, f, s = precision_recall_fscore_support(
        gold, pred, labels=labels, average=None, zero_division=0
    )
    all_labels = labels + extra
    matrix = confusion_matrix(gold, pred, labels=all_labels)
    return {
        "n": len(gold),
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(np.mean(f)) if labels else 0.0,
        "per_label": {
            label: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": {"labels": all_labels, "matrix": matrix.astype(int).tolist()},
        "extra_labels": extra,
    }


# --------------------------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------------------------

#: Resampled indices are drawn in blocks of at most this many, to bound memory.
_BLOCK = 4_000_000


def _resampled_means(values: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Means of ``n`` resamples (with replacement) of ``values``, vectorised in blocks."""
    rng = np.random.default_rng(seed)
    m = len(values)
    rows = max(1, _BLOCK // m)
    means = np.empty(n)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        idx = rng.integers(0, m, size=(stop - start, m))
        means[start:stop] = values[idx].mean(axis=1)
    return means


def _interval(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_ci(
    values: Sequence[float], *, n: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Mean and percentile bootstrap confidence interval of the mean.

    ``n`` resamples of the values (with replacement, same size) from a generator seeded with
    ``seed``, so the interval is the same on every run; the interval is the ``alpha/2`` and
    ``1 - alpha/2`` quantiles of the resampled means (95% by default).

    NaN values (per-example metrics that are undefined there, such as :func:`novel_ngrams` of
    a summary shorter than n) are left out, as ``np.nanmean`` would.

    Returns:
        ``(mean, low, high)``; all NaN when no value is left.
    """
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return math.nan, math.nan, math.nan
    low, high = _interval(_resampled_means(arr, n, seed), alpha)
    return float(arr.mean()), low, high


def bootstrap_stat(
    stat: Callable[[np.ndarray], float],
    n_items: int,
    *,
    n: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float, float]:
    """A corpus-level statistic and its percentile bootstrap confidence interval.

    For statistics that are not means of per-item values, such as macro-F1: ``stat`` receives
    an array of item indices (``0 .. n_items-1``, resampled with replacement) and computes the
    statistic on those items, e.g.
    ``lambda idx: classification_report(gold[idx], pred[idx], labels)["macro_f1"]`` with
    ``gold`` and ``pred`` numpy arrays.

    Returns:
        ``(stat on all items, low, high)``; all NaN when ``n_items`` is 0.
    """
    if n_items <= 0:
        return math.nan, math.nan, math.nan
    value = float(stat(np.arange(n_items)))
    rng = np.random.default_rng(seed)
    samples = np.array([float(stat(rng.integers(0, n_items, size=n_items))) for _ in range(n)])
    low, high = _interval(samples, alpha)
    return value, low, high


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Paired bootstrap of the mean difference ``b - a`` of two systems on the same examples.

    The per-example differences are resampled (with replacement) ``n`` times. Examples where
    either value is NaN (undefined) are left out.

    Returns:
        ``diff`` (mean of b - a), ``low`` and ``high`` (percentile interval, 95% by default),
        ``significant`` (the interval excludes 0) and ``p_value``: two-sided, twice the share
        of resampled mean differences on the other side of 0 from ``diff`` (0 itself counts as
        the other side), at most 1; 1 when ``diff`` is 0. A p-value of 0.0 means no resample
        crossed 0, i.e. p < 1/n.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"a has {x.size} values, b has {y.size}; they must pair up")
    defined = ~(np.isnan(x) | np.isnan(y))
    x, y = x[defined], y[defined]
    if x.size == 0:
        return {"diff": math.nan, "low": math.nan, "high": math.nan, "p_value": math.nan,
                "significant": False}  # fmt: skip
    d = y - x
    diff = float(d.mean())
    means = _resampled_means(d, n, seed)
    low, high = _interval(means, alpha)
    if diff > 0:
        p = 2 * float(np.mean(means <= 0))
    elif diff < 0:
        p = 2 * float(np.mean(means >= 0))
    else:
        p = 1.0
    return {
        "diff": diff,
        "low": low,
        "high": high,
        "p_value": min(1.0, p),
        "significant": bool(low > 0 or high < 0),
    }
