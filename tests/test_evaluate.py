"""The evaluation runner, reports and `toolkit eval` on a user suite with tiny models."""

from __future__ import annotations

import json

import pytest

from toolkit import evaluate
from toolkit.cli import main
from toolkit.evaluate import EvalOptions, compare_reports, evaluate_suite, lead, random_sentence
from toolkit.report import markdown, write_report
from toolkit.suites import load_suite

ARTICLES = [
    (
        "a1",
        "The council approved the bridge on Monday. It will cost 40 million euros. "
        "Work starts in May.",
        "Council approves 40 million euro bridge.",
    ),
    (
        "a2",
        "Rovers won the cup final 2-1 in extra time. Their striker scored twice. "
        "Fans celebrated in the square.",
        "Rovers win the cup in extra time.",
    ),
    (
        "a3",
        "The central bank raised rates by half a point. Inflation reached 6 percent. Markets fell.",
        "Central bank raises rates as inflation hits 6 percent.",
    ),
    (
        "a4",
        "A new vaccine cut flu cases by a third in older adults. The trial ran for two winters.",
        "Vaccine cuts flu cases by a third.",
    ),
]


@pytest.fixture
def summary_suite(tmp_path):
    data = tmp_path / "news.jsonl"
    data.write_text(
        "".join(json.dumps({"doc": i, "body": t, "standfirst": r}) + "\n" for i, t, r in ARTICLES)
    )
    suite = tmp_path / "mine.toml"
    suite.write_text(
        'name = "mine"\ntask = "summary"\ndescription = "test"\n'
        '[source]\npath = "news.jsonl"\nformat = "json"\n'
        '[columns]\nid = "doc"\ntext = "body"\nreference = "standfirst"\n'
        '[split]\nname = "all"\ngate_limit = 4\n'
        "[generation]\nmax_new_tokens = 5\n"
        '[metrics]\nnames = ["rouge", "length", "novel_ngrams", "hallucination"]\n'
        '[baselines]\nnames = ["lead-1", "lead-3", "random-sentence"]\n'
    )
    return suite


def test_baselines():
    text = "One is here. Two is there! Three? Four."
    assert lead(text, 1) == "One is here."
    assert lead(text, 3) == "One is here. Two is there! Three?"
    picks = {random_sentence(text, f"id{i}", 0) for i in range(20)}
    assert picks <= {"One is here.", "Two is there!", "Three?", "Four."} and len(picks) > 1
    assert random_sentence(text, "x", 0) == random_sentence(text, "x", 0)


def test_summary_suite_scores_models_beside_baselines(
    summary_suite, tiny_causal, tmp_path, monkeypatch
):
    suite = load_suite(str(summary_suite))
    opts = EvalOptions(
        models=[str(tiny_causal)], bootstrap=100, progress=False, cache=str(tmp_path / "cache")
    )
    report = evaluate_suite(suite, opts)
    systems = report["systems"]
    assert set(systems) == {"lead-1", "lead-3", "random-sentence", str(tiny_causal)}
    lead1 = systems["lead-1"]
    assert [e["prediction"] for e in lead1["examples"]][
        0
    ] == "The council approved the bridge on Monday."
    r2 = lead1["aggregate"]["rouge2_f"]
    assert r2["low"] <= r2["mean"] <= r2["high"] and r2["n"] == 4
    assert systems[str(tiny_causal)]["settings"]["generated"] == 4
    assert report["dataset"]["rows"] == 4 and len(report["dataset"]["sha256"]) == 64
    assert "torch" in report["environment"]["packages"]
    # re-scoring reads the generation cache: the model is not asked again
    monkeypatch.setattr(
        "toolkit.summarize.Summarizer.summarise", lambda *a, **k: pytest.fail("regenerated")
    )
    again = evaluate_suite(suite, opts)
    assert again["systems"][str(tiny_causal)]["settings"]["generated"] == 0
    assert [e["prediction"] for e in again["systems"][str(tiny_causal)]["examples"]] == [
        e["prediction"] for e in systems[str(tiny_causal)]["examples"]
    ]

    paths = write_report(report, tmp_path / "rep")
    md = paths["md"].read_text()
    assert "| `lead-1` | baseline |" in md and "R-2" in md
    page = paths["html"].read_text()
    assert "data:image/png;base64," in page and "http://" not in page and "https://" not in page
    assert json.loads(paths["json"].read_text())["suite"]["name"] == "mine"


def test_compare_finds_a_real_difference_and_none_with_itself(summary_suite, tmp_path):
    suite = load_suite(str(summary_suite))
    report = evaluate_suite(
        suite,
        EvalOptions(models=[], baselines=True, bootstrap=100, progress=False, cache=str(tmp_path)),
    )
    # no model given: the default summariser would load; keep baselines only
    same = compare_reports(report, report, "lead-1", "lead-1", n=200)
    assert all(not m["significant"] and m["diff"] == 0 for m in same["metrics"].values())
    diff = compare_reports(report, report, "random-sentence", "lead-3", n=200)
    assert diff["metrics"]["summary_words"]["diff"] > 0


def test_topic_suite_with_majority_baseline(tmp_path, tiny_embedder):
    rows = [
        ("t1", "The striker scored twice in the final.", "sport"),
        ("t2", "Shares fell after the rate rise.", "business"),
        ("t3", "The team won the league.", "sport"),
        ("t4", "The bank cut its forecast.", "business"),
        ("t5", "Fans filled the stadium.", "sport"),
    ]
    (tmp_path / "t.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": t, "label": y}) + "\n" for i, t, y in rows)
    )
    (tmp_path / "t.toml").write_text(
        'name = "t"\ntask = "topics"\ndescription = "test"\n'
        '[source]\npath = "t.jsonl"\nformat = "json"\n'
        '[columns]\nid = "id"\ntext = "text"\nlabel = "label"\n'
        '[split]\nname = "all"\ngate_limit = 5\n'
        '[metrics]\nnames = ["classification"]\n[baselines]\nnames = ["majority"]\n'
        '[labels]\nsport = "sport and games"\nbusiness = "companies and markets"\n'
    )
    report = evaluate_suite(
        load_suite(str(tmp_path / "t.toml")),
        EvalOptions(
            models=[f"embedding:{tiny_embedder}"], bootstrap=50, progress=False, cache=str(tmp_path)
        ),
    )
    majority = report["systems"]["majority"]
    assert majority["settings"]["label"] == "sport"
    assert majority["aggregate"]["accuracy"]["mean"] == pytest.approx(0.6)
    conf = majority["aggregate"]["confusion"]
    assert conf["labels"] == ["sport", "business"] and sum(map(sum, conf["matrix"])) == 5
    assert "macro_f1" in report["systems"][f"embedding:{tiny_embedder}"]["aggregate"]
    assert "accuracy" in markdown(report)


def test_predictions_made_elsewhere_are_scored(tmp_path, capsys):
    preds = tmp_path / "preds.jsonl"
    refs = tmp_path / "refs.jsonl"
    preds.write_text("".join(json.dumps({"id": i, "prediction": r}) + "\n" for i, _, r in ARTICLES))
    refs.write_text(
        "".join(json.dumps({"id": i, "reference": r, "text": t}) + "\n" for i, t, r in ARTICLES)
    )
    monkey_bertscore = evaluate.metrics.bertscore
    evaluate.metrics.bertscore = lambda p, r, **k: [{"bertscore_f": 1.0} for _ in p]
    try:
        code = main(
            [
                "eval",
                "--predictions",
                str(preds),
                "--references",
                str(refs),
                "-o",
                str(tmp_path / "out"),
                "--bootstrap",
                "50",
            ]
        )
    finally:
        evaluate.metrics.bertscore = monkey_bertscore
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["systems"]["preds"]["aggregate"]["rouge1_f"]["mean"] == pytest.approx(1.0)
    assert "lead-1" in report["systems"]
    out = capsys.readouterr().out
    assert "| `preds` | predictions |" in out
    assert (
        main(
            [
                "eval",
                "compare",
                str(tmp_path / "out"),
                str(tmp_path / "out"),
                "--system-a",
                "lead-1",
                "--system-b",
                "preds",
                "--bootstrap",
                "50",
            ]
        )
        == 0
    )
    assert "rouge1_f" in capsys.readouterr().out


def test_reports_carry_the_model_hash(summary_suite, tiny_causal, tmp_path):
    from toolkit.models import fingerprint

    report = evaluate_suite(
        load_suite(str(summary_suite)),
        EvalOptions(
            models=[str(tiny_causal)],
            baselines=False,
            bootstrap=20,
            progress=False,
            cache=str(tmp_path),
        ),
    )
    settings = report["systems"][str(tiny_causal)]["settings"]
    assert settings["model_sha256"] == fingerprint(str(tiny_causal))
    assert len(settings["template_sha256"]) == 64 and len(settings["code_sha256"]) == 64


def test_generation_settings_over_the_suite_and_guard_verdicts(
    summary_suite, tiny_causal, tmp_path, capsys
):
    out = tmp_path / "rep"
    args = ["eval", str(summary_suite), "--model", str(tiny_causal), "--no-baselines"]
    args += ["--bootstrap", "50", "--no-progress", "--cache-dir", str(tmp_path / "c")]
    args += ["--set", "extractor=lead"]
    assert main([*args, "-o", str(out), "--set", "guard=off", "--set", "words=7"]) == 0
    settings = json.loads((out / "report.json").read_text())["systems"][str(tiny_causal)][
        "settings"
    ]
    assert settings["options"]["guard"] == "off" and settings["options"]["words"] == 7
    assert settings["options"]["max_new_tokens"] == 5  # the suite's own setting stays
    assert settings["guard"] == {"None": 4}
    # guarded (the default): every example has a verdict, kept with the cached output
    assert main([*args, "-o", str(out)]) == 0
    guarded = json.loads((out / "report.json").read_text())["systems"][str(tiny_causal)]
    verdicts = guarded["settings"]["guard"]
    assert sum(verdicts.values()) == 4
    assert set(verdicts) <= {"passed", "repaired", "regenerated", "fallback"}
    assert guarded["settings"]["method"] == {"abstractive": 4}
    assert main([*args, "-o", str(out)]) == 0  # from the cache: same verdicts
    again = json.loads((out / "report.json").read_text())["systems"][str(tiny_causal)]
    assert again["settings"]["generated"] == 0 and again["settings"]["guard"] == verdicts


def test_an_unknown_generation_setting_is_a_clear_error(summary_suite, tiny_causal, tmp_path):
    suite = load_suite(str(summary_suite))
    opts = EvalOptions(
        models=[str(tiny_causal)], progress=False, cache=str(tmp_path), generation={"beams": 4}
    )
    with pytest.raises(ValueError, match="unknown generation setting.*num_beams"):
        evaluate_suite(suite, opts)
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        main(["eval", str(summary_suite), "--set", "num_beams"])
