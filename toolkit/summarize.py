"""Summarise: an open Hugging Face model, causal (chat) or seq2seq, prompted from templates.

Inputs longer than the model's context (or the ``max_input_tokens`` cap) are split on
paragraph, then sentence, then word boundaries, each part is summarised, and the partial
summaries are combined (map-reduce), in as many rounds as it takes. Nothing is truncated.

Names and numbers are kept to the article while the model writes, and the finished summary
is checked against it (:mod:`toolkit.faithful`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from .errors import UsageError
from .faithful import (
    GUARDS,
    SourceConstraint,
    SourceConstraints,
    check,
    drop_unsupported,
    meta_bad_words,
    strip_meta,
)
from .models import DEFAULT_EMBEDDER, DEFAULT_SUMMARIZER, load_generator
from .prompts import Prompts, defuse_special_tokens
from .settings import PRECISIONS
from .text import split_sentences

__all__ = ["LONG_INPUTS", "STYLES", "Pipeline", "Style", "Summary", "SummaryOptions",
           "Summarizer", "split_into_chunks"]  # fmt: skip

_LEAD_LABEL = re.compile(
    r"^\s*((here is |here's )?(a |an |the |this )?(one[- ]sentence |short |brief )?"
    r"(summary|headline|résumé|zusammenfassung|resumen)"
    r"( of (this|the) (news )?(article|text|story|piece))?( (can be|is|would be))?\s*:\s*)+",
    re.IGNORECASE,
)
_FINAL = re.compile(r"[.!?…][\"'”’)\]]*$")
_BULLET = re.compile(r"^\s*(?:[-*•–—]|\d+[.)])\s*")


@dataclass(frozen=True)
class Style:
    """A kind of summary: its prompt template and its default length.

    Attributes:
        template: the map-step template for causal models (seq2seq models have one template,
            :data:`SEQ2SEQ_TEMPLATE`, and get the style only as a length).
        words: the length asked for, in words.
        max_new_tokens: the cap on generated tokens.
        sentences: how many sentences an extractive summary (and the guard's fallback) has.
        complete: whether the text must end a sentence (a headline need not).
    """

    template: str
    words: int
    max_new_tokens: int
    sentences: int
    complete: bool = True


#: The summary styles, each with its template in ``prompts/``.
STYLES: dict[str, Style] = {
    "sentence": Style("summarise.j2", 40, 60, 1),
    "paragraph": Style("summarise_paragraph.j2", 90, 160, 3),
    "bullets": Style("summarise_bullets.j2", 60, 150, 3, complete=False),
    "headline": Style("summarise_headline.j2", 12, 24, 1, complete=False),
}
SEQ2SEQ_TEMPLATE = "summarise_seq2seq.j2"
#: What to do with an article longer than the input budget: give the model its salient
#: sentences (extract-then-abstract), or summarise its parts and combine them (map-reduce).
LONG_INPUTS: tuple[str, ...] = ("extract", "map-reduce")
#: The model name (or prefix, ``extractive:EMBEDDER``) of the extractive backend.
EXTRACTIVE = "extractive"
#: The regeneration's input: at most this many salient sentences and tokens.
REGENERATE_SENTENCES = 4
REGENERATE_TOKENS = 384
#: Articles per ``generate`` call by default (measured in ``make bench``).
DEFAULT_BATCH_SIZE = 16
#: Articles in a row without any generated text after which the summariser warns.
EMPTY_WARNING = 5


@dataclass
class SummaryOptions:
    """How to summarise.

    Attributes:
        style: "sentence" (default), "paragraph", "bullets" or "headline" (:data:`STYLES`):
            the template, and the length unless ``words`` / ``max_new_tokens`` are given.
        template: the prompt template; None picks the style's (causal) or
            ``summarise_seq2seq.j2`` (seq2seq).
        system_template: system message for chat models; an empty render sends none.
        combine_template: the reduce-step template; None picks by model kind like ``template``.
        words: the length asked for in the prompt, in words (None: the style's).
        max_new_tokens: the hard cap on generated tokens (None: the style's).
        num_beams: beam search width (1 = greedy).
        repetition_penalty: >1 discourages repeating tokens. Off by default: for decoder-only
            models it also penalises the prompt's tokens, i.e. copying names and numbers from
            the article, which makes summaries less faithful.
        no_repeat_ngram_size: forbid an n-gram of this size twice *within the summary* (0 =
            off); it stops loops without banning phrases copied from the article (unlike
            transformers' own option, which for decoder-only models also counts the prompt).
        max_input_tokens: cap on article tokens per model call, below the model's context;
            small models summarise shorter inputs better and faster. None = the full context.
        long_input: an article over the budget: "extract" gives the model its most salient
            sentences that fit, in the article's order (extract-then-abstract, one model
            call); "map-reduce" summarises every part and combines the partial summaries.
        no_meta: keep the model from writing "the article", "this text" and the like
            (:data:`toolkit.faithful.META_PHRASES`): a summary states the news, it does not
            talk about the article. SmolLM2 opens 12 of 30 dev summaries that way without it.
        faithful: constrained decoding: a word with a capital letter or a digit (a name, an
            acronym, a number) can only be one the article (or its title) has
            (:class:`toolkit.faithful.SourceConstraint`).
        guard: what to do with a finished summary that fails :func:`toolkit.faithful.check`
            (meta-talk, a refusal, echoed instructions, another language, a loop, a cut-off
            sentence, a name or number the article does not support, words mostly not from
            the article): "fallback" repairs it (a meta opening cut, the unsupported sentence
            dropped, the next beam, one regeneration from the article's salient sentences)
            or puts the extractive summary in its place; "warn" keeps it with a warning;
            "off" does not check.
        retry: with guard "fallback", regenerate once from the salient sentences before
            falling back.
        extractor: the sentence-embedding model of the extractive stage (long articles, the
            regeneration, the fallback); "lead" takes the article's first sentences instead
            and loads no model.
        batch_size: articles per ``generate`` call (prompts of about the same length are
            batched together, left-padded). Greedy decoding gives the same summary in a batch
            as alone (float32); see the results document for the measured default.
        precision: the dtype the model runs in: "auto" (bfloat16 where the hardware computes
            it natively: a CUDA GPU with bf16, or a CPU with AVX512-BF16 or AMX; else float32),
            or "float32", "bfloat16", "float16".
    """

    style: str = "sentence"
    template: str | None = None
    system_template: str = "summarise_system.j2"
    combine_template: str | None = None
    words: int | None = None
    max_new_tokens: int | None = None
    num_beams: int = 1
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 3
    max_input_tokens: int | None = 1536
    long_input: str = "extract"
    no_meta: bool = True
    faithful: bool = True
    guard: str = "fallback"
    retry: bool = True
    extractor: str = DEFAULT_EMBEDDER
    batch_size: int = DEFAULT_BATCH_SIZE
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, got {self.style!r}")
        if self.guard not in GUARDS:
            raise ValueError(f"guard must be one of {', '.join(GUARDS)}, got {self.guard!r}")
        if self.long_input not in LONG_INPUTS:
            raise ValueError(
                f"long_input must be one of {', '.join(LONG_INPUTS)}, got {self.long_input!r}"
            )
        if self.precision not in PRECISIONS:
            raise UsageError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        for name in ("words", "max_new_tokens", "num_beams", "batch_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise UsageError(f"{name} must be a whole number of at least 1, got {value!r}")
        if self.max_input_tokens is not None and self.max_input_tokens < 16:
            raise UsageError(
                f"max_input_tokens must be at least 16 (or None for the model's context), "
                f"got {self.max_input_tokens}"
            )
        if self.no_repeat_ngram_size < 0:
            raise UsageError(
                f"no_repeat_ngram_size must be 0 or more, got {self.no_repeat_ngram_size}"
            )
        if self.repetition_penalty <= 0:
            raise UsageError(f"repetition_penalty must be positive, got {self.repetition_penalty}")
        style = STYLES[self.style]
        if self.words is None:
            self.words = style.words
        if self.max_new_tokens is None:
            self.max_new_tokens = style.max_new_tokens


@dataclass
class Summary:
    """A summary with what it took to make it."""

    text: str
    chunks: int = 1
    rounds: int = 1
    input_tokens: int = 0
    warnings: list[str] = field(default_factory=list)
    #: "passed"; "repaired" (a meta opening cut or an unsupported sentence dropped, or a
    #: later beam taken); "regenerated" (from the article's salient sentences); "fallback"
    #: (the extractive summary stands in the model's place); "failed" (failed, kept: guard
    #: "warn"); None (not checked, or an extractive summary)
    guard: str | None = None
    #: "abstractive", "extract-then-abstract", "map-reduce" or "extractive"
    method: str = "abstractive"


@dataclass
class _Plan:
    """One article on its way through :meth:`Summarizer.summarise_many`."""

    text: str
    title: str | None
    source: str  # the article with its title: what the summary is checked against
    chunks: int
    method: str
    prompts: list[str]
    rounds: int = 1

    def summary(self, text: str, warnings: list[str], guard: str | None, *, tokens: int) -> Summary:
        return Summary(text, self.chunks, self.rounds, tokens, warnings, guard, self.method)


@dataclass
class _Retry:
    """A summary that failed the guard and could not be repaired: regenerate it."""

    failed: str  # what failed, for the warning
    instructions: str  # the prompt's instructions, rendered with the article's title


def _split_long_word(word: str, count: Callable[[str], int], budget: int) -> list[str]:
    """Cut a word longer than ``budget`` tokens into pieces that fit, by characters (in
    linear time: the word is counted once, then each piece)."""
    size = max(1, len(word) * budget // max(count(word), 1))
    pieces: list[str] = []
    start = 0
    while start < len(word):
        piece = word[start : start + size]
        while len(piece) > 1 and count(piece) > budget:
            piece = piece[: len(piece) // 2]
        pieces.append(piece)
        start += len(piece)
    return pieces


def _split_words(text: str, count: Callable[[str], int], budget: int) -> list[str]:
    """Words packed into pieces of at most ``budget`` tokens; a word longer than that is cut."""
    units: list[tuple[str, int]] = []
    for word in text.split():
        n = count(word)
        if n > budget:
            units.extend((piece, count(piece)) for piece in _split_long_word(word, count, budget))
        else:
            units.append((word, n))
    return _pack(units, " ", count, budget)


def _pack(
    units: list[tuple[str, int]], joiner: str, count: Callable[[str], int], budget: int
) -> list[str]:
    """Join consecutive units (text, tokens) greedily into pieces of at most ``budget``
    tokens. Each unit is counted once, so this is linear in the text; a piece whose joined
    count exceeds the sum (a tokenizer merging across a join) is packed again exactly."""
    join_cost = max(count(joiner.join(["a", "a"])) - 2 * count("a"), 0)
    pieces: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    total = 0
    for unit in units:
        extra = unit[1] + (join_cost if current else 0)
        if current and total + extra > budget:
            pieces.append(current)
            current, total = [], 0
            extra = unit[1]
        current.append(unit)
        total += extra
    if current:
        pieces.append(current)
    out: list[str] = []
    for piece in pieces:
        text = joiner.join(u[0] for u in piece)
        if len(piece) == 1 or count(text) <= budget:
            out.append(text)
            continue
        run = ""  # the rare piece a tokenizer counts higher when joined: pack it exactly
        for unit_text, _ in piece:
            candidate = f"{run}{joiner}{unit_text}" if run else unit_text
            if run and count(candidate) > budget:
                out.append(run)
                run = unit_text
            else:
                run = candidate
        if run:
            out.append(run)
    return out


def split_into_chunks(text: str, count: Callable[[str], int], budget: int) -> list[str]:
    """Split ``text`` into consecutive chunks of at most ``budget`` tokens.

    Paragraphs are kept whole where they fit, else split into sentences, else into words,
    and a word longer than the budget is cut. Consecutive units are packed greedily. Every
    character of the input (but white space between units) is in exactly one chunk. Each
    unit is counted once, so the time is linear in the length of the text.

    Args:
        text: the article.
        count: the number of tokens of a string.
        budget: the most tokens a chunk may have (at least 1).

    Returns:
        The chunks, in order; one chunk when the whole text fits.
    """
    if budget < 1:
        raise ValueError("budget must be at least 1 token")
    text = text.strip()
    if not text or count(text) <= budget:
        return [text] if text else []
    units: list[tuple[str, int]] = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        n = count(para)
        if n <= budget:
            units.append((para, n))
            continue
        sentences: list[tuple[str, int]] = []
        for sentence in split_sentences(para):
            m = count(sentence)
            if m <= budget:
                sentences.append((sentence, m))
            else:
                sentences.extend((w, count(w)) for w in _split_words(sentence, count, budget))
        # sentences of one paragraph: packed with spaces, as pieces of their own
        units.extend((piece, count(piece)) for piece in _pack(sentences, " ", count, budget))
    return _pack(units, "\n\n", count, budget)


def tidy(text: str, style: str = "sentence") -> tuple[str, list[str]]:
    """Normalise generated text for its style; cut a trailing unfinished sentence (bullet)
    when a complete one exists. Bullets come out as "- item" lines; a headline is one line.

    Returns:
        (text, warnings)
    """
    warnings: list[str] = []
    if style == "bullets":
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if len(lines) > 1 and lines[0].endswith(":"):
            lines = lines[1:]  # "Here are the main points:"
        items = [_LEAD_LABEL.sub("", " ".join(_BULLET.sub("", ln).split())) for ln in lines]
        items = [i.strip().strip('"').strip() for i in items]
        items = [i for i in items if i]
        if len(items) == 1:
            items = split_sentences(items[0])
        unfinished = len(items) > 1 and not _FINAL.search(items[-1])
        if unfinished and all(_FINAL.search(i) for i in items[:-1]):
            items = items[:-1]
            warnings.append("summary hit the token limit; the unfinished last bullet was cut")
        return "\n".join(f"- {i}" for i in items), warnings
    if style == "headline":
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        head = _LEAD_LABEL.sub("", " ".join(first.lstrip("#").split())).strip().strip('"')
        return head.strip().rstrip("."), warnings
    text = _LEAD_LABEL.sub("", " ".join(text.split())).strip().strip('"').strip()
    if text and not _FINAL.search(text):
        sentences = split_sentences(text)
        complete = [s for s in sentences if _FINAL.search(s.strip())]
        if complete and len(complete) < len(sentences):
            text = " ".join(complete).strip()
            warnings.append("summary hit the token limit; the unfinished last sentence was cut")
        else:
            warnings.append("summary ends without sentence punctuation (token limit?)")
    return text, warnings


class SummaryNoRepeatNGram:
    """Logits processor: no n-gram twice in the generated text; the prompt does not count.

    Args:
        size: the n-gram size.
        prompt_length: the number of prompt tokens at the start of ``input_ids``.
    """

    def __init__(self, size: int, prompt_length: int) -> None:
        self.size = size
        self.prompt_length = prompt_length

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        n = self.size
        for row, ids in enumerate(input_ids[:, self.prompt_length :].tolist()):
            if len(ids) < n:
                continue
            prefix = tuple(ids[len(ids) - n + 1 :])
            banned = {
                ids[i + n - 1]
                for i in range(len(ids) - n + 1)
                if tuple(ids[i : i + n - 1]) == prefix
            }
            if banned:
                scores[row, list(banned)] = -float("inf")
        return scores


def context_length(model: Any, tokenizer: Any) -> int:
    """The number of positions the model (the encoder, for seq2seq) can attend to."""
    config = model.config
    known = [
        getattr(config, name, None)
        for name in ("max_position_embeddings", "n_positions", "max_source_positions")
    ]
    model_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(model_max, int) and model_max < 1_000_000:
        known.append(model_max)
    values = [v for v in known if isinstance(v, int) and v > 0]
    return min(values) if values else 512


class Pipeline:
    """A summariser's calling convention: a string in gives a string out, a list in gives a
    list out, over :meth:`summarise` (which subclasses provide)."""

    def summarise(self, text: str, title: str | None = None) -> Summary:
        raise NotImplementedError

    @overload
    def __call__(self, text: str, title: str | None = None) -> str: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(
        self, text: Sequence[str], title: Sequence[str | None] | None = None
    ) -> list[str]: ...

    def __call__(self, text: str | Sequence[str], title: Any = None) -> str | list[str]:
        """Summarise one article (str -> str) or several (list -> list).

        Args:
            text: an article or a list of articles.
            title: the title, or a list of titles for a list of articles.

        Returns:
            The summary text, or a list of them.
        """
        if isinstance(text, str):
            return self.summarise(text, title).text
        return [s.text for s in self.summarise_many(list(text), title)]

    def summarise_many(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None
    ) -> list[Summary]:
        """Summarise several articles (subclasses batch them; here one at a time)."""
        titles = list(titles) if titles is not None else [None] * len(texts)
        return [self.summarise(t, ti) for t, ti in zip(texts, titles, strict=True)]


class Summarizer(Pipeline):
    """Summarise articles with a causal chat model or a seq2seq model.

    A string in gives a string out; a list in gives a list out.

    Args:
        model: a preset name (default ``smollm2-135m``), a local folder or a hub id.
        options: generation and prompt settings.
        prompts: the template library (default: built-in templates).
        device: torch device; None auto-detects (CUDA, then MPS, then CPU).
        cache: the cache folder for registry presets.
    """

    def __init__(
        self,
        model: str = DEFAULT_SUMMARIZER,
        *,
        options: SummaryOptions | None = None,
        prompts: Prompts | None = None,
        device: str | None = None,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        self.model_name = model
        self.options = options or SummaryOptions()
        self.style = STYLES[self.options.style]
        self.prompts = prompts or Prompts()
        self.device, self.cache = device, cache
        self._extractor: Any = None
        self._static_cache = False  # set for causal models below
        self._empty = 0  # articles in a row for which the model wrote nothing
        self.model: Any = None
        self.tokenizer: Any = None
        self.template: str | None = None
        self.combine_template: str | None = None
        backend, _, embedder = model.partition(":")
        if backend == EXTRACTIVE:  # no generator: the article's most central sentences
            self.kind = "extractive"
            self._extractor = self._make_extractor(embedder or self.options.extractor)
            self.resolved = self._extractor.resolved
            self.dtype = "float32"
            return
        self.model, self.tokenizer, self.kind, self.resolved = load_generator(
            model, device, cache, precision=self.options.precision
        )
        self.dtype = str(self.model.dtype).removeprefix("torch.")
        seq2seq = self.kind == "seq2seq"
        self.template = self.options.template or (
            SEQ2SEQ_TEMPLATE if seq2seq else self.style.template
        )
        self.combine_template = self.options.combine_template or (
            "combine_seq2seq.j2" if seq2seq else "combine.j2"
        )
        self.context = context_length(self.model, self.tokenizer)
        self._check_templates()
        self.budget = self._article_budget()
        self._meta_ids = meta_bad_words(self.tokenizer)
        self._static_cache = self.kind == "causal"

    def _check_templates(self) -> None:
        """Render every template once with an example, so that a broken template (a user's
        override) stops the run before it starts, with its file and line."""
        assert self.template is not None and self.combine_template is not None
        example = "The council approved the new bridge on Monday. It opens in 2027."
        self.prompt(example, "Council approves bridge")
        self.prompt(example, None)
        self.prompts.check(
            self.combine_template, **self._variables(summaries=[example, example], title=None)
        )
        if self.kind == "causal" and self.prompts.exists(self.options.system_template):
            self.prompts.check(self.options.system_template, **self._variables())

    def _make_extractor(self, name: str) -> Any:
        from .extract import ExtractOptions, Extractor

        if name == "lead":
            return Extractor(options=ExtractOptions(method="lead"), cache=self.cache)
        return Extractor(name, device=self.device, cache=self.cache)

    @property
    def extractor(self) -> Any:
        """The extractive stage (:class:`toolkit.extract.Extractor`), loaded when first used."""
        if self._extractor is None:
            self._extractor = self._make_extractor(self.options.extractor)
        return self._extractor

    def extractive(self, text: str, title: str | None = None) -> str:
        """The extractive summary of an article in this style: its most central sentences
        (one for a sentence or a headline, three for a paragraph or bullets), those close to
        the title first when it is given."""
        picked = self.extractor.select(text, sentences=self.style.sentences, title=title)
        if self.options.style == "bullets":
            return "\n".join(f"- {p}" for p in picked)
        return " ".join(picked)

    # -- provenance -------------------------------------------------------------------------
    @property
    def template_sha256(self) -> str | None:
        """sha256 over the templates in use (map, combine and system), in that order; None
        for the extractive backend, which has no prompt."""
        import hashlib

        if self.template is None or self.combine_template is None:
            return None
        parts = [self.template, self.combine_template]
        if self.kind == "causal" and self.prompts.exists(self.options.system_template):
            parts.append(self.options.system_template)
        joined = "".join(self.prompts.sha256(p) for p in parts)
        return hashlib.sha256(joined.encode()).hexdigest()

    # -- token arithmetic -------------------------------------------------------------------
    def count(self, text: str) -> int:
        """Number of tokens of ``text`` (no special tokens)."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _variables(self, **extra: Any) -> dict[str, Any]:
        return {
            "words": self.options.words,
            "style": self.options.style,
            "model_type": self.model.config.model_type,
            **extra,
        }

    def inert(self, text: str) -> str:
        """Untrusted text (an article, a title) with any string the tokenizer would read as a
        control token broken up (see :func:`toolkit.prompts.defuse_special_tokens`)."""
        return defuse_special_tokens(text, self.tokenizer)

    def prompt(self, article: str, title: str | None = None) -> str:
        """The rendered map-step prompt for one article part (what :meth:`generate` takes).

        The article and title can never produce the model's special tokens."""
        assert self.template is not None, "the extractive backend has no prompt"
        title = self.inert(title) if title else title
        return self.prompts.render(
            self.template, **self._variables(article=self.inert(article), title=title)
        )

    def instructions(self, title: str | None = None) -> str:
        """What the model is told besides the article (system message and the prompt without
        the article): a summary that repeats it is an echo."""
        parts = [self.prompt("", title)]
        if self.kind == "causal" and self.prompts.exists(self.options.system_template):
            parts.append(self.prompts.render(self.options.system_template, **self._variables()))
        return "\n".join(parts)

    def encode(self, prompt: str) -> dict[str, Any]:
        """Tokenise a rendered prompt as the model expects it (chat template for chat models).

        Fine-tuning builds its inputs with this too, so a tuned model sees what it is trained on.

        Returns:
            ``input_ids`` and ``attention_mask`` tensors of shape (1, length).
        """
        if self.kind == "causal" and getattr(self.tokenizer, "chat_template", None):
            messages = []
            if self.prompts.exists(self.options.system_template):
                system = self.prompts.render(self.options.system_template, **self._variables())
                if system:
                    messages.append({"role": "system", "content": system})
            messages.append({"role": "user", "content": prompt})
            return dict(
                self.tokenizer.apply_chat_template(
                    messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
                )
            )
        return dict(self.tokenizer(prompt, return_tensors="pt"))

    def _reserve(self) -> int:
        return int(self.options.max_new_tokens or 0) if self.kind == "causal" else 0

    def _prompt_tokens(self, prompt: str) -> int:
        return int(self.encode(prompt)["input_ids"].shape[-1])

    def _fits(self, prompt: str) -> bool:
        """Whether a rendered prompt plus the answer fits the model's context."""
        return self._prompt_tokens(prompt) + self._reserve() <= self.context

    def _article_budget(self, title: str | None = None) -> int:
        """Tokens left for article text in one call, after the prompt (with its title)."""
        empty = self.prompt("", title)
        overhead = self._prompt_tokens(empty)
        budget = self.context - overhead - self._reserve() - 8
        if self.options.max_input_tokens:
            budget = min(budget, self.options.max_input_tokens)
        if budget < 16:
            raise ValueError(
                f"model {self.model_name!r} has a {self.context}-token context, too small for "
                f"the prompt ({overhead} tokens) and {self._reserve()} new tokens; lower "
                "max_new_tokens or shorten the template (or the title)"
            )
        return budget

    # -- generation -------------------------------------------------------------------------
    def generate(self, prompt: str, source: str | None = None) -> str:
        """Generate from a rendered prompt (the template output) and return the new text.

        Args:
            prompt: the rendered template.
            source: with ``options.faithful``, names and numbers are kept to this text.
        """
        return self._candidates(prompt, source, 1)[0]

    def _candidates(self, prompt: str, source: str | None, count: int) -> list[str]:
        """The best ``count`` (at most ``num_beams``) outputs for a prompt, best first."""
        return self.generate_many([prompt], [source], count)[0]

    def generate_many(
        self, prompts: Sequence[str], sources: Sequence[str | None], count: int = 1
    ) -> list[list[str]]:
        """Generate for several prompts in batches of ``options.batch_size``.

        Prompts are sorted by length so that each batch holds prompts of about the same
        length (little padding); the answers come back in the prompts' order.

        Args:
            prompts: rendered templates.
            sources: per prompt, the text names and numbers are kept to (None: free).
            count: outputs per prompt (at most ``num_beams``), best first.

        Returns:
            Per prompt, its ``count`` outputs.
        """
        encoded = [self.encode(p)["input_ids"][0].tolist() for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: (-len(encoded[i]), i))
        size = self.options.batch_size
        results: list[list[str]] = [[] for _ in prompts]
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            outs = self._generate_batch([encoded[i] for i in rows], [sources[i] for i in rows],
                                        count)  # fmt: skip
            for i, out in zip(rows, outs, strict=True):
                results[i] = out
        return results

    def _generate_batch(
        self, ids: list[list[int]], sources: list[str | None], count: int
    ) -> list[list[str]]:
        """One ``generate`` call over token-id rows: left padding for causal models (the
        new tokens start at the same position in every row), right padding for seq2seq."""
        import torch

        o = self.options
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        width = max(len(row) for row in ids)
        causal = self.kind == "causal"
        input_ids = torch.full((len(ids), width), int(pad), dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for r, row in enumerate(ids):
            cols = slice(width - len(row), width) if causal else slice(0, len(row))
            input_ids[r, cols] = torch.tensor(row, dtype=torch.long)
            mask[r, cols] = 1
        extra: dict[str, Any] = {}
        prompt_length = width if causal else 0
        processors: list[Any] = []
        if o.no_repeat_ngram_size and causal:
            processors.append(SummaryNoRepeatNGram(o.no_repeat_ngram_size, prompt_length))
        elif o.no_repeat_ngram_size:  # seq2seq: the decoder sees only the summary
            extra["no_repeat_ngram_size"] = o.no_repeat_ngram_size
        if o.faithful and any(s is not None for s in sources):  # last: it checks the rest
            # greedy search takes the best allowed token, so one is enough; beam search
            # looks at the best 2 x beams of each beam (fewer would change what it finds)
            keep = 1 if o.num_beams == 1 else 2 * o.num_beams
            per_row = [
                None if s is None
                else SourceConstraint(self.tokenizer, s, prompt_length, keep=keep)
                for s in sources
            ]  # fmt: skip
            processors.append(SourceConstraints(per_row, o.num_beams, self._stop_ids()))
        if o.no_meta:
            extra["bad_words_ids"] = self._meta_ids
        if processors:
            from transformers import LogitsProcessorList

            extra["logits_processor"] = LogitsProcessorList(processors)
        count = max(1, min(count, o.num_beams))
        arguments = {
            "input_ids": input_ids.to(self.model.device),
            "attention_mask": mask.to(self.model.device),
            "max_new_tokens": self._reserve() or o.max_new_tokens,
            "num_beams": o.num_beams,
            "do_sample": False,
            "repetition_penalty": o.repetition_penalty,
            "pad_token_id": pad,
            "num_return_sequences": count,
            **extra,
        }
        with torch.inference_mode():
            if self._static_cache:
                # a preallocated key/value cache: no copy of the whole cache at every step
                # (about half the time of a decoding step on a CPU); the same tokens
                try:
                    out = self.model.generate(**arguments, cache_implementation="static")
                except (ValueError, TypeError, NotImplementedError, AttributeError):
                    self._static_cache = False  # a model without one: the growing cache
            if not self._static_cache:
                out = self.model.generate(**arguments)
        texts = self.tokenizer.batch_decode(out[:, prompt_length:], skip_special_tokens=True)
        return [[str(t) for t in texts[r * count : (r + 1) * count]] for r in range(len(ids))]

    def _stop_ids(self) -> set[int]:
        """The token ids that end a generated sequence (the generation config's, and the
        tokenizer's end-of-sequence token)."""
        ids: set[int] = set()
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        for value in (configured, self.tokenizer.eos_token_id):
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, list | tuple):
                ids.update(int(v) for v in value)
        return ids

    def _combine_prompt(self, group: list[str], title: str | None) -> str:
        assert self.combine_template is not None
        group = [self.inert(g) for g in group]
        title = self.inert(title) if title else title
        return self.prompts.render(
            self.combine_template, **self._variables(summaries=group, title=title)
        )

    def _combine_groups(self, partials: list[str], title: str | None) -> list[list[str]]:
        """Group consecutive partial summaries so that each combine prompt fits the context."""
        groups: list[list[str]] = []
        for part in partials:
            if groups and self._fits(self._combine_prompt([*groups[-1], part], title)):
                groups[-1].append(part)
            else:
                groups.append([part])
        if len(groups) == len(partials):
            raise ValueError(
                f"model {self.model_name!r}: its {self.context}-token context cannot hold two "
                "partial summaries in the combine prompt; lower max_new_tokens"
            )
        return groups

    def _plan(self, text: str, title: str | None) -> _Plan | Summary:
        """What the model is asked for one article: its prompts (one, or one per part for
        map-reduce), or at once the summary of an empty article."""
        o = self.options
        budget = self.budget if not title else self._article_budget(title)
        chunks = split_into_chunks(text, self.count, budget)
        if not chunks:
            return Summary(text="", chunks=0, rounds=0, warnings=["empty article"])
        source = f"{title}\n\n{text}" if title else text
        method = "abstractive"
        if len(chunks) > 1 and o.long_input == "extract":
            picked = self.extractor.select(text, tokens=budget, count=self.count, title=title)
            if picked:
                chunks, method = [" ".join(picked)], "extract-then-abstract"
        if len(chunks) > 1:
            method = "map-reduce"
        prompts = [self.prompt(c, title) for c in chunks]
        return _Plan(text, title, source, len(chunks), method, prompts)

    def summarise(self, text: str, title: str | None = None) -> Summary:
        """Summarise one article.

        An article longer than the budget is cut down to its salient sentences
        (``long_input="extract"``) or summarised part by part and combined (map-reduce).

        Args:
            text: the cleaned article text.
            title: the article's title, if known (shown to the model).

        Returns:
            The summary with its chunk count, reduce rounds, input size, warnings, the guard's
            verdict and the method.
        """
        return self.summarise_many([text], [title])[0]

    def summarise_many(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None
    ) -> list[Summary]:
        """Summarise several articles, batched: what :meth:`summarise` gives for each.

        The articles' prompts go through the model in batches of ``options.batch_size``
        (one ``generate`` call each); summaries that fail the guard are regenerated
        together, as a batch, too.

        Args:
            texts: cleaned article texts.
            titles: their titles (None: no titles).

        Returns:
            One :class:`Summary` per article, in order.
        """
        titles = list(titles) if titles is not None else [None] * len(texts)
        if len(titles) != len(texts):
            raise ValueError(f"{len(texts)} articles but {len(titles)} titles")
        if self.kind == "extractive":
            return [self._extractive_summary(t, ti) for t, ti in zip(texts, titles, strict=True)]
        o = self.options
        plans = [self._plan(t, ti) for t, ti in zip(texts, titles, strict=True)]
        results: list[Summary | None] = [p if isinstance(p, Summary) else None for p in plans]
        # with a guard and beam search, the other beams of the last step are kept as
        # stand-ins for a summary that fails the check
        count = o.num_beams if o.guard == "fallback" else 1
        candidates: dict[int, list[str]] = {}
        for i, plan in enumerate(plans):
            if isinstance(plan, _Plan) and len(plan.prompts) > 1:
                candidates[i] = self._map_reduce(plan, count)
        single = [i for i, p in enumerate(plans) if isinstance(p, _Plan) and len(p.prompts) == 1]
        outs = self.generate_many(
            [plans[i].prompts[0] for i in single],  # type: ignore[union-attr]
            [plans[i].source for i in single],  # type: ignore[union-attr]
            count,
        )
        candidates.update(zip(single, outs, strict=True))
        retries: list[tuple[int, _Retry]] = []
        for i in sorted(candidates):
            plan = plans[i]
            assert isinstance(plan, _Plan)
            self._watch(candidates[i])
            verdict = self._guard(candidates[i], plan.source, plan.title)
            if isinstance(verdict, _Retry):
                retries.append((i, verdict))
            else:
                results[i] = plan.summary(*verdict, tokens=self.count(plan.text))
        for (i, retry), again in zip(retries, self._regenerate_many(plans, retries), strict=True):
            plan = plans[i]
            assert isinstance(plan, _Plan)
            if again is not None:
                note = f"{retry.failed}; regenerated from the article's salient sentences"
                final = (again, [note], "regenerated")
            else:
                note = f"{retry.failed}; the article's extractive summary stands in its place"
                final = (self.extractive(plan.text, plan.title), [note], "fallback")
            results[i] = plan.summary(*final, tokens=self.count(plan.text))
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _extractive_summary(self, text: str, title: str | None) -> Summary:
        if not text.strip():
            return Summary("", 0, 0, warnings=["empty article"], method="extractive")
        return Summary(
            self.extractive(text, title), input_tokens=len(text.split()), method="extractive"
        )

    def _map_reduce(self, plan: _Plan, count: int) -> list[str]:
        """Summarise each part (in batches), combine the partial summaries, in rounds until
        one prompt is left; its output."""
        prompts = plan.prompts
        while len(prompts) > 1:
            outs = self.generate_many(prompts, [plan.source] * len(prompts), 1)
            partials = [" ".join(out[0].split()) for out in outs]
            groups = self._combine_groups(partials, plan.title)
            prompts = [self._combine_prompt(g, plan.title) for g in groups]
            plan.rounds += 1
        return self._candidates(prompts[0], plan.source, count)

    def _watch(self, candidates: list[str]) -> None:
        """Warn once when the model writes nothing for several articles in a row: damaged
        weights load and run, but produce empty text (the guard would hide it)."""
        self._empty = self._empty + 1 if not any(c.strip() for c in candidates) else 0
        if self._empty == EMPTY_WARNING:
            import sys

            print(
                f"warning: the model {self.model_name!r} wrote no text for {EMPTY_WARNING} "
                "articles in a row; its weights may be damaged: run `toolkit fetch --verify` "
                "(for a preset) or check the model folder",
                file=sys.stderr,
                flush=True,
            )

    def _check(self, summary: str, source: str, instructions: str) -> Any:
        return check(summary, source, instructions=instructions, complete=self.style.complete)

    def _repair(self, summary: str, source: str, instructions: str) -> tuple[str, str] | None:
        """A repair of a failing summary that passes the check: (summary, what was done)."""
        cut = strip_meta(summary)
        if cut != summary and self._check(cut, source, instructions).ok:
            return cut, "its meta opening was cut"
        dropped = drop_unsupported(cut, source)
        if dropped and self._check(dropped, source, instructions).ok:
            return dropped, "its sentences with unsupported names or numbers were dropped"
        return None

    def _guard(
        self, candidates: list[str], source: str, title: str | None = None
    ) -> tuple[str, list[str], str | None] | _Retry:
        """Tidy the candidates and keep the first that passes :func:`check` (per ``guard``),
        else repair, or ask for a regeneration (:class:`_Retry`).

        Args:
            candidates: the model's outputs, best first.
            source: the article with its title, as the model saw them (what is checked).
            title: the article's title (the prompt's instructions are rendered with it).

        Returns:
            (summary, warnings, guard verdict as in :attr:`Summary.guard`), or a
            :class:`_Retry` when no candidate passes or can be repaired under guard
            "fallback".
        """
        style = self.options.style
        tidied = [tidy(c, style) for c in candidates]
        if self.options.guard == "off":
            final, warnings = tidied[0]
            if not final:
                warnings.append("the model produced no text")
            return final, warnings, None
        instructions = self.instructions(title)  # rendered once for every check below
        verdicts = [self._check(t, source, instructions) for t, _ in tidied]
        for rank, ((final, warnings), verdict) in enumerate(zip(tidied, verdicts, strict=True)):
            if verdict.ok:
                if rank:
                    return (
                        final,
                        [*warnings, f"beam {rank + 1} taken: the first failed"],
                        "repaired",
                    )
                return final, warnings, "passed"
        reasons = "; ".join(verdicts[0].reasons)
        if self.options.guard == "warn":
            final, warnings = tidied[0]
            return final, [*warnings, f"the guard's check failed: {reasons}"], "failed"
        failed = f"the model's summary failed the guard's check ({reasons})"
        for final, warnings in tidied:
            repaired = self._repair(final, source, instructions)
            if repaired:
                return repaired[0], [*warnings, f"{failed}; {repaired[1]}"], "repaired"
        return _Retry(failed, instructions)

    def _regenerate_many(
        self, plans: Sequence[_Plan | Summary], retries: list[tuple[int, _Retry]]
    ) -> list[str | None]:
        """One more try for each failed summary, from its article's most salient sentences
        (a shorter, different input), all in batches; per retry the result if it passes the
        check (or its repair), else None. None at once without ``retry``, or when those
        sentences are the whole article (greedy decoding would say the same)."""
        prompts: list[str] = []
        asked: list[int] = []
        for k, (i, _) in enumerate(retries):
            plan = plans[i]
            assert isinstance(plan, _Plan)
            if not self.options.retry:
                continue
            budget = min(self.budget, REGENERATE_TOKENS)
            picked = self.extractor.select(plan.text, sentences=REGENERATE_SENTENCES,
                                           tokens=budget, count=self.count,
                                           title=plan.title)  # fmt: skip
            if picked and " ".join(picked) != " ".join(plan.text.split()):
                prompts.append(self.prompt(" ".join(picked), plan.title))
                asked.append(k)
        sources = [plans[retries[k][0]].source for k in asked]  # type: ignore[union-attr]
        outs = self.generate_many(prompts, sources, 1)
        results: list[str | None] = [None] * len(retries)
        for k, source, out in zip(asked, sources, outs, strict=True):
            instructions = retries[k][1].instructions
            again, _ = tidy(out[0], self.options.style)
            if self._check(again, source, instructions).ok:
                results[k] = again
            else:
                repaired = self._repair(again, source, instructions)
                results[k] = repaired[0] if repaired else None
        return results
