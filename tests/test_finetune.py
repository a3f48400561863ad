"""Fine-tuning on tiny random models: the prompt is the summariser's, the loss is on the
summary tokens only, loss falls, runs load back as models, and an interrupted run resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from toolkit.finetune import (
    IGNORE,
    FinetuneOptions,
    PairCollator,
    build_example,
    finetune,
    load_pairs,
    summary_loss,
)
from toolkit.models import load_generator
from toolkit.summarize import Summarizer, SummaryOptions, split_into_chunks

TOWNS = ["Leeds", "Derby", "Bath", "York", "Hull", "Ely"]
SHORT = SummaryOptions(max_new_tokens=12, max_input_tokens=None)


def _pairs(n: int = 48, split: bool = False) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        town = TOWNS[i % len(TOWNS)]
        row = {
            "id": f"a{i:03d}",
            "body": f"The mayor of {town} opened a bridge. It cost {i} pounds. People came.",
            "standfirst": f"{town} gets a bridge.",
        }
        if split:
            row["part"] = "train" if i < n - 8 else "validation" if i < n - 4 else "test"
        rows.append(row)
    return rows


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


COLUMNS = {"text": "body", "reference": "standfirst"}


def _options(**changes: object) -> FinetuneOptions:
    base = dict(
        epochs=2,
        batch_size=4,
        learning_rate=3e-3,
        max_source_tokens=40,
        validation_fraction=0.15,
        test_fraction=0.1,
        columns=COLUMNS,
        evaluate=False,
        progress=False,
        eval_every=3,
        patience=10,
    )
    base.update(changes)
    return FinetuneOptions(**base)  # type: ignore[arg-type]


@pytest.fixture()
def pairs_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "pairs.jsonl", _pairs())


# -- data --------------------------------------------------------------------------------------
def test_file_without_split_column_is_split_by_id_hash(pairs_file: Path, tmp_path: Path) -> None:
    opts = _options()
    suite, train, val = load_pairs(pairs_file, opts, SHORT, work_dir=tmp_path / "d1")
    again = load_pairs(pairs_file, opts, SHORT, work_dir=tmp_path / "d2")
    assert [r["id"] for r in train] == [r["id"] for r in again[1]]  # stable
    test = list(suite.load(split="test"))
    ids = [r["id"] for r in train] + [r["id"] for r in val] + [r["id"] for r in test]
    assert sorted(ids) == sorted(r["id"] for r in _pairs())  # each pair in exactly one split
    assert len(train) > len(val) > 0 and test
    assert train[0]["text"].startswith("The mayor of") and train[0]["reference"].endswith(".")
    # the copied suite evaluates with the settings trained with
    assert suite.summary_options().max_new_tokens == SHORT.max_new_tokens


def test_file_split_column_is_used(tmp_path: Path) -> None:
    data = _write(tmp_path / "p.jsonl", _pairs(split=True))
    opts = _options(columns={**COLUMNS, "split": "part"})
    suite, train, val = load_pairs(data, opts, SHORT, work_dir=tmp_path / "d")
    assert len(train) == 40 and len(val) == 4 and len(suite.load(split="test")) == 4


def test_bad_split_value_is_named(tmp_path: Path) -> None:
    rows = _pairs(split=True)
    rows[0]["part"] = "holdout"
    data = _write(tmp_path / "p.jsonl", rows)
    opts = _options(columns={**COLUMNS, "split": "part"})
    with pytest.raises(ValueError, match="'holdout'"):
        load_pairs(data, opts, SHORT, work_dir=tmp_path / "d")


def test_build_example_is_the_summarisers_prompt(tiny_causal: Path) -> None:
    s = Summarizer(str(tiny_causal), options=SHORT)
    row = {"text": "Short text about a bridge.", "reference": "A bridge.", "title": "Bridge"}
    ex = build_example(s, row, 200, 12)
    assert ex["prompt_ids"] == s.encode(s.prompt(row["text"], "Bridge"))["input_ids"][0].tolist()
    words = s.tokenizer("A bridge.", add_special_tokens=False)["input_ids"]
    assert ex["target_ids"] == words + [s.tokenizer.eos_token_id]
    assert not ex["cut"]
    long = {"text": "\n\n".join(f"Paragraph {i} is here." for i in range(40)), "reference": "x"}
    ex = build_example(s, long, 30, 12)
    first = split_into_chunks(long["text"], s.count, 30)[0]
    assert ex["cut"] and first.startswith("Paragraph 0") and "Paragraph 39" not in first
    assert ex["prompt_ids"] == s.encode(s.prompt(first))["input_ids"][0].tolist()


# -- collator and loss -------------------------------------------------------------------------
def test_causal_collator_pads_left_and_masks_the_prompt() -> None:
    feats = [
        {"prompt_ids": [5, 6, 7], "target_ids": [8, 9]},
        {"prompt_ids": [5], "target_ids": [10, 11, 12]},
    ]
    b = PairCollator("causal", pad_id=0)(feats)
    assert b["input_ids"].tolist() == [[5, 6, 7, 8, 9], [0, 5, 10, 11, 12]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]]
    assert b["labels"].tolist() == [
        [IGNORE, IGNORE, IGNORE, 8, 9],
        [IGNORE, IGNORE, 10, 11, 12],
    ]
    assert b["position_ids"].tolist() == [[0, 1, 2, 3, 4], [0, 0, 1, 2, 3]]
    assert b["logits_to_keep"] == 4


def test_summary_loss_equals_full_forward_loss_on_summary_tokens(tiny_causal: Path) -> None:
    model, _, _, _ = load_generator(str(tiny_causal), device="cpu", precision="float32")
    feats = [
        {"prompt_ids": [11, 12, 13, 14, 15], "target_ids": [20, 21]},
        {"prompt_ids": [11, 12], "target_ids": [30, 31, 32, 33]},
    ]
    batch = PairCollator("causal", pad_id=0)(feats)
    labels = batch.pop("labels")
    with torch.no_grad():
        ours = summary_loss("causal")(model(**batch), labels)
        full = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            position_ids=batch["position_ids"],
        ).logits
    # reference: every position, shifted by one, averaged over the 6 summary tokens
    ref = torch.nn.functional.cross_entropy(
        full[:, :-1].reshape(-1, full.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=IGNORE
    )
    assert torch.allclose(ours, ref, atol=1e-5)
    # left padding does not change a row's loss: the second row alone gives the same
    single = PairCollator("causal", pad_id=0)([feats[1]])
    lab1 = single.pop("labels")
    with torch.no_grad():
        alone = summary_loss("causal")(model(**single), lab1)
        both = summary_loss("causal")(
            model(**{k: v[1:] if torch.is_tensor(v) else v for k, v in batch.items()}),
            labels[1:],
        )
    assert torch.allclose(alone, both, atol=1e-4)


# -- training runs -----------------------------------------------------------------------------
def test_full_finetune_lowers_validation_loss_and_loads(
    tiny_causal: Path, pairs_file: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    result = finetune(pairs_file, str(tiny_causal), run, _options(), summary=SHORT)
    info = json.loads((run / "finetune.json").read_text())
    loss = info["validation_loss"]
    assert loss["best"] < loss["before"] - 0.5, loss
    assert info["saved_as"] == "full" and (run / "model.safetensors").is_file()
    assert info["data"]["train"]["sha256"] and info["base_sha256"] and info["options"]["seed"] == 0
    assert not (run / "checkpoints").exists()  # removed once finished
    assert result.info["steps"] == info["steps"] > 0
    # the run folder is a model: it summarises, and it learnt the house style
    s = Summarizer(str(run), options=SHORT, device="cpu")
    out = s("The mayor of Bath opened a bridge. It cost 3 pounds. People came.")
    assert "bridge" in out.lower()


def test_lora_adapter_and_merged_runs_load_as_the_same_model(
    tiny_causal: Path, pairs_file: Path, tmp_path: Path
) -> None:
    opts = _options(lora=True, epochs=1, learning_rate=1e-2, lora_dropout=0.0)
    finetune(pairs_file, str(tiny_causal), tmp_path / "adapter", opts, summary=SHORT)
    merged = _options(lora=True, merge=True, epochs=1, learning_rate=1e-2, lora_dropout=0.0)
    finetune(pairs_file, str(tiny_causal), tmp_path / "merged", merged, summary=SHORT)
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "adapter" / "model.safetensors").exists()
    assert (tmp_path / "merged" / "model.safetensors").is_file()
    ids = torch.tensor([[11, 12, 13, 14, 15, 16]])
    logits = {}
    for name in ("adapter", "merged"):
        model, _, kind, resolved = load_generator(
            str(tmp_path / name), device="cpu", precision="float32"
        )
        assert kind == "causal" and resolved == str((tmp_path / name).resolve())
        with torch.no_grad():
            logits[name] = model(input_ids=ids).logits
    base, _, _, _ = load_generator(str(tiny_causal), device="cpu", precision="float32")
    with torch.no_grad():
        untuned = base(input_ids=ids).logits
    assert torch.allclose(logits["adapter"], logits["merged"], atol=1e-4)
    assert not torch.allclose(logits["adapter"], untuned, atol=1e-3)  # the adapter is applied


class _Interrupt:
    """A TrainerCallback that stops the run (as Ctrl-C would) after a given step."""

    def __init__(self, step: int) -> None:
        self.step = step

    def __getattr__(self, name: str):  # every other callback event: do nothing
        return lambda *args, **kwargs: None

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        if state.global_step == self.step:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_from_its_checkpoint(
    tiny_causal: Path, pairs_file: Path, tmp_path: Path
) -> None:
    opts = _options(epochs=1, eval_every=3)
    whole = finetune(pairs_file, str(tiny_causal), tmp_path / "whole", opts, summary=SHORT)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(pairs_file, str(tiny_causal), run, opts, summary=SHORT, callbacks=[_Interrupt(5)])
    assert (run / "checkpoints" / "checkpoint-3").is_dir() and not (run / "finetune.json").exists()
    with pytest.raises(ValueError, match="--resume"):
        finetune(pairs_file, str(tiny_causal), run, opts, summary=SHORT)
    with pytest.raises(ValueError, match="options.learning_rate"):
        finetune(pairs_file, str(tiny_causal), run, _options(epochs=1, learning_rate=1e-3),
                 summary=SHORT, resume=True)  # fmt: skip
    resumed = finetune(pairs_file, str(tiny_causal), run, opts, summary=SHORT, resume=True)
    assert resumed.info["resumed_from_step"] == 3
    assert resumed.info["steps"] == whole.info["steps"]
    # the resumed run ends where the uninterrupted one does: same data order, same weights
    assert resumed.info["validation_loss"]["best"] == pytest.approx(
        whole.info["validation_loss"]["best"], abs=1e-4
    )
    a, _, _, _ = load_generator(str(tmp_path / "whole"), device="cpu", precision="float32")
    b, _, _, _ = load_generator(str(run), device="cpu", precision="float32")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-5), name
    with pytest.raises(ValueError, match="finished run"):
        finetune(pairs_file, str(tiny_causal), run, opts, summary=SHORT, resume=True)


def test_seq2seq_finetune_lowers_loss_and_summarises(
    tiny_seq2seq: Path, pairs_file: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    result = finetune(pairs_file, str(tiny_seq2seq), run, _options(), summary=SHORT)
    loss = result.info["validation_loss"]
    assert result.info["kind"] == "seq2seq" and loss["best"] < loss["before"] - 0.5, loss
    out = Summarizer(str(run), options=SHORT, device="cpu")("The mayor of Ely opened a bridge.")
    assert isinstance(out, str) and out


def test_merge_needs_lora(tiny_causal: Path, pairs_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LoRA"):
        finetune(pairs_file, str(tiny_causal), tmp_path / "r", _options(merge=True))


def test_before_after_report_has_both_models(
    tiny_causal: Path, pairs_file: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    opts = _options(epochs=1, evaluate=True, eval_limit=3)
    result = finetune(pairs_file, str(tiny_causal), run, opts, summary=SHORT)
    assert result.report is not None
    systems = result.report["systems"]
    assert {str(tiny_causal), str(run.resolve())} <= set(systems)
    assert "lead-1" in systems and result.report["suite"]["split"] == "test"
    assert (run / "eval" / "report.md").is_file()
    assert result.report["dataset"]["rows"] == 3


def test_cli_finetune_then_summarise_with_the_run(
    tiny_causal: Path, pairs_file: Path, tmp_path: Path
) -> None:
    from toolkit.cli import main

    run = tmp_path / "run"
    argv = ["finetune", str(pairs_file), "--model", str(tiny_causal), "-o", str(run), "--lora",
            "--epochs", "1", "--text-column", "body", "--reference-column", "standfirst",
            "--max-source-tokens", "40", "--no-eval", "--no-progress", "--words", "10"]  # fmt: skip
    assert main(argv) == 0
    info = json.loads((run / "finetune.json").read_text())
    assert info["saved_as"] == "adapter" and info["summary_options"]["words"] == 10
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "a.txt").write_text("The mayor of York opened a bridge. People came.\n")
    out = tmp_path / "out"
    argv = ["summarise", str(articles), "-o", str(out), "--model", str(run), "--no-tags",
            "--no-progress", "--max-new-tokens", "12"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads((out / "summaries.jsonl").read_text().splitlines()[0])
    assert record["summary"] and record["topics"] == []  # --no-tags: no tagger ran
    settings = json.loads((out / "run.json").read_text())["settings"]["summarizer"]
    assert settings["resolved"] == str(run.resolve()) and settings["kind"] == "causal"
    assert "no topics" in (out / "digest.md").read_text()
