"""The eval gate's logic: regressions found, floors raised but never silently lowered."""

from __future__ import annotations

from toolkit.gate import TOLERANCE, check, measured_scores, merge, read_floors, render_floors


def test_check_reports_floors_missed_and_ceilings_exceeded():
    scores = {"m:rouge2_f": 0.10, "m:hallucination_micro": 0.08, "lead-1:rouge2_f": 0.05}
    assert check(scores, {"m:rouge2_f": 0.09}, {"m:hallucination_micro": 0.10}) == []
    failures = check(scores, {"m:rouge2_f": 0.11, "x:gone": 0.1}, {"m:hallucination_micro": 0.05})
    assert len(failures) == 3
    assert any("m:rouge2_f" in f and "floor" in f for f in failures)
    assert any("x:gone: None" in f for f in failures)  # a vanished score is a regression


def test_merge_raises_floors_but_lowering_needs_the_flag():
    old = {"m:rouge2_f": 0.10}
    better, refused = merge(
        old, {"m:rouge2_f": 0.20}, ["m:rouge2_f"], lower_is_better=False, allow_lower=False
    )
    assert refused == [] and abs(better["m:rouge2_f"] - (0.20 - TOLERANCE)) < 1e-4
    same, refused = merge(
        old, {"m:rouge2_f": 0.05}, ["m:rouge2_f"], lower_is_better=False, allow_lower=False
    )
    assert same == old and "needs --allow-lower" in refused[0]
    lowered, refused = merge(
        old, {"m:rouge2_f": 0.05}, ["m:rouge2_f"], lower_is_better=False, allow_lower=True
    )
    assert refused == [] and lowered["m:rouge2_f"] < 0.10


def test_merge_of_ceilings_goes_the_other_way():
    old = {"m:hallucination_micro": 0.10}
    tighter, refused = merge(
        old,
        {"m:hallucination_micro": 0.02},
        ["m:hallucination_micro"],
        lower_is_better=True,
        allow_lower=False,
    )
    assert refused == [] and tighter["m:hallucination_micro"] < 0.10
    _, refused = merge(
        old,
        {"m:hallucination_micro": 0.30},
        ["m:hallucination_micro"],
        lower_is_better=True,
        allow_lower=False,
    )
    assert refused


def test_floors_file_round_trips(tmp_path):
    spec = {
        "news": {
            "data_sha256": "ab" * 32,
            "models": ["smollm2-135m"],
            "floors": {"lead-1:rouge2_f": 0.0512},
            "ceilings": {"m:x": 0.25},
        }
    }
    path = tmp_path / "floors.toml"
    path.write_text(render_floors(spec))
    assert read_floors(path) == spec


def test_measured_scores_flattens_aggregates():
    report = {
        "systems": {
            "m": {
                "aggregate": {
                    "rouge2_f": {"mean": 0.1, "low": 0, "high": 1},
                    "per_label": {"a": {}},
                }
            }
        }
    }
    assert measured_scores(report) == {"m:rouge2_f": 0.1}


def test_merge_without_tolerance_pins_the_exact_count():
    # the cleaning benchmark counts snippets: losing one of 198 must fail the gate
    scores = {"clean-html:recall": 184 / 198}
    floors, _ = merge(
        {}, scores, ["clean-html:recall"], lower_is_better=False, allow_lower=False, tolerance=0
    )
    assert check({"clean-html:recall": 184 / 198}, floors, {}) == []
    assert check({"clean-html:recall": 183 / 198}, floors, {}) != []
