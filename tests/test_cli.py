"""The command line on tiny models: exit codes, outputs, clear errors."""

from __future__ import annotations

import json

from toolkit.cli import main

TEXT = "Council Votes\n\nThe council voted on Tuesday to build a new library. It opens in 2027.\n"


def test_summarise_writes_outputs_and_exit_status_reports_failures(
    tmp_path, tiny_causal, tiny_embedder, capsys
):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(TEXT)
    args = [
        "summarise",
        str(src),
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(tiny_causal),
        "--tagger-model",
        str(tiny_embedder),
        "--labels",
        "politics,sport",
        "--max-new-tokens",
        "5",
        "--no-progress",
        "--top-k",
        "1",
        "--threshold",
        "0",
    ]
    assert main(args) == 0
    rec = json.loads((tmp_path / "out" / "summaries.jsonl").read_text())
    assert [t["label"] for t in rec["topic_scores"]] != []
    assert len(rec["topics"]) == 1
    assert rec["summary_info"]["guard"] in ("passed", "fallback")
    unguarded = [*args[:3], str(tmp_path / "out2"), *args[4:], "--guard", "off"]
    assert main([*unguarded, "--unconstrained"]) == 0
    rec2 = json.loads((tmp_path / "out2" / "summaries.jsonl").read_text())
    assert rec2["summary_info"]["guard"] is None
    run = json.loads((tmp_path / "out2" / "run.json").read_text())
    assert "off" in json.dumps(run) and '"faithful": false' in json.dumps(run)
    (src / "empty.md").write_text("")
    assert main(["summarize", *args[1:], "--resume"]) == 1
    err = capsys.readouterr().err
    assert "error: empty.md: empty file" in err and "1 kept from an earlier run" in err


def test_a_missing_model_exits_2_with_a_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(TEXT)
    code = main(["summarise", str(src), "-o", str(tmp_path / "o"), "--model", "nobody/nothing"])
    assert code == 2
    assert "not a preset" in capsys.readouterr().err


def test_models_lists_the_presets(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "smollm2-135m" in out and "minilm" in out


def test_cli_offers_every_tagger_backend() -> None:
    from toolkit.cli import TAG_BACKENDS
    from toolkit.tag import BACKENDS

    assert TAG_BACKENDS == BACKENDS
