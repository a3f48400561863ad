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
        "--extractor",
        str(tiny_embedder),
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
    assert rec["summary_info"]["guard"] in ("passed", "repaired", "regenerated", "fallback")
    assert rec["summary_info"]["method"] == "abstractive"
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


def test_summarise_styles_and_the_extractive_backend(tmp_path, tiny_embedder):
    from tests.tiny_models import build_causal

    roomy = build_causal(tmp_path / "causal-1k", context=1024)  # room for the bullets prompt
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(TEXT)
    common = ["--tagger-model", str(tiny_embedder), "--no-progress", "--extractor", "lead"]
    out = tmp_path / "bullets"
    args = ["summarise", str(src), "-o", str(out), "--model", str(roomy), *common]
    assert main([*args, "--style", "bullets", "--max-new-tokens", "8"]) == 0
    rec = json.loads((out / "summaries.jsonl").read_text())
    assert all(line.startswith("- ") for line in rec["summary"].splitlines())
    run = json.loads((out / "run.json").read_text())
    assert '"style": "bullets"' in json.dumps(run) and rec["template"]["name"] == (
        "summarise_bullets.j2"
    )
    out = tmp_path / "extractive"
    extractive = f"extractive:{tiny_embedder}"
    assert main(["summarise", str(src), "-o", str(out), "--model", extractive, *common]) == 0
    rec = json.loads((out / "summaries.jsonl").read_text())
    assert rec["summary_info"]["method"] == "extractive"
    assert rec["summary"] in TEXT  # a sentence of the article, word for word


def test_the_style_choices_are_the_summarisers():
    from toolkit.cli import build_parser
    from toolkit.summarize import STYLES

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    style = next(a for a in sub.choices["summarise"]._actions if a.dest == "style")
    assert tuple(style.choices) == tuple(STYLES)


def one_error(capsys, code: int) -> str:
    """The command's stderr is one ``toolkit: error:`` line (no traceback); returns it."""
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) >= 1 and err[-1].startswith("toolkit: error: "), err
    assert not any("Traceback" in line for line in err)
    return err[-1]


def test_errors_a_person_can_act_on(tmp_path, tiny_causal, capsys, monkeypatch):
    import os

    import pytest

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(TEXT)
    common = ["--model", "extractive:lead", "--no-tags", "--no-progress"]
    (tmp_path / "afile").write_text("x")
    line = one_error(capsys, main(["summarise", str(src), "-o", str(tmp_path / "afile"), *common]))
    assert "is a file, not a folder" in line
    line = one_error(capsys, main(["clean", str(src), "-o", str(src)]))
    assert "is the input folder" in line
    os.mkfifo(tmp_path / "fifo")
    line = one_error(capsys, main(["summarise", str(tmp_path / "fifo"), "-o", str(tmp_path / "o")]))
    assert "not a folder or a regular file" in line
    line = one_error(capsys, main(["clean", str(tmp_path / "nope"), "-o", str(tmp_path / "o")]))
    assert "does not exist" in line
    out = tmp_path / "done"
    assert main(["summarise", str(src), "-o", str(out), *common]) == 0
    capsys.readouterr()
    line = one_error(capsys, main(["summarise", str(src), "-o", str(out), *common]))
    assert "--resume" in line
    # options out of range: argparse's own one-line error, exit 2, before anything runs
    for option, value in (("--num-beams", "0"), ("--max-bytes", "-5"), ("--threshold", "2")):
        with pytest.raises(SystemExit) as exit_:
            main(["summarise", str(src), "-o", str(tmp_path / "x"), option, value])
        assert exit_.value.code == 2
        assert option in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():
        args = ["summarise", str(src), "-o", str(tmp_path / "c"), "--model", str(tiny_causal)]
        line = one_error(capsys, main([*args, "--device", "cuda", "--no-tags"]))
        assert "CUDA is not available" in line and "--device cpu" in line
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for source, why in (
        ("{% if %}", "syntax error"),
        ("{{ nothing_here }}", "undefined variable"),
        ("{{ article.__class__ }}", "not allowed"),
    ):
        (prompts / "summarise.j2").write_text(source)
        args = ["summarise", str(src), "-o", str(tmp_path / "p"), "--model", str(tiny_causal)]
        line = one_error(capsys, main([*args, "--prompts", str(prompts), "--no-tags"]))
        assert f"summarise.j2, line 1: {why}" in line
