"""Zero-shot topic tagging of news articles against a label set (a taxonomy).

A :class:`Tagger` scores every label of a label set for an article and picks the topics:

- ``embedding`` (default, model ``minilm``): a sentence-transformers encoder embeds each label
  ("name: description" and its example phrases, averaged) and the article, and compares
  them by cosine similarity. Fast on a CPU.
- ``nli``: a natural-language-inference classifier (default ``bart-large-mnli``, needs the
  Hugging Face hub) judges, for each label, whether the article entails a hypothesis rendered
  from the ``nli_hypothesis.j2`` template. Slower, usually sharper.
- ``llm`` (model ``smollm2-135m``): an instruct model is asked, for each label, whether the
  article is about it (``tag_llm.j2``); the score comes from its probability of answering
  "yes" rather than "no". Works offline; slower than embedding.
- ``ensemble`` (members ``embedding+llm``): a weighted mix of the members' log-odds.

Long articles are never cut short: they are split into chunks that fit the model (at
sentence ends where possible) and the chunk scores are combined.

Label sets come from :func:`load_labels`: the default is the 17 top-level IPTC Media Topics
shipped in ``toolkit/taxonomies/iptc-top.json``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, overload

import numpy as np

from .models import ModelUnavailable, load_embedder, model_kind, resolve
from .prompts import Prompts, defuse_special_tokens
from .settings import PRECISIONS, pick_device, pick_dtype

__all__ = [
    "BACKENDS",
    "DEFAULT_MODELS",
    "HYPOTHESIS_TEMPLATE",
    "Label",
    "LabelSource",
    "TagOptions",
    "Tagger",
    "Tagging",
    "TopicScore",
    "labels_sha256",
    "load_labels",
    "taxonomies",
]

#: Backends by name, with the model each uses when none is given. An ``llm`` backend (a
#: generative model asked to pick topics) can be added as one more :class:`_Backend` class
#: in ``_BACKEND_CLASSES``; the Tagger does the rest (selection, batching, provenance).
DEFAULT_MODELS: dict[str, str] = {
    "embedding": "minilm",
    "nli": "bart-large-mnli",
    "llm": "smollm2-135m",
    "ensemble": "embedding+llm",
}
BACKENDS: tuple[str, ...] = tuple(DEFAULT_MODELS)

#: The template each NLI hypothesis is rendered from (variables ``label``, ``description``).
HYPOTHESIS_TEMPLATE = "nli_hypothesis.j2"

#: The llm backend's user message (variables ``article``, ``label``, ``description``,
#: ``examples``) and system message.
LLM_TEMPLATE = "tag_llm.j2"
LLM_SYSTEM_TEMPLATE = "tag_llm_system.j2"

#: The most article tokens the llm backend puts in one prompt when ``chunk_tokens`` is None:
#: small instruct models follow a question better after a shorter text.
LLM_CHUNK_TOKENS = 1024

#: Each ensemble member's weight (normalised over the members present; 1.0 for one not
#: named). embedding 1 : llm 3 was chosen on 200 BBC train articles (README).
ENSEMBLE_WEIGHTS: dict[str, float] = {"embedding": 1.0, "llm": 3.0}

TAXONOMY_DIR = Path(__file__).resolve().parent / "taxonomies"
DEFAULT_TAXONOMY = "iptc-top"

# Calibration of the embedding backend, fitted for all-MiniLM-L6-v2 (the ``minilm`` preset)
# on BBC News articles against the IPTC top-level labels (see TagOptions).
EMBEDDING_CENTER = 0.20
EMBEDDING_SCALE = 0.05
EMBEDDING_TEMPERATURE = 0.05


# --------------------------------------------------------------------------------------------
# Data classes


@dataclass
class Label:
    """One topic of a label set.

    Attributes:
        name: what users see, e.g. ``"sport"``.
        description: a sentence saying what belongs under the label (optional, but it helps
            both backends).
        examples: short example phrases of articles under the label (embedding backend).
    """

    name: str
    description: str = ""
    examples: list[str] = field(default_factory=list)


#: What :func:`load_labels` and :class:`Tagger` take as a label set.
LabelSource = (
    str | os.PathLike | Mapping[str, Any] | Iterable[str | Label | Mapping[str, Any]] | None
)


@dataclass
class TopicScore:
    """A label and its score in [0, 1]."""

    label: str
    score: float


@dataclass
class Tagging:
    """The result for one article.

    Attributes:
        scores: every label with its score, best first.
        topics: the chosen labels, best first: score >= threshold, at most ``top_k`` (one
            when not multi-label); empty when none passes, unless ``at_least_one`` is set.
    """

    scores: list[TopicScore]
    topics: list[TopicScore]


@dataclass
class TagOptions:
    """How a :class:`Tagger` scores and chooses topics.

    Scores (multi-label, the default) are independent per label, in [0, 1]:

    - ``embedding``: ``sigmoid((cosine - center) / scale)`` of the cosine similarity between
      the article and the label. The defaults (``center`` 0.20, ``scale`` 0.05) were set for
      the ``minilm`` encoder on 300 BBC News articles (5 sections mapped to IPTC labels):
      at 0.20 about 75% of articles pass for their own section's label and 4.6% of the
      other labels pass, 1.4 topics an article. Another encoder has another cosine range
      and needs its own values.
    - ``nli``: the entailment probability of each label's hypothesis (softmax of entailment
      against contradiction), as the zero-shot pipeline computes with ``multi_label=True``.
    - ``llm``: ``sigmoid`` of the label's yes/no log-odds, less the content-free log-odds
      when ``calibrate`` is on.

    With ``multi_label=False`` the scores form one distribution over the labels (they sum to
    1): a softmax of the cosines divided by ``temperature`` (embedding; 0.05 minimised the
    log loss on the same BBC articles), a softmax of the entailment logits over the
    labels (nli) or of the (calibrated) yes/no log-odds (llm); then at most one topic is
    chosen.

    Attributes:
        threshold: the score a label needs to be a topic. None (default): 0.5 when
            multi-label, 0.0 (the best label always) when not.
        top_k: at most this many topics.
        multi_label: independent scores per label (True) or one distribution (False).
        at_least_one: when no label passes the threshold, still return the best one as the
            single topic. Off by default: an empty ``topics`` says "no confident topic" and
            ``scores[0]`` still names the closest label.
        batch_size: articles per batch (embedding: one encode call for all chunks of the
            batch's articles) and sequence pairs per forward pass (nli).
        chunk_tokens: the most tokens per chunk; None: as many as the model takes (minus the
            hypothesis for nli). Longer articles are split at sentence ends into chunks.
        aggregate: how chunk results combine, "mean" (weighted by chunk length) or "max";
            None: "mean" for embedding (the mean of the normalised chunk embeddings), "max"
            for nli and llm (a topic that any part of the article is about is a topic of the
            article).
            Single-label scores always use the mean, so that they still sum to 1.
        center: embedding cosine at which a label scores 0.5 (multi-label).
        scale: embedding cosine change that moves a score by one logit (multi-label).
        temperature: embedding softmax temperature (single-label).
        precision: the dtype the model runs in: "auto" (bfloat16 where the hardware computes
            it natively, as CPUs with AVX512-BF16 and recent GPUs do, else float32),
            "float32", "bfloat16" or "float16". On this project's CPU bfloat16 halves the
            embedding backend's time and tied float32 on BBC dev articles (README). The llm
            backend takes "auto" as float32: bfloat16 blurred its yes/no log-odds.
        calibrate: llm: subtract from each label's yes/no log-odds those the model gives for
            a content-free article ("N/A"), so that a label scores above 0.5 when the article
            makes "yes" likelier than no article does (contextual calibration, Zhao et al.
            2021). Removes the model's prior for or against each label.
        ensemble_weights: ensemble: weight per member backend, e.g. ``{"llm": 2}``, over
            :data:`ENSEMBLE_WEIGHTS`; normalised over the members.
    """

    threshold: float | None = None
    top_k: int = 3
    multi_label: bool = True
    at_least_one: bool = False
    batch_size: int = 32
    chunk_tokens: int | None = None
    aggregate: str | None = None
    center: float = EMBEDDING_CENTER
    scale: float = EMBEDDING_SCALE
    temperature: float = EMBEDDING_TEMPERATURE
    precision: str = "auto"
    calibrate: bool = True
    ensemble_weights: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.chunk_tokens is not None and self.chunk_tokens < 8:
            raise ValueError(f"chunk_tokens must be at least 8, got {self.chunk_tokens}")
        if self.aggregate not in (None, "mean", "max"):
            raise ValueError(f"aggregate must be 'mean' or 'max', got {self.aggregate!r}")
        if self.scale <= 0 or self.temperature <= 0:
            raise ValueError("scale and temperature must be positive")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )

    @property
    def cutoff(self) -> float:
        """The threshold in effect (``threshold``, or its default for ``multi_label``)."""
        if self.threshold is not None:
            return self.threshold
        return 0.5 if self.multi_label else 0.0


# --------------------------------------------------------------------------------------------
# Label sets


def taxonomies() -> list[str]:
    """Names of the label sets shipped in ``toolkit/taxonomies/`` (pass one to load_labels)."""
    return sorted(p.stem for p in TAXONOMY_DIR.glob("*.json"))


_LABEL_KEYS = {"name", "description", "examples"}
_FILE_SUFFIXES = (".json", ".txt", ".yaml", ".yml")


def _label_from(item: Any, where: str) -> Label:
    """One label from a str, a Label or a {"name", "description", "examples"} mapping."""
    if isinstance(item, Label):
        label = Label(item.name, item.description, list(item.examples))
    elif isinstance(item, str):
        label = Label(item)
    elif isinstance(item, dict):
        unknown = set(item) - _LABEL_KEYS
        if unknown:
            raise ValueError(
                f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                "(a label has name, description, examples)"
            )
        if "name" not in item:
            raise ValueError(f"{where}: a label has no 'name'")
        examples = item.get("examples") or []
        if isinstance(examples, str):
            examples = [examples]
        label = Label(item["name"], item.get("description") or "", examples)
    else:
        raise ValueError(f"{where}: a label must be a string or a mapping, got {item!r}")
    if not isinstance(label.name, str) or not label.name.strip():
        raise ValueError(f"{where}: a label name must be a non-empty string, got {label.name!r}")
    if not isinstance(label.description, str):
        raise ValueError(f"{where}: the description of {label.name!r} must be a string")
    if not isinstance(label.examples, list) or not all(isinstance(e, str) for e in label.examples):
        raise ValueError(f"{where}: the examples of {label.name!r} must be a list of strings")
    return Label(
        label.name.strip(),
        label.description.strip(),
        [e.strip() for e in label.examples if e.strip()],
    )


def _labels_from_data(data: Any, where: str) -> list[Label]:
    """Labels from parsed JSON/YAML: a list, a {name: description} mapping, or the wrapper
    {"attribution": ..., "labels": [...]}."""
    if isinstance(data, dict) and isinstance(data.get("labels"), (list, dict)):
        data = data["labels"]
    if isinstance(data, dict):
        items = []
        for name, value in data.items():
            if isinstance(value, dict):
                items.append({"name": name, **value})
            elif value is None or isinstance(value, str):
                items.append({"name": name, "description": value or ""})
            else:
                raise ValueError(
                    f"{where}: the value of {name!r} must be a description string or a "
                    f"mapping, got {type(value).__name__}"
                )
        data = items
    if not isinstance(data, list):
        raise ValueError(
            f"{where}: expected a list of labels, a {{name: description}} mapping or "
            f'{{"labels": [...]}}, got {type(data).__name__}'
        )
    return [_label_from(item, f"{where}, label {i + 1}") for i, item in enumerate(data)]


def _read_label_file(path: Path) -> list[Label]:
    where = str(path)
    if not path.is_file():
        raise ValueError(f"label file {where} does not exist")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"label file {where} cannot be read: {err}") from err
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"label file {where} is not valid JSON: {err}") from err
        return _labels_from_data(data, where)
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as err:
            raise ValueError(
                f"label file {where}: reading YAML needs PyYAML (pip install pyyaml); "
                "or use a .json or .txt label file"
            ) from err
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"label file {where} is not valid YAML: {err}") from err
        return _labels_from_data(data, where)
    if suffix == ".txt":
        labels = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, description = line.partition(":")
            if not name.strip():
                raise ValueError(f"{where}, line {number}: no label name before ':'")
            labels.append(Label(name.strip(), description.strip()))
        return labels
    raise ValueError(
        f"label file {where}: unsupported type {path.suffix or '(none)'!r}; "
        f"use {', '.join(_FILE_SUFFIXES)}"
    )


def load_labels(source: LabelSource = None) -> list[Label]:
    """Load a label set.

    Args:
        source: None for the default news taxonomy (IPTC Media Topics, top level); the name
            of a shipped taxonomy (see :func:`taxonomies`); a path to a ``.json`` file (a list
            of ``{"name", "description", "examples"}`` objects or of names, a
            ``{name: description}`` mapping, or either wrapped as ``{"attribution": ...,
            "labels": ...}``), a ``.txt`` file (one label a line, optionally
            ``name: description``; blank lines and ``#`` comments are skipped) or a
            ``.yaml``/``.yml`` file (as JSON; needs PyYAML); a comma-separated string such
            as ``"sport,politics"``; a ``{name: description}`` mapping; or a list of names,
            :class:`Label` objects and/or ``{"name", "description", "examples"}`` mappings.

    Returns:
        The labels, in the order given (names and descriptions stripped).

    Raises:
        ValueError: the source is missing, unreadable or malformed, a name is empty or
            repeated, or the set is empty; the message names the file and the reason.
    """
    if source is None:
        source = DEFAULT_TAXONOMY
    if isinstance(source, os.PathLike):
        where = str(source)
        labels = _read_label_file(Path(source).expanduser())
    elif isinstance(source, str):
        where = repr(source)
        shipped = TAXONOMY_DIR / f"{source.strip()}.json"
        path = Path(source).expanduser()
        if path.is_dir():
            raise ValueError(f"label source {path} is a folder, not a label file")
        if path.is_file() or source.lower().endswith(_FILE_SUFFIXES):
            where = str(path)
            labels = _read_label_file(path)
        elif re.fullmatch(r"[\w.-]+", source.strip()) and shipped.is_file():
            where = str(shipped)
            labels = _read_label_file(shipped)
        else:
            labels = [Label(part.strip()) for part in source.split(",") if part.strip()]
    elif isinstance(source, Mapping):
        where = "the label mapping"
        labels = _labels_from_data(source, where)
    elif isinstance(source, Iterable):
        where = "the label list"
        labels = [_label_from(item, where) for item in source]
    else:
        raise ValueError(f"cannot read labels from {type(source).__name__} {source!r}")
    if not labels:
        raise ValueError(f"{where}: the label set is empty")
    seen: set[str] = set()
    for label in labels:
        key = label.name.casefold()
        if key in seen:
            raise ValueError(f"{where}: label {label.name!r} appears more than once")
        seen.add(key)
    return labels


def labels_sha256(labels: Sequence[Label]) -> str:
    """sha256 of a label set: names, descriptions and examples, in order (provenance)."""
    canonical = json.dumps([asdict(label) for label in labels], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Chunking

# A sentence ends at . ! ? or an ellipsis (optionally followed by closing quotes/brackets) and
# whitespace, or at a line break.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*\s+|\n\s*")


def _cuts(text: str, offsets: Sequence[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Split a tokenised text into token ranges of at most ``limit`` tokens.

    A range ends at a sentence end when one falls in its second half, else at a word start,
    else exactly at ``limit`` tokens.
    """
    n = len(offsets)
    if n <= limit:
        return [(0, n)]
    # A sentence starts at the first token that ends after the sentence break (byte-level
    # BPE offsets may include the leading space, WordPiece offsets do not).
    ends = [end for _, end in offsets]
    sentence_starts = sorted(
        {bisect.bisect_right(ends, m.end()) for m in _SENTENCE_END.finditer(text)} - {0, n}
    )
    word_starts = [
        i
        for i in range(1, n)
        if text[offsets[i][0] : offsets[i][0] + 1].isspace() or text[offsets[i][0] - 1].isspace()
    ]
    ranges = []
    begin = 0
    while n - begin > limit:
        end = begin + limit
        cut = None
        k = bisect.bisect_right(sentence_starts, end) - 1
        if k >= 0 and sentence_starts[k] > begin + limit // 2:
            cut = sentence_starts[k]
        else:
            k = bisect.bisect_right(word_starts, end) - 1
            if k >= 0 and word_starts[k] > begin:
                cut = word_starts[k]
        cut = cut or end
        ranges.append((begin, cut))
        begin = cut
    ranges.append((begin, n))
    return ranges


def _chunk(texts: Sequence[str], tokenizer: Any, limit: int) -> list[list[tuple[str, int]]]:
    """Split each text into chunks of at most ``limit`` tokens (without special tokens).

    Returns:
        For each text, its chunks as (chunk text, token count); an empty list for a text
        that is empty or only whitespace.
    """
    out: list[list[tuple[str, int]]] = [[] for _ in texts]
    todo = [i for i, text in enumerate(texts) if text.strip()]
    if not todo:
        return out
    try:
        enc = tokenizer(
            [texts[i] for i in todo],
            add_special_tokens=False,
            return_offsets_mapping=True,
            verbose=False,
        )
        all_offsets = enc["offset_mapping"]
    except (NotImplementedError, TypeError, ValueError):  # a tokenizer without offsets
        all_offsets = None
    for j, i in enumerate(todo):
        text = texts[i]
        if all_offsets is None:
            # Word windows; a word is about 1.5 tokens, so half the limit in words is safe.
            words = list(re.finditer(r"\S+", text))
            step = max(1, limit // 2)
            for w in range(0, len(words), step):
                group = words[w : w + step]
                out[i].append((text[group[0].start() : group[-1].end()], len(group)))
            continue
        offsets = [tuple(o) for o in all_offsets[j]]
        if not offsets:
            out[i] = [(text, 1)]
            continue
        for begin, end in _cuts(text, offsets, limit):
            if begin == 0 and end == len(offsets):
                out[i].append((text, end))
            else:
                out[i].append((text[offsets[begin][0] : offsets[end - 1][1]], end - begin))
    return out


def _batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# --------------------------------------------------------------------------------------------
# Backends


class _Backend(Protocol):
    """What a backend does: score every label for each text, in [0, 1]."""

    template_sha256: str | None
    dtype: str

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Scores of shape (len(texts), len(labels)); a row of zeros for an empty text."""
        ...


class _EmbeddingBackend:
    """Cosine similarity between sentence-transformers embeddings of labels and articles."""

    template_sha256 = None

    def __init__(
        self,
        labels: Sequence[Label],
        model: str,
        options: TagOptions,
        prompts: Prompts,
        device: str,
        cache: Any,
    ) -> None:
        self.model = load_embedder(model, device, cache)
        import torch

        self.dtype = pick_dtype(device, options.precision)
        self.model.to(getattr(torch, self.dtype))
        self.options = options
        self.tokenizer = self.model.tokenizer
        specials = self.tokenizer.num_special_tokens_to_add(pair=False)
        self.limit = int(self.model.max_seq_length or 256) - specials
        if options.chunk_tokens is not None:
            self.limit = min(self.limit, options.chunk_tokens)
        self.label_vectors = self._embed_labels(labels)

    @staticmethod
    def label_texts(label: Label) -> list[str]:
        """The texts a label's embedding averages: "name: description" (the bare name when
        there is no description) and each example phrase. A bare name of a word or two
        embeds poorly as a topic: averaging it in cost 3.5 macro-F1 on BBC dev articles."""
        texts = [f"{label.name}: {label.description}" if label.description else label.name]
        texts.extend(label.examples)
        return texts

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode(
            list(texts),
            batch_size=self.options.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)

    def _embed_labels(self, labels: Sequence[Label]) -> np.ndarray:
        """One unit vector per label: the normalised mean of its texts' embeddings."""
        groups = [self.label_texts(label) for label in labels]
        vectors = self._encode([t for group in groups for t in group])
        out = np.empty((len(labels), vectors.shape[1]), dtype=np.float32)
        start = 0
        for i, group in enumerate(groups):
            mean = vectors[start : start + len(group)].mean(axis=0)
            out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
            start += len(group)
        return out

    def score(self, texts: Sequence[str]) -> np.ndarray:
        chunks = _chunk(texts, self.tokenizer, self.limit)
        flat = [c for per_text in chunks for c, _ in per_text]
        vectors = self._encode(flat) if flat else np.zeros((0, self.label_vectors.shape[1]))
        sims = vectors @ self.label_vectors.T  # (chunks, labels)
        opts = self.options
        use_max = opts.multi_label and opts.aggregate == "max"
        out = np.zeros((len(texts), len(self.label_vectors)), dtype=np.float64)
        start = 0
        for i, per_text in enumerate(chunks):
            count = len(per_text)
            if not count:
                continue
            weights = np.array([n for _, n in per_text], dtype=np.float64)
            if use_max:
                cos = sims[start : start + count].max(axis=0)
            else:  # cosine to the length-weighted mean of the normalised chunk embeddings
                mean = (weights[:, None] * vectors[start : start + count]).sum(axis=0)
                mean /= max(float(np.linalg.norm(mean)), 1e-12)
                cos = mean @ self.label_vectors.T
            start += count
            if opts.multi_label:
                out[i] = _sigmoid((cos - opts.center) / opts.scale)
            else:
                out[i] = _softmax(cos / opts.temperature)
        return out


def _check_nli(config: Any, model: str) -> None:
    """Raise ModelUnavailable unless ``config`` is an NLI classifier (see ``model_kind``)."""
    try:
        kind: str = model_kind(config)
    except ModelUnavailable:  # neither generator nor NLI; name what it is
        archs = getattr(config, "architectures", None) or []
        kind = f"{getattr(config, 'model_type', 'unknown')} ({', '.join(archs) or 'no head'})"
    if kind == "nli":
        return
    raise ModelUnavailable(
        f"model {model!r} is a {kind} model, not an NLI classifier: the nli backend needs a "
        "sequence classifier with an 'entailment' label (e.g. bart-large-mnli); or use "
        "backend='embedding'"
    )


class _NLIBackend:
    """Entailment of per-label hypotheses by a zero-shot-classification pipeline."""

    def __init__(
        self,
        labels: Sequence[Label],
        model: str,
        options: TagOptions,
        prompts: Prompts,
        device: str,
        cache: Any,
    ) -> None:
        from transformers import AutoConfig, pipeline

        resolved = resolve(model, cache)
        try:
            config = AutoConfig.from_pretrained(resolved, trust_remote_code=False)
        except (OSError, ValueError) as err:
            raise ModelUnavailable(
                f"cannot load NLI model {model!r} ({resolved}): "
                f"{str(err).splitlines()[0] if str(err) else type(err).__name__}. Pass a "
                "local NLI model folder, or make the hub reachable."
            ) from err
        _check_nli(config, model)
        self.options = options
        self.hypotheses = [
            prompts.render(HYPOTHESIS_TEMPLATE, label=label.name, description=label.description)
            for label in labels
        ]
        empty = [labels[i].name for i, h in enumerate(self.hypotheses) if not h.strip()]
        if empty:
            raise ValueError(f"{HYPOTHESIS_TEMPLATE} rendered an empty hypothesis for {empty}")
        self.template_sha256 = prompts.sha256(HYPOTHESIS_TEMPLATE)
        # Distinct hypotheses in first-seen order; labels map onto them by index.
        self.unique = list(dict.fromkeys(self.hypotheses))
        self.index = [self.unique.index(h) for h in self.hypotheses]
        self.pipeline: Any = pipeline(
            "zero-shot-classification",
            model=resolved,
            device=device,
            trust_remote_code=False,
            model_kwargs={"use_safetensors": True},  # never unpickle weight files
        )
        import torch

        self.dtype = pick_dtype(device, options.precision)
        self.pipeline.model.to(getattr(torch, self.dtype))
        tok: Any = self.pipeline.tokenizer
        limits = [
            v
            for v in (
                getattr(tok, "model_max_length", None),
                getattr(config, "max_position_embeddings", None),
            )
            if isinstance(v, int) and 0 < v < 100_000
        ]
        longest = max(len(tok(h, add_special_tokens=False)["input_ids"]) for h in self.unique)
        self.limit = min(limits or [512]) - tok.num_special_tokens_to_add(pair=True) - longest
        if options.chunk_tokens is not None:
            self.limit = min(self.limit, options.chunk_tokens)
        if self.limit < 8:
            raise ValueError(
                f"the hypotheses are too long for {model!r}: {longest} tokens leave "
                f"{self.limit} for the article"
            )

    def score(self, texts: Sequence[str]) -> np.ndarray:
        chunks = _chunk(texts, self.pipeline.tokenizer, self.limit)
        tokenizer = self.pipeline.tokenizer
        flat = [defuse_special_tokens(c, tokenizer) for per_text in chunks for c, _ in per_text]
        opts = self.options
        out = np.zeros((len(texts), len(self.index)), dtype=np.float64)
        if not flat:
            return out
        results = self.pipeline(
            flat,
            candidate_labels=self.unique,
            hypothesis_template="{}",
            multi_label=opts.multi_label,
            batch_size=opts.batch_size,
        )
        if isinstance(results, dict):
            results = [results]
        per_chunk = np.zeros((len(flat), len(self.unique)), dtype=np.float64)
        position = {h: j for j, h in enumerate(self.unique)}
        for row, result in enumerate(results):
            for hypothesis, value in zip(result["labels"], result["scores"], strict=True):
                per_chunk[row, position[hypothesis]] = value
        use_max = opts.multi_label and (opts.aggregate or "max") == "max"
        start = 0
        for i, per_text in enumerate(chunks):
            count = len(per_text)
            if not count:
                continue
            block = per_chunk[start : start + count]
            start += count
            if use_max:
                agg = block.max(axis=0)
            else:
                weights = np.array([n for _, n in per_text], dtype=np.float64)
                agg = weights @ block / weights.sum()
            scores = agg[self.index]
            if not opts.multi_label:  # duplicate hypotheses share their probability
                scores = scores / max(float(scores.sum()), 1e-12)
            out[i] = scores
        return out


#: Spellings of the answers: those that are one token count; when none is, for a small
#: vocabulary, the first token of each does.
_YES = ("yes", "Yes", "YES", " yes", " Yes")
_NO = ("no", "No", "NO", " no", " No")

#: The content-free article the llm backend's contextual calibration asks about.
_CONTENT_FREE = "N/A"


def _answer_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Token ids of "yes" and "no": the spellings that are a single token; else each
    spelling's first token (a token starting both, such as a bare space, counts for
    neither)."""
    encoded = {w: tokenizer(w, add_special_tokens=False)["input_ids"] for w in (*_YES, *_NO)}

    def ids(words: Sequence[str], single: bool) -> set[int]:
        return {
            int(encoded[w][0]) for w in words if encoded[w] and (len(encoded[w]) == 1 or not single)
        }

    yes, no = ids(_YES, True), ids(_NO, True)
    if not yes or not no:
        yes, no = ids(_YES, False), ids(_NO, False)
    return sorted(yes - no), sorted(no - yes)


def _takes_positions(model: Any) -> bool:
    """Whether ``model.forward`` projects only given positions per sample onto the vocabulary
    (a ``logits_to_keep`` handled by transformers' ``slice_logits_to_keep``)."""
    import inspect
    import sys

    if "logits_to_keep" not in inspect.signature(model.forward).parameters:
        return False
    source = sys.modules.get(type(model).__module__)
    return source is not None and hasattr(source, "slice_logits_to_keep")


class _LLMBackend:
    """An instruct model asked, per label, whether the article is about it; the label's
    log-odds are log P(yes) - log P(no) at the first answer token, each summed over the
    answer's spellings (see :func:`_answer_ids`). The prompt part before the label is run
    once per chunk and its key/value cache is shared by all labels.
    """

    def __init__(
        self,
        labels: Sequence[Label],
        model: str,
        options: TagOptions,
        prompts: Prompts,
        device: str,
        cache: Any,
    ) -> None:
        import torch

        from .models import load_generator
        from .summarize import context_length

        self.model, self.tokenizer, kind, self.resolved = load_generator(model, device, cache)
        if kind != "causal":
            raise ModelUnavailable(
                f"model {model!r} is a {kind} model: the llm backend needs a causal chat model "
                "(e.g. smollm2-135m); or use backend='embedding'"
            )
        # "auto" is float32 here: bfloat16 cost 0.22 macro-F1 on BBC dev articles for
        # SmolLM2-135M's yes/no log-odds (README), unlike the embedding backend.
        self.dtype = "float32" if options.precision == "auto" else options.precision
        self.model.to(getattr(torch, self.dtype))
        self.options = options
        self.prompts = prompts
        self.system = prompts.render(LLM_SYSTEM_TEMPLATE)  # the same for every prompt
        self.labels = list(labels)
        self.template_sha256 = hashlib.sha256(
            (prompts.sha256(LLM_TEMPLATE) + prompts.sha256(LLM_SYSTEM_TEMPLATE)).encode()
        ).hexdigest()
        self.per_sample_logits = _takes_positions(self.model)
        self.yes, self.no = _answer_ids(self.tokenizer)
        if not self.yes or not self.no:
            raise ModelUnavailable(
                f"the tokenizer of {model!r} does not tell 'yes' from 'no' by their first "
                "token: the llm backend reads the answer from one token"
            )
        longest = max(
            len(self._prompt_ids("", label)) for label in self.labels
        )  # the prompt without an article
        context = context_length(self.model, self.tokenizer)
        self.limit = min(context - longest - 8, options.chunk_tokens or LLM_CHUNK_TOKENS)
        if self.limit < 8:
            raise ValueError(
                f"the {LLM_TEMPLATE} prompt ({longest} tokens) leaves no room for an article "
                f"in {model!r}'s {context}-token context"
            )
        self.bias = (
            self._log_odds(_CONTENT_FREE) if options.calibrate else np.zeros(len(self.labels))
        )

    def _prompt_ids(self, article: str, label: Label) -> list[int]:
        """The chat-formatted prompt asking about one label, as token ids."""
        user = self.prompts.render(
            LLM_TEMPLATE,
            article=defuse_special_tokens(article, self.tokenizer),
            label=label.name,
            description=label.description,
            examples=list(label.examples),
        )
        if not getattr(self.tokenizer, "chat_template", None):
            return list(self.tokenizer(user)["input_ids"])
        messages = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": user})
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        return list(ids)

    def _log_odds(self, article: str) -> np.ndarray:
        """log P(yes) - log P(no) for every label, for one article (or chunk)."""
        import torch

        prompts = [self._prompt_ids(article, label) for label in self.labels]
        shared = 0  # tokens every prompt starts with, leaving each at least one of its own
        shortest = min(len(p) for p in prompts)
        while shared < shortest - 1 and all(p[shared] == prompts[0][shared] for p in prompts):
            shared += 1
        dev = self.model.device
        tails = [p[shared:] for p in prompts]
        width = max(len(t) for t in tails)
        pad = self.tokenizer.pad_token_id
        pad = self.tokenizer.eos_token_id if pad is None else pad
        ids = torch.full((len(tails), width), int(pad or 0), dtype=torch.long)
        mask = torch.zeros((len(tails), shared + width), dtype=torch.long)
        mask[:, :shared] = 1
        for i, tail in enumerate(tails):
            ids[i, : len(tail)] = torch.tensor(tail)
            mask[i, shared : shared + len(tail)] = 1
        last = torch.tensor([len(t) - 1 for t in tails], device=dev)
        # Project only each prompt's last position onto the vocabulary, where the model takes
        # per-sample positions (transformers' slice_logits_to_keep); else all positions.
        keep = {"logits_to_keep": last[:, None]} if self.per_sample_logits else {}
        with torch.inference_mode():
            past = None
            if shared:
                head = torch.tensor([prompts[0][:shared]], device=dev)
                past = self.model(input_ids=head, use_cache=True).past_key_values
                past.batch_repeat_interleave(len(tails))
            logits = self.model(
                input_ids=ids.to(dev),
                attention_mask=mask.to(dev),
                past_key_values=past,
                use_cache=past is not None,
                **keep,
            ).logits
        if keep:
            rows = logits[:, 0].float()
        else:
            rows = logits[torch.arange(len(tails), device=dev), last].float()
        logp = torch.log_softmax(rows, dim=-1)
        yes = torch.logsumexp(logp[:, self.yes], dim=-1)
        no = torch.logsumexp(logp[:, self.no], dim=-1)
        return (yes - no).cpu().numpy().astype(np.float64)

    def score(self, texts: Sequence[str]) -> np.ndarray:
        chunks = _chunk(texts, self.tokenizer, self.limit)
        opts = self.options
        use_max = opts.multi_label and (opts.aggregate or "max") == "max"
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        for i, per_text in enumerate(chunks):
            if not per_text:
                continue
            block = np.stack([self._log_odds(c) for c, _ in per_text]) - self.bias
            if use_max:
                agg = block.max(axis=0)
            else:
                weights = np.array([n for _, n in per_text], dtype=np.float64)
                agg = weights @ block / weights.sum()
            out[i] = _sigmoid(agg) if opts.multi_label else _softmax(agg)
        return out


def _members(spec: str) -> list[tuple[str, str]]:
    """``"embedding+llm:NAME"`` -> [("embedding", "minilm"), ("llm", "NAME")]."""
    out = []
    for part in spec.split("+"):
        backend, _, model = part.strip().partition(":")
        if backend not in _BACKEND_CLASSES or backend == "ensemble":
            raise ValueError(
                f"ensemble member {part.strip()!r}: a member is BACKEND[:MODEL] with BACKEND one "
                f"of {', '.join(b for b in BACKENDS if b != 'ensemble')}"
            )
        out.append((backend, model or DEFAULT_MODELS[backend]))
    if len(out) < 2:
        raise ValueError(f"an ensemble needs two members or more, got {spec!r}")
    return out


class _EnsembleBackend:
    """A weighted log-linear mix of member backends: multi-label, the weighted mean of the
    members' log-odds (then a sigmoid); single-label, of their log-probabilities (then a
    softmax)."""

    def __init__(
        self,
        labels: Sequence[Label],
        model: str,
        options: TagOptions,
        prompts: Prompts,
        device: str,
        cache: Any,
    ) -> None:
        members = _members(model)
        weights = {**ENSEMBLE_WEIGHTS, **(options.ensemble_weights or {})}
        raw = np.array([float(weights.get(b, 1.0)) for b, _ in members])
        if (raw < 0).any() or raw.sum() <= 0:
            raise ValueError(f"ensemble weights must be >= 0 and not all 0, got {weights}")
        self.weights = raw / raw.sum()
        self.n_labels = len(labels)
        self.options = options
        self.members: list[_Backend] = [
            _BACKEND_CLASSES[b](labels, m, options, prompts, device, cache) for b, m in members
        ]
        self.names = [f"{b}:{m}" for b, m in members]
        shas = [m.template_sha256 or "" for m in self.members]
        self.template_sha256 = hashlib.sha256("".join(shas).encode()).hexdigest()
        self.dtype = "+".join(m.dtype for m in self.members)

    def score(self, texts: Sequence[str]) -> np.ndarray:
        eps = 1e-9
        mixed = np.zeros((len(texts), self.n_labels))
        for weight, member in zip(self.weights, self.members, strict=True):
            p = np.clip(member.score(texts), eps, 1 - eps)
            part = np.log(p) - np.log1p(-p) if self.options.multi_label else np.log(p)
            mixed = mixed + weight * part
        out = _sigmoid(mixed) if self.options.multi_label else _softmax(mixed)
        out[[not t.strip() for t in texts]] = 0.0
        return out


_BACKEND_CLASSES: dict[str, type] = {
    "embedding": _EmbeddingBackend,
    "nli": _NLIBackend,
    "llm": _LLMBackend,
    "ensemble": _EnsembleBackend,
}


# --------------------------------------------------------------------------------------------
# Tagger


class Tagger:
    """Zero-shot topic tagger: scores each label of a label set for news articles.

    Args:
        labels: the label set, anything :func:`load_labels` takes (None: the default
            IPTC top-level news taxonomy).
        backend: "embedding" (default), "nli" or "llm".
        model: preset, local folder or hub id; None: ``minilm`` (embedding),
            ``bart-large-mnli`` (nli, needs the hub) or ``smollm2-135m`` (llm).
        options: scoring and selection options (see :class:`TagOptions`).
        prompts: templates (nli: ``nli_hypothesis.j2``; llm: ``tag_llm.j2`` and
            ``tag_llm_system.j2``); None: the built-in ones.
        device: torch device; None: auto-detected.
        cache: cache folder for registry presets.

    Attributes:
        backend: the backend name.
        model_name: the model as asked for (or the backend's default).
        labels: the label set.
        labels_sha256: hash of the label set, descriptions and examples included.
        template_sha256: nli: sha256 of the hypothesis template; llm: of its two templates;
            else None.
        dtype: the dtype the model runs in (see ``TagOptions.precision``).
        threshold: the threshold in effect.

    Raises:
        ValueError: unknown backend or bad labels.
        ModelUnavailable: the model cannot be loaded or is the wrong kind.
    """

    def __init__(
        self,
        labels: LabelSource = None,
        backend: str = "embedding",
        model: str | None = None,
        *,
        options: TagOptions | None = None,
        prompts: Prompts | None = None,
        device: str | None = None,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        if backend not in _BACKEND_CLASSES:
            raise ValueError(
                f"unknown tagging backend {backend!r}; choose one of: {', '.join(BACKENDS)}"
            )
        self.backend = backend
        self.model_name = model or DEFAULT_MODELS[backend]
        self.labels = load_labels(labels)
        self.labels_sha256 = labels_sha256(self.labels)
        self.options = options or TagOptions()
        self.device = pick_device(device)
        self.scorer: _Backend = _BACKEND_CLASSES[backend](
            self.labels, self.model_name, self.options, prompts or Prompts(), self.device, cache
        )
        self.template_sha256: str | None = self.scorer.template_sha256
        self.dtype: str = self.scorer.dtype

    @property
    def threshold(self) -> float:
        """The threshold in effect (see :attr:`TagOptions.cutoff`)."""
        return self.options.cutoff

    @overload
    def __call__(self, text: str) -> Tagging: ...

    @overload
    def __call__(self, text: list[str]) -> list[Tagging]: ...

    def __call__(self, text: str | list[str]) -> Tagging | list[Tagging]:
        """Tag one article or a list of articles.

        Args:
            text: an article, or a list of articles (scored in batches).

        Returns:
            A :class:`Tagging` for a string; a list of them, in order, for a list. An empty
            article scores 0 for every label and has no topics.
        """
        if isinstance(text, str):
            return self([text])[0]
        texts = list(text)
        for i, item in enumerate(texts):
            if not isinstance(item, str):
                raise TypeError(f"article {i} is {type(item).__name__}, not str")
        results: list[Tagging] = []
        for batch in _batches(texts, self.options.batch_size):
            scores = self.scorer.score(batch)
            for row, article in zip(scores, batch, strict=True):
                results.append(self._select(row, bool(article.strip())))
        return results

    def _select(self, row: np.ndarray, nonempty: bool) -> Tagging:
        """Sort a row of label scores and choose the topics."""
        opts = self.options
        order = sorted(range(len(row)), key=lambda j: (-row[j], j))
        scores = [TopicScore(self.labels[j].name, float(min(1.0, max(0.0, row[j])))) for j in order]
        k = opts.top_k if opts.multi_label else 1
        topics = [s for s in scores[:k] if s.score >= self.threshold]
        if not topics and opts.at_least_one and nonempty:
            topics = scores[:1]
        return Tagging(scores=scores, topics=topics)

    def __repr__(self) -> str:
        return (
            f"Tagger(backend={self.backend!r}, model={self.model_name!r}, "
            f"labels={len(self.labels)}, threshold={self.threshold})"
        )
