"""Evaluate: run a suite's systems (models and baselines) and score them against references.

A *system* is anything that produces an output per example: a baseline computed in the same
run (lead-1, lead-3, random-sentence; majority-class), a model (a summariser preset, folder or
hub id; a tagger ``BACKEND[:MODEL]``), or predictions made elsewhere. Every system is scored
on the same examples with the suite's metrics; each mean comes with a bootstrap 95% interval.
Generated outputs are cached by everything that determines them, so re-scoring never
regenerates.
"""

from __future__ import annotations

import hashlib
import json
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, metrics
from .prompts import Prompts
from .settings import cache_dir
from .suites import Suite

if TYPE_CHECKING:
    from .summarize import SummaryOptions
from .text import split_sentences

__all__ = [
    "EvalOptions",
    "SUMMARY_BASELINES",
    "compare_reports",
    "evaluate_suite",
    "score_predictions",
]

PACKAGES = ["torch", "transformers", "sentence-transformers", "datasets", "rouge-score",
            "bert-score", "scikit-learn", "trafilatura", "jinja2"]  # fmt: skip


@dataclass
class EvalOptions:
    """How to run an evaluation.

    Attributes:
        models: summary suites: summariser presets, folders or hub ids; topic suites: tagger
            specs ``BACKEND[:MODEL]`` (e.g. ``embedding``, ``nli:facebook/bart-large-mnli``).
            None: the default model of the task; an empty list: baselines only.
        split: the split to evaluate (default: the suite's).
        limit: evaluate the first N examples (in id order) only.
        baselines: compute the suite's baselines in the same run.
        bootstrap: resamples for the confidence intervals.
        seed: seed of the bootstrap and of the random baseline.
        prompts: a folder of template overrides.
        device: torch device (default: auto).
        cache: cache folder (models, data, generations).
        progress: show progress bars.
        generation: summariser settings over the suite's ``[generation]`` (fields of
            :class:`toolkit.summarize.SummaryOptions`), e.g. ``{"num_beams": 4}``.
    """

    models: list[str] | None = None
    split: str | None = None
    limit: int | None = None
    baselines: bool = True
    bootstrap: int = 1000
    seed: int = 0
    prompts: str | None = None
    device: str | None = None
    cache: str | None = None
    progress: bool = True
    generation: dict[str, Any] = field(default_factory=dict)


# -- baselines -------------------------------------------------------------------------------
def lead(text: str, k: int) -> str:
    """The first ``k`` sentences of ``text``."""
    return " ".join(split_sentences(" ".join(text.split()))[:k])


def random_sentence(text: str, key: str, seed: int) -> str:
    """One sentence of ``text`` chosen at random, reproducibly for a given key and seed."""
    sentences = split_sentences(" ".join(text.split()))
    if not sentences:
        return ""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return random.Random(digest).choice(sentences)


SUMMARY_BASELINES: dict[str, Callable[[dict[str, Any], int], str]] = {
    "lead-1": lambda row, seed: lead(row["text"], 1),
    "lead-3": lambda row, seed: lead(row["text"], 3),
    "random-sentence": lambda row, seed: random_sentence(row["text"], row["id"], seed),
}


# -- helpers -----------------------------------------------------------------------------------
def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _environment() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "toolkit": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
    }


def _bar(items: Sequence[Any], desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="ex", disable=not enabled, leave=False)


class GenerationCache:
    """Outputs keyed by everything that determines them, one JSON-lines file per system key."""

    def __init__(self, root: Path, system_key: str) -> None:
        self.path = root / "generations" / f"{system_key}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: dict[str, str] = {}
        self.info: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                    self.done[rec["key"]] = rec["output"]
                    self.info[rec["key"]] = rec.get("info") or {}
                except (json.JSONDecodeError, KeyError):
                    continue  # a torn last line from an interrupted run

    def get(self, key: str) -> str | None:
        return self.done.get(key)

    def put(self, key: str, output: str, info: dict[str, Any] | None = None) -> None:
        self.done[key] = output
        self.info[key] = info or {}
        rec = {"key": key, "output": output, "info": info or {}}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


# -- scoring ---------------------------------------------------------------------------------
def score_summaries(
    predictions: Sequence[str],
    rows: Sequence[dict[str, Any]],
    names: Sequence[str],
    cache: str | None = None,
) -> list[dict[str, float | None]]:
    """Per-example scores of summaries against ``rows`` (``reference``, and ``text`` when known)."""
    refs = [r["reference"] for r in rows]
    out: list[dict[str, float | None]] = [{} for _ in rows]
    if "rouge" in names:
        for o, s in zip(out, metrics.rouge(predictions, refs), strict=True):
            o.update(s)
    if "bertscore" in names:
        for o, s in zip(out, metrics.bertscore(predictions, refs, cache=cache), strict=True):
            o.update(s)
    for o, pred, row in zip(out, predictions, rows, strict=True):
        source = row.get("text")
        if "length" in names and source:
            o.update(metrics.length_stats(pred, source))
        if "novel_ngrams" in names and source:
            o["novel_1grams"] = metrics.novel_ngrams(pred, source, 1)
            o["novel_2grams"] = metrics.novel_ngrams(pred, source, 2)
        if "hallucination" in names and source:
            h = metrics.hallucination(pred, source)
            o["hallucination_rate"] = h["rate"]
            o["entities"] = h["entities"]
            o["unsupported_entities"] = h["unsupported"]
    return out


def _aggregate_summary(
    examples: list[dict[str, Any]], options: EvalOptions
) -> dict[str, dict[str, float]]:
    keys = sorted({k for e in examples for k, v in e["scores"].items() if v is not None})
    agg: dict[str, dict[str, float]] = {}
    for key in keys:
        values = [e["scores"][key] for e in examples if e["scores"].get(key) is not None]
        if key in ("entities", "unsupported_entities") or not values:
            continue
        mean, low, high = metrics.bootstrap_ci(values, n=options.bootstrap, seed=options.seed)
        agg[key] = {"mean": mean, "low": low, "high": high, "n": len(values)}
    # corpus-level hallucination: unsupported entities over all entities
    ents = [e["scores"].get("entities") for e in examples]
    if any(v is not None for v in ents):
        total = [int(e["scores"].get("entities") or 0) for e in examples]
        bad = [int(e["scores"].get("unsupported_entities") or 0) for e in examples]

        def micro(idx: Any) -> float:
            t = sum(total[i] for i in idx)
            return sum(bad[i] for i in idx) / t if t else 0.0

        value, low, high = metrics.bootstrap_stat(
            micro, len(examples), n=options.bootstrap, seed=options.seed
        )
        agg["hallucination_micro"] = {"mean": value, "low": low, "high": high, "n": sum(total)}
    return agg


def _aggregate_topics(
    examples: list[dict[str, Any]], labels: list[str], options: EvalOptions
) -> dict[str, Any]:
    gold = [e["reference"] for e in examples]
    pred = [e["prediction"] for e in examples]
    report = metrics.classification_report(gold, pred, labels)

    def stat(name: str) -> Callable[[Any], float]:
        return lambda idx: float(
            metrics.classification_report([gold[i] for i in idx], [pred[i] for i in idx], labels)[
                name
            ]
        )

    agg: dict[str, Any] = {}
    for name in ("accuracy", "macro_f1"):
        value, low, high = metrics.bootstrap_stat(
            stat(name), len(examples), n=min(options.bootstrap, 500), seed=options.seed
        )
        agg[name] = {"mean": value, "low": low, "high": high, "n": len(examples)}
    agg["per_label"] = report["per_label"]
    agg["confusion"] = report["confusion"]
    return agg


# -- systems -----------------------------------------------------------------------------------
def summary_options(suite: Suite, options: EvalOptions) -> SummaryOptions:
    """The suite's ``[generation]`` settings with ``options.generation`` on top."""
    from .summarize import SummaryOptions

    merged = {**suite.generation, **options.generation}
    try:
        return SummaryOptions(**merged)
    except TypeError as err:
        known = ", ".join(f.name for f in fields(SummaryOptions))
        raise ValueError(f"unknown generation setting ({err}); known: {known}") from None


def _summary_system(
    name: str, rows: list[dict[str, Any]], suite: Suite, options: EvalOptions, root: Path
) -> dict[str, Any]:
    from .summarize import Summarizer

    summarizer = Summarizer(
        name,
        options=summary_options(suite, options),
        prompts=Prompts(options.prompts),
        device=options.device,
        cache=options.cache,
    )
    from . import extract, faithful, summarize
    from .models import fingerprint

    settings: dict[str, Any] = {
        "model": name,
        "resolved": summarizer.resolved,
        "model_sha256": fingerprint(summarizer.resolved),
        # the summariser's own code: a change to chunking, tidying or the faithfulness guards
        # must not reuse old outputs
        "code_sha256": hashlib.sha256(
            b"".join(Path(str(m.__file__)).read_bytes() for m in (summarize, faithful, extract))
        ).hexdigest(),
        "kind": summarizer.kind,
        "template": summarizer.template,
        "template_sha256": summarizer.template_sha256,
        "options": asdict(summarizer.options),
    }
    key = _sha(settings)[:16]
    gen = GenerationCache(root, f"summary-{key}")
    outputs, seconds, guards, methods = [], [], [], []
    keys = [_sha([row["id"], row["text"], row.get("title")]) for row in rows]
    todo = [i for i, ckey in enumerate(keys) if gen.get(ckey) is None]
    # what is not cached is summarised in batches, as a folder run does
    step = 2 * getattr(summarizer.options, "batch_size", 1)
    bar = _bar(range(len(todo)), name, options.progress)
    for start in range(0, len(todo), step):
        chunk = todo[start : start + step]
        t = time.perf_counter()
        made = summarizer.summarise_many(
            [rows[i]["text"] for i in chunk], [rows[i].get("title") for i in chunk]
        )
        seconds.extend([(time.perf_counter() - t) / len(chunk)] * len(chunk))
        for i, summary in zip(chunk, made, strict=True):
            gen.put(keys[i], summary.text, {"guard": summary.guard, "method": summary.method})
        bar.update(len(chunk))
    bar.close()
    for ckey in keys:
        outputs.append(gen.get(ckey))
        guards.append(gen.info.get(ckey, {}).get("guard"))
        methods.append(gen.info.get(ckey, {}).get("method"))
    settings["generated"] = len(seconds)
    settings["seconds_per_example"] = sum(seconds) / len(seconds) if seconds else None
    # how often the guard passed the model's summary, repaired it, regenerated it, or put the
    # extractive summary in its place; and how long articles were handled
    settings["guard"] = dict(Counter(str(g) for g in guards))
    settings["method"] = dict(Counter(str(m) for m in methods))
    return {"kind": "model", "settings": settings, "outputs": outputs}


def _topic_system(
    spec: str, rows: list[dict[str, Any]], suite: Suite, options: EvalOptions
) -> dict[str, Any]:
    from .tag import Label, Tagger

    backend, _, model = spec.partition(":")
    labels = [Label(n, d or "") for n, d in (suite.labels or {}).items()]
    tagger = Tagger(
        labels,
        backend=backend,
        model=model or None,
        prompts=Prompts(options.prompts),
        device=options.device,
        cache=options.cache,
    )
    t = time.perf_counter()
    taggings = tagger([r["text"] for r in rows])
    seconds = time.perf_counter() - t
    from .models import fingerprint, resolve

    settings = {
        "backend": tagger.backend,
        "model": tagger.model_name,
        "model_sha256": fingerprint(resolve(tagger.model_name, options.cache)),
        "labels_sha256": tagger.labels_sha256,
        "template_sha256": tagger.template_sha256,
        "dtype": tagger.dtype,
        "seconds_per_example": seconds / max(len(rows), 1),
    }
    outputs = [t.scores[0].label if t.scores else "" for t in taggings]
    return {"kind": "model", "settings": settings, "outputs": outputs}


def _majority(suite: Suite, rows: list[dict[str, Any]], options: EvalOptions) -> tuple[str, str]:
    """The most frequent label of the train split (else of the evaluated rows)."""
    try:
        train = suite.load(split="train", cache=options.cache)
        labels = [r["label"] for r in train]
        where = "train split"
    except (ValueError, KeyError):
        labels, where = [r["label"] for r in rows], "evaluated rows (no train split)"
    if not labels:
        labels, where = [r["label"] for r in rows], "evaluated rows (no train split)"
    return Counter(labels).most_common(1)[0][0], where


def _examples(
    rows: list[dict[str, Any]], outputs: Sequence[str], scores: Sequence[dict] | None, task: str
) -> list[dict[str, Any]]:
    ref = "reference" if task == "summary" else "label"
    out = []
    for i, (row, pred) in enumerate(zip(rows, outputs, strict=True)):
        ex: dict[str, Any] = {"id": row["id"], "prediction": pred, "reference": row[ref]}
        if scores is not None:
            ex["scores"] = scores[i]
        else:
            ex["scores"] = {"correct": float(pred == row[ref])}
        out.append(ex)
    return out


def evaluate_suite(suite: Suite, options: EvalOptions | None = None) -> dict[str, Any]:
    """Run and score every system of a suite; return the report (a JSON-able dict).

    Args:
        suite: the loaded suite.
        options: models, split, limit, bootstrap settings, ...

    Returns:
        ``{"suite", "dataset", "systems": {name: {"kind", "settings", "aggregate",
        "examples"}}, "environment", "created"}``.
    """
    from .data import dataset_sha256

    opts = options or EvalOptions()
    split = opts.split or suite.split
    ds = suite.load(split=split, limit=opts.limit, cache=opts.cache)
    rows = [dict(r) for r in ds]
    if not rows:
        raise ValueError(f"suite {suite.name!r}: split {split!r} has no rows")
    root = cache_dir(opts.cache)
    systems: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()

    if suite.task == "summary":
        raw: dict[str, dict[str, Any]] = {}
        if opts.baselines:
            for name in suite.baselines:
                fn = SUMMARY_BASELINES[name]
                raw[name] = {
                    "kind": "baseline",
                    "settings": {},
                    "outputs": [fn(r, opts.seed) for r in rows],
                }
        for name in ["smollm2-135m"] if opts.models is None else opts.models:
            raw[name] = _summary_system(name, rows, suite, opts, root)
        for name, system in raw.items():
            scores = score_summaries(system["outputs"], rows, suite.metrics, opts.cache)
            examples = _examples(rows, system["outputs"], scores, "summary")
            systems[name] = {
                "kind": system["kind"],
                "settings": system["settings"],
                "aggregate": _aggregate_summary(examples, opts),
                "examples": examples,
            }
    elif suite.task == "topics":
        labels = list(suite.labels or {}) or sorted({r["label"] for r in rows})
        raw = {}
        if opts.baselines and "majority" in suite.baselines:
            label, where = _majority(suite, rows, opts)
            raw["majority"] = {
                "kind": "baseline",
                "settings": {"label": label, "from": where},
                "outputs": [label] * len(rows),
            }
        for spec in ["embedding"] if opts.models is None else opts.models:
            raw[spec] = _topic_system(spec, rows, suite, opts)
        for name, system in raw.items():
            examples = _examples(rows, system["outputs"], None, "topics")
            systems[name] = {
                "kind": system["kind"],
                "settings": system["settings"],
                "aggregate": _aggregate_topics(examples, labels, opts),
                "examples": examples,
            }
    else:  # pragma: no cover - suites are validated on load
        raise ValueError(f"unknown task {suite.task!r}")

    return {
        "suite": {
            "name": suite.name,
            "task": suite.task,
            "path": str(suite.path),
            "sha256": suite.sha256,
            "split": split,
            "limit": opts.limit,
        },
        "dataset": {"rows": len(rows), "sha256": dataset_sha256(ds)},
        "options": {k: v for k, v in asdict(opts).items() if k not in ("progress",)},
        "systems": systems,
        "environment": _environment(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def score_predictions(
    predictions: Path, references: Path, options: EvalOptions | None = None
) -> dict[str, Any]:
    """Score outputs made elsewhere: JSON lines of ``{id, prediction}`` against ``{id,
    reference | label, text?}``. With a ``text`` column the summary baselines run too."""
    opts = options or EvalOptions()

    def read(path: Path) -> dict[str, dict[str, Any]]:
        out = {}
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                out[str(obj["id"])] = obj
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{n}: not a JSON object with an id ({err})") from err
        return out

    preds, refs = read(predictions), read(references)
    ids = sorted(set(preds) & set(refs))
    if not ids:
        raise ValueError(f"no id is in both {predictions} and {references}")
    task = "topics" if "label" in refs[ids[0]] else "summary"
    rows = [{"id": i, **refs[i]} for i in ids]
    outputs = [str(preds[i].get("prediction", "")) for i in ids]
    systems: dict[str, dict[str, Any]] = {}
    if task == "summary":
        names = ["rouge", "bertscore", "length", "novel_ngrams", "hallucination"]
        candidates = {predictions.stem: ("predictions", outputs)}
        if opts.baselines and all(r.get("text") for r in rows):
            for name, fn in SUMMARY_BASELINES.items():
                candidates[name] = ("baseline", [fn(r, opts.seed) for r in rows])
        for name, (kind, outs) in candidates.items():
            examples = _examples(rows, outs, score_summaries(outs, rows, names, opts.cache), task)
            systems[name] = {
                "kind": kind,
                "settings": {},
                "aggregate": _aggregate_summary(examples, opts),
                "examples": examples,
            }
    else:
        labels = sorted({r["label"] for r in rows})
        examples = _examples(rows, outputs, None, task)
        systems[predictions.stem] = {
            "kind": "predictions",
            "settings": {},
            "aggregate": _aggregate_topics(examples, labels, opts),
            "examples": examples,
        }
    return {
        "suite": {"name": f"{predictions.name} vs {references.name}", "task": task, "split": None},
        "dataset": {"rows": len(ids), "sha256": _sha(rows)},
        "options": {k: v for k, v in asdict(opts).items() if k not in ("progress",)},
        "systems": systems,
        "environment": _environment(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def compare_reports(
    a: dict[str, Any],
    b: dict[str, Any],
    system_a: str | None = None,
    system_b: str | None = None,
    *,
    n: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Paired comparison of one system of report A with one of report B on their shared examples.

    Systems default to the first model of each report. Every per-example metric both have is
    compared with a paired bootstrap (B - A); topics compare per-example correctness.
    """

    def pick(report: dict[str, Any], name: str | None) -> str:
        if name:
            if name not in report["systems"]:
                raise ValueError(f"no system {name!r}; there are {', '.join(report['systems'])}")
            return name
        models = [k for k, v in report["systems"].items() if v["kind"] != "baseline"]
        return (models or list(report["systems"]))[0]

    sa, sb = pick(a, system_a), pick(b, system_b)
    ea = {e["id"]: e for e in a["systems"][sa]["examples"]}
    eb = {e["id"]: e for e in b["systems"][sb]["examples"]}
    ids = sorted(set(ea) & set(eb))
    if not ids:
        raise ValueError("the two reports share no example ids")
    keys = sorted(set(ea[ids[0]]["scores"]) & set(eb[ids[0]]["scores"]))
    rows = {}
    for key in keys:
        pairs = [(ea[i]["scores"].get(key), eb[i]["scores"].get(key)) for i in ids]
        pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
        if len(pairs) < 2 or key in ("entities", "unsupported_entities"):
            continue
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        result = metrics.paired_bootstrap(xs, ys, n=n, seed=seed)
        rows[key] = {"a": sum(xs) / len(xs), "b": sum(ys) / len(ys), **result, "n": len(pairs)}
    return {"a": {"report": a["suite"]["name"], "system": sa},
            "b": {"report": b["suite"]["name"], "system": sb},
            "examples": len(ids), "metrics": rows}  # fmt: skip
