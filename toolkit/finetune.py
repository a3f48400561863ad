"""Fine-tune: teach a summariser a house style from a few hundred article/summary pairs.

The data flows: pairs (an eval suite, or a JSON-lines/CSV file read through ``datasets``) →
the summariser's own prompt for each article (the same template, system message and chat
template that :class:`toolkit.summarize.Summarizer` uses) → training with the transformers
``Trainer`` (full, or LoRA through ``peft``), the loss on the summary tokens only, early
stopping on the validation loss → a run folder that loads wherever a model name does
(``--model RUN_DIR``) → an evaluation on the test split, untuned and tuned side by side.

A run folder holds the model (full weights, merged LoRA weights, or the LoRA adapter alone),
the tokenizer, ``finetune.json`` (settings, data sha256, base model and its fingerprint,
losses) and ``eval/`` (the before/after report). While training it also holds
``checkpoints/``; an interrupted run continues from the last one with ``resume=True``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .models import RUN_FILE, fingerprint
from .prompts import Prompts
from .settings import pick_device, pick_dtype
from .suites import Suite, SuiteError, list_suites, load_suite
from .summarize import Summarizer, SummaryOptions, split_into_chunks
from .write import atomic_write_text

__all__ = ["FinetuneOptions", "FinetuneResult", "PairCollator", "finetune", "load_pairs"]

IGNORE = -100  # label of a position that is not trained on (prompt and padding)
_CHECKPOINTS = "checkpoints"
_STARTED = "settings.json"  # in checkpoints/: what the interrupted run was started with
#: The attention projections LoRA adapts by default, by their usual names (Llama, Qwen,
#: Mistral, T5, BART); a model without them gets "all-linear".
_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj", "q", "k", "v", "o", "out_proj")


@dataclass
class FinetuneOptions:
    """How to fine-tune.

    Attributes:
        lora: train a LoRA adapter (peft) instead of all weights.
        merge: with ``lora``, save the merged weights instead of the adapter alone.
        epochs: passes over the training pairs (may be fractional).
        learning_rate: peak learning rate; None: 1e-3 with LoRA, 5e-5 for full fine-tuning.
        batch_size: pairs per optimizer step.
        micro_batch_size: pairs per forward pass (gradients are accumulated up to
            ``batch_size``); None: 1 on CPU (no padding to pay for), else ``batch_size``.
        max_source_tokens: article tokens per training prompt: the article is cut at a
            paragraph or sentence boundary (standfirsts summarise the opening; the cost of a
            step grows with the length).
        max_target_tokens: summary tokens trained on; None: the summariser's
            ``max_new_tokens``.
        limit: train on the first N training pairs only.
        validation_limit: the first N validation pairs only (each evaluation costs a pass
            over them).
        validation_fraction: a data file without a split column: the share held out for
            validation (by a hash of the id, so it is stable).
        test_fraction: the same, held out for the test evaluation.
        columns: a data file: harness column -> file column for ``id``, ``text``,
            ``reference``, ``title`` and ``split`` (default: the same names).
        eval_every: optimizer steps between validation passes (and checkpoints); None: three
            times an epoch.
        patience: stop after this many validation passes without a lower loss; the best
            checkpoint is the one saved.
        seed: seeds the LoRA initialisation, the data order and dropout.
        precision: "auto" (bfloat16 mixed precision where the hardware computes it
            natively, else float32), or a name from :data:`toolkit.settings.PRECISIONS`.
        warmup: share of the steps with a linear learning-rate warm-up.
        lora_r: LoRA rank.
        lora_alpha: LoRA scaling numerator.
        lora_dropout: dropout on the LoRA path.
        lora_targets: module names LoRA adapts; None: the attention projections.
        keep_checkpoints: keep ``checkpoints/`` after a finished run.
        evaluate: evaluate on the test split, untuned and tuned, when training ends.
        eval_limit: evaluate on the first N test examples only.
        progress: show progress bars.
    """

    lora: bool = False
    merge: bool = False
    epochs: float = 1.0
    learning_rate: float | None = None
    batch_size: int = 8
    micro_batch_size: int | None = None
    max_source_tokens: int = 256
    max_target_tokens: int | None = None
    limit: int | None = None
    validation_limit: int | None = 40
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    columns: dict[str, str] = field(default_factory=dict)
    eval_every: int | None = None
    patience: int = 3
    seed: int = 0
    precision: str = "auto"
    warmup: float = 0.06
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: list[str] | None = None
    keep_checkpoints: bool = False
    evaluate: bool = True
    eval_limit: int | None = None
    progress: bool = True


#: Options that do not change the trained weights: a resumed run may differ in these.
_NOT_IDENTITY = ("keep_checkpoints", "evaluate", "eval_limit", "progress")


@dataclass
class FinetuneResult:
    """What a fine-tuning run produced.

    Attributes:
        run_dir: the run folder (load it with ``--model RUN_DIR``).
        info: the contents of its ``finetune.json``.
        report: the before/after evaluation report, when one ran.
    """

    run_dir: Path
    info: dict[str, Any]
    report: dict[str, Any] | None = None


# -- data --------------------------------------------------------------------------------------
_SPLIT_NAMES = {"train": "train", "dev": "dev", "validation": "dev", "val": "dev", "test": "test"}


def _file_suite(path: Path, columns: dict[str, str], summary: SummaryOptions) -> Suite:
    """A suite over a user's data file, as read by the eval harness (column mapping, ids)."""
    from .data import _FORMATS
    from .suites import BASELINES, METRICS

    unknown = sorted(set(columns) - {"id", "text", "reference", "title", "split"})
    if unknown:
        raise ValueError(f"unknown column role(s) {', '.join(unknown)}; roles: id, text, "
                         "reference, title, split")  # fmt: skip
    return Suite(
        name=path.stem,
        task="summary",
        description=f"fine-tuning pairs from {path.name}",
        path=path,
        sha256="",
        source={"path": str(path), "format": _FORMATS.get(path.suffix.lower(), "json")},
        columns=dict(columns),
        split="train",
        gate_limit=20,
        generation={"words": summary.words, "max_new_tokens": summary.max_new_tokens},
        metrics=list(METRICS["summary"]),
        baselines=list(BASELINES["summary"]),
        labels=None,
    )


def _write_pairs_suite(
    path: Path, out: Path, options: FinetuneOptions, summary: SummaryOptions
) -> Suite:
    """Copy a data file's pairs, each with its split, into ``out`` with a suite file over them.

    The split comes from the file's split column (``train``, ``dev``/``validation``,
    ``test``) when it has one, else from a hash of the id. The suite evaluates the test
    split with the summary settings trained with, so ``toolkit eval out/suite.toml`` repeats
    the run's evaluation.
    """
    from .data import assign_split, load_file

    suite = _file_suite(path, options.columns, summary)
    split_col = options.columns.get("split", "split")
    present = load_file(path, suite.source["format"]).column_names
    parts: list[tuple[str, Any]] = []
    if split_col in present:
        values = sorted({str(v) for v in load_file(path, suite.source["format"])[split_col]})
        bad = [v for v in values if v not in _SPLIT_NAMES]
        if bad:
            raise ValueError(
                f"{path}: split column {split_col!r} has {', '.join(map(repr, bad))}; use "
                "train, dev (or validation) and test"
            )
        for value in values:
            parts.append((_SPLIT_NAMES[value], suite.load(split=value)))
    else:
        suite.columns.pop("split", None)
        for row in suite.load():
            part = assign_split(
                "finetune", row["id"], options.validation_fraction, options.test_fraction
            )
            parts.append((part, [row]))
    lines = []
    for name, rows in parts:
        for row in rows:
            lines.append(json.dumps({**dict(row), "split": name}, ensure_ascii=False))
    atomic_write_text(out / "pairs.jsonl", "\n".join(lines) + "\n")
    toml = (
        f"# Written by toolkit finetune from {path}: its pairs with their split.\n"
        f"name = {json.dumps(path.stem)}\n"
        'task = "summary"\n'
        f"description = {json.dumps(f'fine-tuning pairs from {path.name}')}\n\n"
        '[source]\npath = "pairs.jsonl"\n\n'
        '[columns]\nsplit = "split"\n\n'
        '[split]\nname = "test"\n\n'
        f"[generation]\nwords = {summary.words}\nmax_new_tokens = {summary.max_new_tokens}\n"
    )
    atomic_write_text(out / "suite.toml", toml)
    return load_suite(out / "suite.toml")


def load_pairs(
    data: str | os.PathLike[str],
    options: FinetuneOptions | None = None,
    summary: SummaryOptions | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> tuple[Suite, list[dict[str, str]], list[dict[str, str]]]:
    """The training and validation pairs, and the suite whose test split evaluates the run.

    Args:
        data: an eval suite (builtin name or ``.toml``: its train and dev splits), or a
            JSON-lines/JSON/CSV file of pairs.
        options: limits, column mapping and held-out shares.
        summary: the summary settings for a file's suite (a suite brings its own).
        work_dir: where a data file's pairs and suite are written (required for files).
        cache: cache folder for builtin datasets.

    Returns:
        (suite, train rows, validation rows); rows have ``id``, ``text``, ``reference`` and
        ``title`` when known.
    """
    opts = options or FinetuneOptions()
    text = os.fspath(data)
    if text in list_suites() or text.endswith(".toml"):
        suite = load_suite(text)
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"{text}: not a data file, and not a suite ({', '.join(list_suites())})"
            )
        if work_dir is None:
            raise ValueError("a data file needs a work_dir for its split copy")
        suite = _write_pairs_suite(
            path.resolve(), Path(work_dir), opts, summary or SummaryOptions()
        )
    if suite.task != "summary":
        raise SuiteError(f"{suite.path}: a {suite.task} suite; fine-tuning needs summary pairs")
    train = [dict(r) for r in suite.load(split="train", limit=opts.limit, cache=cache)]
    try:
        validation = [
            dict(r) for r in suite.load(split="dev", limit=opts.validation_limit, cache=cache)
        ]
    except SuiteError as err:
        raise SuiteError(f"{err}; fine-tuning needs validation (dev) pairs") from err
    return suite, train, validation


def build_example(
    summarizer: Summarizer, row: dict[str, str], max_source_tokens: int, max_target_tokens: int
) -> dict[str, Any]:
    """One training example: the summariser's prompt for the article and the summary's tokens.

    Returns:
        ``{"prompt_ids", "target_ids", "cut"}``; ``cut`` says whether the article was longer
        than ``max_source_tokens`` (it is then cut at a paragraph or sentence boundary).
    """
    title = row.get("title") or None
    budget = max(16, min(max_source_tokens, summarizer.budget))
    chunks = split_into_chunks(row["text"], summarizer.count, budget)
    article = chunks[0] if chunks else ""
    prompt_ids = summarizer.encode(summarizer.prompt(article, title))["input_ids"][0].tolist()
    tok = summarizer.tokenizer
    if summarizer.kind == "causal":
        target = tok(row["reference"].strip(), add_special_tokens=False)["input_ids"]
        target = target[:max_target_tokens] + [tok.eos_token_id]
        overflow = len(prompt_ids) + len(target) - summarizer.context
        if overflow > 0:  # a long title: keep the summary whole, drop the prompt's start
            prompt_ids = prompt_ids[overflow:]
    else:
        target = tok(text_target=row["reference"].strip(), truncation=True,
                     max_length=max_target_tokens + 1)["input_ids"]  # fmt: skip
        prompt_ids = prompt_ids[: summarizer.context]
    return {"prompt_ids": prompt_ids, "target_ids": target, "cut": len(chunks) > 1}


def _examples(
    summarizer: Summarizer, rows: list[dict[str, str]], max_source: int, max_target: int
) -> tuple[Any, int]:
    """The rows with a summary as a ``datasets.Dataset`` of examples, and how many were cut."""
    import datasets

    rows = [r for r in rows if r["reference"].strip() and r["text"].strip()]
    examples = [build_example(summarizer, r, max_source, max_target) for r in rows]
    cut = sum(e.pop("cut") for e in examples)
    return datasets.Dataset.from_list(examples), cut


class PairCollator:
    """Pads a batch of ``prompt_ids``/``target_ids`` examples for a causal or seq2seq model.

    Causal: prompt and summary in one sequence, padded on the left so that the summary
    tokens of every row sit at the end; the batch asks the model for logits of only those
    last positions (``logits_to_keep``), which skips most of the vocabulary projection.
    Seq2seq: the prompt is the encoder input, the summary the labels.

    Args:
        kind: "causal" or "seq2seq".
        pad_id: the padding token id.
        model: the seq2seq model (its ``prepare_decoder_input_ids_from_labels``).
    """

    def __init__(self, kind: str, pad_id: int, model: Any = None) -> None:
        self.kind = kind
        self.pad_id = pad_id
        self.model = model

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        if self.kind == "causal":
            seqs = [list(f["prompt_ids"]) + list(f["target_ids"]) for f in features]
            labels = [[IGNORE] * len(f["prompt_ids"]) + list(f["target_ids"]) for f in features]
            width = max(map(len, seqs))
            pad = [width - len(s) for s in seqs]
            ids = torch.tensor([[self.pad_id] * p + s for p, s in zip(pad, seqs, strict=True)])
            mask = torch.tensor([[0] * p + [1] * len(s) for p, s in zip(pad, seqs, strict=True)])
            lab = torch.tensor([[IGNORE] * p + x for p, x in zip(pad, labels, strict=True)])
            keep = max(len(f["target_ids"]) for f in features) + 1
            return {
                "input_ids": ids,
                "attention_mask": mask,
                "position_ids": (mask.cumsum(-1) - 1).clamp(min=0),
                "labels": lab,
                "logits_to_keep": keep,
            }
        width = max(len(f["prompt_ids"]) for f in features)
        twidth = max(len(f["target_ids"]) for f in features)
        ids = torch.tensor(
            [list(f["prompt_ids"]) + [self.pad_id] * (width - len(f["prompt_ids"]))
             for f in features]
        )  # fmt: skip
        mask = (torch.arange(width)[None, :] < torch.tensor(
            [len(f["prompt_ids"]) for f in features])[:, None]).long()  # fmt: skip
        lab = torch.tensor(
            [list(f["target_ids"]) + [IGNORE] * (twidth - len(f["target_ids"]))
             for f in features]
        )  # fmt: skip
        batch = {"input_ids": ids, "attention_mask": mask, "labels": lab}
        if self.model is not None and hasattr(self.model, "prepare_decoder_input_ids_from_labels"):
            batch["decoder_input_ids"] = self.model.prepare_decoder_input_ids_from_labels(
                labels=lab
            )
        return batch


def summary_loss(kind: str) -> Any:
    """The loss over summary tokens only (labels != -100), for the Trainer's
    ``compute_loss_func``: summed and divided by the number of summary tokens in the whole
    accumulated batch, so that long and short summaries weigh per token."""

    def loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        import torch.nn.functional as F

        logits = outputs["logits"]
        if kind == "causal":  # logits of the last positions: each predicts the next token
            logits = logits[:, :-1]
            labels = labels[:, -logits.shape[1] :]
        total = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]),
            labels.reshape(-1).to(logits.device),
            ignore_index=IGNORE,
            reduction="sum",
        )
        count = num_items_in_batch if num_items_in_batch is not None else (labels != IGNORE).sum()
        return total / count

    return loss


# -- run folder --------------------------------------------------------------------------------
def _identity(
    options: FinetuneOptions, summary: SummaryOptions, extra: dict[str, Any]
) -> dict[str, Any]:
    opts = {k: v for k, v in asdict(options).items() if k not in _NOT_IDENTITY}
    return json.loads(json.dumps({"options": opts, "summary": asdict(summary), **extra}))


def _prepare_run_dir(run_dir: Path, resume: bool) -> Path | None:
    """Check the run folder; return the checkpoint to resume from, if any."""
    from transformers.trainer_utils import get_last_checkpoint

    if (run_dir / RUN_FILE).is_file():
        raise ValueError(
            f"{run_dir} holds a finished run; choose a new folder (or delete this one)"
        )
    checkpoints = run_dir / _CHECKPOINTS
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if resume:
        if last is None:
            print(f"{run_dir}: no checkpoint to resume from; starting afresh", file=sys.stderr)
        return Path(last) if last else None
    if run_dir.exists() and any(run_dir.iterdir()):
        hint = "pass --resume to continue it" if last else "choose an empty folder"
        raise ValueError(f"{run_dir} is not empty (an interrupted run?): {hint}")
    return None


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _check_resumable(run_dir: Path, identity: dict[str, Any]) -> None:
    """Refuse to resume a run that was started with other settings, data or base model."""
    file = run_dir / _CHECKPOINTS / _STARTED
    if not file.is_file():
        raise ValueError(f"{file} is missing; cannot tell what the run was started with")
    now, then = _flat(identity), _flat(json.loads(file.read_text(encoding="utf-8")))
    diff = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
    if diff:
        raise ValueError(
            f"{run_dir}: the interrupted run was started with other settings or data "
            f"({', '.join(diff)}); resume with the same ones, or start a new folder"
        )


def _save_model(model: Any, tokenizer: Any, run_dir: Path, lora: bool, merge: bool) -> str:
    """Save the trained model into ``run_dir`` through a temporary folder; returns the form."""
    tmp = run_dir / ".saving"
    shutil.rmtree(tmp, ignore_errors=True)
    if lora and merge:
        model = model.merge_and_unload()
        form = "merged"
    else:
        form = "adapter" if lora else "full"
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    for path in tmp.iterdir():
        os.replace(path, run_dir / path.name)
    tmp.rmdir()
    return form


# -- training ----------------------------------------------------------------------------------
def _lora(model: Any, options: FinetuneOptions, kind: str) -> Any:
    from peft import LoraConfig, TaskType, get_peft_model

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets: Any = options.lora_targets or [t for t in _ATTENTION if t in names] or "all-linear"
    config = LoraConfig(
        r=options.lora_r,
        lora_alpha=options.lora_alpha,
        lora_dropout=options.lora_dropout,
        target_modules=targets,
        task_type=TaskType.CAUSAL_LM if kind == "causal" else TaskType.SEQ_2_SEQ_LM,
    )
    return get_peft_model(model, config)


def finetune(
    data: str | os.PathLike[str],
    model: str,
    run_dir: str | os.PathLike[str],
    options: FinetuneOptions | None = None,
    *,
    summary: SummaryOptions | None = None,
    prompts: str | os.PathLike[str] | None = None,
    resume: bool = False,
    device: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    callbacks: Sequence[Any] = (),
) -> FinetuneResult:
    """Fine-tune a summariser on article/summary pairs and save a run folder.

    Args:
        data: an eval suite name or ``.toml`` (its train and dev splits), or a JSON-lines /
            CSV file of pairs (``options.columns`` maps its columns).
        model: the model to start from: preset, local folder (also an earlier run) or hub id.
        run_dir: the run folder to write (new or empty, or an interrupted run with
            ``resume``).
        options: training settings.
        summary: prompt settings (template, words); None: the suite's ``[generation]``.
        prompts: a folder of template overrides (training and evaluation both use it).
        resume: continue an interrupted run from its last checkpoint.
        device: torch device (default: auto).
        cache: cache folder (models, data, generations).
        callbacks: extra ``transformers.TrainerCallback`` objects.

    Returns:
        The run folder, its ``finetune.json`` contents and the before/after report.
    """
    import torch
    from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, set_seed

    from . import __version__
    from .data import dataset_sha256

    opts = options or FinetuneOptions()
    if opts.merge and not opts.lora:
        raise ValueError("merge applies to LoRA: pass lora=True (--lora) with it")
    out = Path(run_dir).expanduser().resolve()
    resume_from = _prepare_run_dir(out, resume)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    suite, train_rows, val_rows = load_pairs(
        data, opts, summary, work_dir=out / "data", cache=cache
    )
    summary_opts = summary or suite.summary_options()
    if not train_rows:
        raise ValueError(f"{data}: no training pairs")
    if not val_rows:
        raise ValueError(f"{data}: no validation pairs; the dev split is empty")

    set_seed(opts.seed)
    print(f"loading {model} ...", file=sys.stderr, flush=True)
    # the weights are trained in float32 (bfloat16 only as autocast): never load them rounded
    summarizer = Summarizer(
        model,
        options=dataclasses.replace(summary_opts, precision="float32"),
        prompts=Prompts(prompts),
        device=device,
        cache=cache,
    )
    if summarizer.kind == "extractive":
        raise ValueError("the extractive backend has no model to fine-tune; pass a generator")
    base_resolved = summarizer.resolved
    max_target = int(opts.max_target_tokens or summary_opts.max_new_tokens or 0)

    train_ds, train_cut = _examples(summarizer, train_rows, opts.max_source_tokens, max_target)
    val_ds, _ = _examples(summarizer, val_rows, opts.max_source_tokens, max_target)
    train_sha, val_sha = dataset_sha256(train_rows), dataset_sha256(val_rows)
    data_info: dict[str, Any] = {
        "source": os.fspath(data),
        "suite": str(suite.path),
        "train": {"pairs": len(train_rows), "sha256": train_sha},
        "validation": {"pairs": len(val_rows), "sha256": val_sha},
        "articles_cut_to_max_source_tokens": train_cut,
    }
    identity = _identity(
        opts,
        summary_opts,
        {
            "base_model": model,
            "base_sha256": fingerprint(base_resolved),
            "template_sha256": summarizer.template_sha256,
            "train_sha256": train_sha,
            "validation_sha256": val_sha,
        },
    )
    if resume_from is not None:
        _check_resumable(out, identity)
    else:
        atomic_write_text(out / _CHECKPOINTS / _STARTED, json.dumps(identity, indent=1) + "\n")

    dev = pick_device(device)
    dtype = pick_dtype(dev, opts.precision)
    net = summarizer.model.float()  # master weights in float32; bf16 runs as autocast
    net.config.use_cache = False
    if opts.lora:
        net = _lora(net, opts, summarizer.kind)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    total = sum(p.numel() for p in net.parameters())

    micro = opts.micro_batch_size or (1 if dev == "cpu" else opts.batch_size)
    micro = min(micro, opts.batch_size)
    accumulate = max(1, opts.batch_size // micro)
    steps_per_epoch = math.ceil(len(train_ds) / (micro * accumulate))
    every = opts.eval_every or max(1, steps_per_epoch // 3)
    lr = opts.learning_rate or (1e-3 if opts.lora else 5e-5)
    args = TrainingArguments(
        output_dir=str(out / _CHECKPOINTS),
        num_train_epochs=opts.epochs,
        learning_rate=lr,
        lr_scheduler_type="linear",
        warmup_steps=opts.warmup,
        per_device_train_batch_size=micro,
        per_device_eval_batch_size=micro,
        gradient_accumulation_steps=accumulate,
        eval_strategy="steps",
        eval_steps=every,
        save_strategy="steps",
        save_steps=every,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=max(1, min(every, 5)),
        prediction_loss_only=True,
        label_names=["labels"],
        remove_unused_columns=False,
        seed=opts.seed,
        data_seed=opts.seed,
        bf16=dtype == "bfloat16",
        fp16=dtype == "float16",
        use_cpu=dev == "cpu",
        report_to="none",
        disable_tqdm=not opts.progress,
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=net,
        args=args,
        data_collator=PairCollator(summarizer.kind, _pad_id(summarizer.tokenizer), net),
        train_dataset=train_ds,
        eval_dataset=val_ds,
        compute_loss_func=summary_loss(summarizer.kind),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=opts.patience), *callbacks],
    )
    before = trainer.evaluate()["eval_loss"] if resume_from is None else None
    print(
        f"training {trainable:,} of {total:,} parameters on {len(train_ds)} pairs "
        f"({len(val_ds)} for validation), {dtype} on {dev}; "
        f"{steps_per_epoch} steps an epoch, validation every {every}",
        file=sys.stderr,
        flush=True,
    )
    t0 = time.perf_counter()
    train_output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    train_seconds = time.perf_counter() - t0
    state = trainer.state
    form = _save_model(trainer.model, summarizer.tokenizer, out, opts.lora, opts.merge)

    info: dict[str, Any] = {
        "toolkit": __version__,
        "base_model": model,
        "base_resolved": base_resolved,
        "base_sha256": identity["base_sha256"],
        "kind": summarizer.kind,
        "saved_as": form,
        "model_sha256": fingerprint(str(out)),
        "template": summarizer.template,
        "template_sha256": summarizer.template_sha256,
        "summary_options": asdict(summary_opts),
        "options": asdict(replace(opts)),
        "learning_rate": lr,
        "precision": dtype,
        "device": dev,
        "micro_batch_size": micro,
        "gradient_accumulation_steps": accumulate,
        "trainable_parameters": trainable,
        "parameters": total,
        "data": data_info,
        "validation_loss": {"before": before, "best": state.best_metric},
        "best_checkpoint_step": _step_of(state.best_model_checkpoint),
        "steps": state.global_step,
        "max_steps": state.max_steps,
        "stopped_early": state.global_step < state.max_steps,
        "train_loss": train_output.training_loss,
        "train_seconds": round(train_seconds, 1),
        "resumed_from_step": _step_of(str(resume_from)) if resume_from else None,
        "history": [h for h in state.log_history if "loss" in h or "eval_loss" in h],
        "torch_threads": torch.get_num_threads(),
    }
    atomic_write_text(out / RUN_FILE, json.dumps(info, indent=1, default=str) + "\n")
    if not opts.keep_checkpoints:
        shutil.rmtree(out / _CHECKPOINTS, ignore_errors=True)
    print(
        f"validation loss {_fmt(before)} -> {_fmt(state.best_metric)} (best) in "
        f"{state.global_step} steps "
        f"({train_seconds / 60:.1f} min); saved {form} model to {out}",
        file=sys.stderr,
        flush=True,
    )
    del trainer, net, summarizer
    report = None
    if opts.evaluate:
        report = _before_after(suite, model, out, opts, prompts, device, cache)
        info["eval"] = {"report": str(out / "eval" / "report.md")}
    info["seconds"] = round(time.perf_counter() - started, 1)
    atomic_write_text(out / RUN_FILE, json.dumps(info, indent=1, default=str) + "\n")
    return FinetuneResult(out, info, report)


def _before_after(
    suite: Suite,
    model: str,
    run_dir: Path,
    options: FinetuneOptions,
    prompts: str | os.PathLike[str] | None,
    device: str | None,
    cache: str | os.PathLike[str] | None,
) -> dict[str, Any] | None:
    """Evaluate the untuned and the tuned model on the suite's test split, in one report."""
    from .evaluate import EvalOptions, evaluate_suite
    from .report import markdown, write_report

    try:
        suite.load(split="test", limit=1, cache=cache)
    except SuiteError:
        print(f"{suite.path}: no test split; skipping the evaluation", file=sys.stderr)
        return None
    print("evaluating on the test split: untuned, then tuned ...", file=sys.stderr, flush=True)
    report = evaluate_suite(
        suite,
        EvalOptions(
            models=[model, str(run_dir)],
            split="test",
            limit=options.eval_limit,
            prompts=os.fspath(prompts) if prompts else None,
            device=device,
            cache=os.fspath(cache) if cache else None,
            progress=options.progress,
        ),
    )
    write_report(report, run_dir / "eval")
    print(markdown(report))
    return report


def _pad_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id
    return int(pad if pad is not None else tokenizer.eos_token_id)


def _step_of(checkpoint: str | None) -> int | None:
    if not checkpoint:
        return None
    tail = Path(checkpoint).name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:.4f}"
