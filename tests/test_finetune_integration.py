"""Fine-tuning the real embedded default (SmolLM2-135M) with LoRA on real news-standfirst pairs.

A short run (16 pairs, one pass): the validation loss must fall, the adapter must load back
through ``--model RUN_DIR`` and summarise. The full run (300 pairs, with the before/after
evaluation) is the README's; it takes about a quarter of an hour on two CPU cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.finetune import FinetuneOptions, finetune
from toolkit.models import load_generator
from toolkit.summarize import Summarizer

pytestmark = pytest.mark.integration


def test_lora_on_smollm2_lowers_validation_loss_and_summarises(tmp_path: Path) -> None:
    options = FinetuneOptions(
        lora=True,
        limit=16,
        validation_limit=8,
        max_source_tokens=128,
        batch_size=4,
        eval_every=2,
        evaluate=False,
        progress=False,
    )
    run = tmp_path / "run"
    result = finetune("news-standfirst", "smollm2-135m", run, options)
    loss = result.info["validation_loss"]
    assert loss["best"] < loss["before"], loss
    assert result.info["saved_as"] == "adapter" and result.info["base_model"] == "smollm2-135m"
    assert result.info["data"]["train"]["pairs"] == 16
    # the adapter is small; the base weights are not copied
    assert (run / "adapter_model.safetensors").stat().st_size < 20_000_000
    info = json.loads((run / "finetune.json").read_text())
    assert info["template"] == "summarise.j2" and info["summary_options"]["words"] == 25
    model, _, kind, _ = load_generator(str(run), device="cpu")
    assert kind == "causal" and not hasattr(model, "peft_config")  # merged on load
    summary = Summarizer(str(run), device="cpu").summarise(
        "The city council voted on Tuesday to close the Victoria Road library in March, "
        "saying repairs to its roof would cost 2 million pounds. About 300 people signed a "
        "petition to keep it open. The council said books would move to the central library."
    )
    assert summary.text and len(summary.text.split()) <= 60
