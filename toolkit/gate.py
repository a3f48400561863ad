"""The eval gate: a fixed slice of each suite must score at least its pinned floor.

``python -m toolkit.gate`` (run by ``make test``) evaluates, for every suite in
``eval/floors.toml``, the first ``gate_limit`` examples of its split (set in the suite file)
with the listed models and the baselines, and the ``cleanbench`` section's cleaning
benchmark (snippet recall and leakage of the HTML and plain-text paths), prints each score
beside its floor, and exits 1 when a score falls below its floor or a lower-is-better score
(hallucination, leakage) rises above its ceiling. The data slice is pinned by its sha256, so a
change of data cannot pass for a change of quality.

``--update`` writes the new scores as floors and ceilings, but only where they are better;
lowering a floor (or raising a ceiling) needs ``--allow-lower`` as well, on purpose.
A tolerance (``TOLERANCE``) below each measured score absorbs float noise between machines.
Summarisers run in float32 here, whatever the machine's native precision, so that every CI
machine gates the same outputs; bfloat16 against float32 is in ``docs/results.md``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "TOLERANCE",
    "check",
    "cleanbench_scores",
    "main",
    "merge",
    "read_floors",
    "render_floors",
]

TOLERANCE = 0.005
DEFAULT_FLOORS = Path(__file__).resolve().parents[1] / "eval" / "floors.toml"


def read_floors(path: Path) -> dict[str, Any]:
    """Parse the floors file: ``{suite: {data_sha256, models, floors, ceilings}}``."""
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    with path.open("rb") as fh:
        return dict(tomllib.load(fh))


def render_floors(spec: dict[str, Any]) -> str:
    """TOML text of a floors spec (the inverse of :func:`read_floors`)."""
    lines = [
        "# The eval gate (python -m toolkit.gate, run by `make test`): the first `gate_limit`",
        "# examples of each suite (see its file) must reach these floors; ceilings: lower is",
        "# better. The slice is pinned by its data sha256.",
        "# Written by `python -m toolkit.gate --update`; lowering needs --allow-lower.",
    ]
    for suite, s in spec.items():
        lines += ["", f"[{suite}]"]
        if s.get("data_sha256"):
            lines.append(f'data_sha256 = "{s["data_sha256"]}"')
        lines.append("models = [" + ", ".join(f'"{m}"' for m in s.get("models", [])) + "]")
        for table in ("floors", "ceilings"):
            if s.get(table):
                lines += ["", f"[{suite}.{table}]"]
                lines += [f'"{k}" = {v:.4f}' for k, v in sorted(s[table].items())]
    return "\n".join(lines) + "\n"


def measured_scores(report: dict[str, Any]) -> dict[str, float]:
    """``"system:metric" -> mean`` for every aggregate with a mean."""
    out = {}
    for system, data in report["systems"].items():
        for metric, agg in data["aggregate"].items():
            if isinstance(agg, dict) and "mean" in agg:
                out[f"{system}:{metric}"] = float(agg["mean"])
    return out


def check(
    scores: dict[str, float], floors: dict[str, float], ceilings: dict[str, float]
) -> list[str]:
    """The regressions: a line for each floor not reached and each ceiling exceeded."""
    failures = []
    for key, floor in floors.items():
        value = scores.get(key)
        if value is None or value < floor:
            failures.append(f"{key}: {value} < floor {floor:.4f}")
    for key, ceiling in ceilings.items():
        value = scores.get(key)
        if value is None or value > ceiling:
            failures.append(f"{key}: {value} > ceiling {ceiling:.4f}")
    return failures


def merge(
    old: dict[str, float], scores: dict[str, float], keys: list[str], *, lower_is_better: bool,
    allow_lower: bool, tolerance: float = TOLERANCE,
) -> tuple[dict[str, float], list[str]]:  # fmt: skip
    """New floors (or ceilings) from measured scores; refused changes in the other direction.

    Returns:
        (new values, lines about the changes that need --allow-lower and were not made)
    """
    new, refused = dict(old), []
    for key in keys:
        if key not in scores:
            continue
        if lower_is_better:
            value = math.ceil((scores[key] + tolerance) * 10_000) / 10_000
            worse = key in old and value > old[key]
        else:
            value = max(0.0, math.floor((scores[key] - tolerance) * 10_000) / 10_000)
            worse = key in old and value < old[key]
        if worse and not allow_lower:
            refused.append(f"{key}: {old[key]:.4f} -> {value:.4f} needs --allow-lower")
            continue
        new[key] = value
    return new, refused


LOWER_IS_BETTER = ("hallucination_micro", "hallucination_rate", "novel_2grams", "leakage")
GATED = (
    "rouge2_f",
    "rougeLsum_f",
    "bertscore_f",
    "hallucination_micro",
    "accuracy",
    "macro_f1",
    "recall",
    "leakage",
)
CLEANBENCH = "cleanbench"  # the floors section of the cleaning benchmark (not a suite)
CLEANBENCH_ROWS = ("clean-html", "clean-html-comments", "clean-text")


def cleanbench_scores(cache: str | None = None) -> tuple[dict[str, float], str, str]:
    """``"row:recall"`` / ``"row:leakage"`` of the cleaning benchmark's own rows, the sdist's
    sha256 and a size line (see :mod:`toolkit.cleanbench`)."""
    from .cleanbench import run_benchmark

    result = run_benchmark(cache, CLEANBENCH_ROWS)
    scores = {
        f"{row}:{key}": float(result["rows"][row][key])
        for row in CLEANBENCH_ROWS
        for key in ("recall", "leakage")
    }
    data = result["data"]
    return scores, data["sha256"], f"{data['pages']} pages"


def main(argv: list[str] | None = None) -> int:
    """Run the gate; the exit status is 1 on any regression."""
    from .settings import quiet_libraries

    quiet_libraries()
    from .evaluate import EvalOptions, evaluate_suite
    from .suites import load_suite

    parser = argparse.ArgumentParser(prog="python -m toolkit.gate", description=__doc__)
    parser.add_argument("--floors", type=Path, default=DEFAULT_FLOORS)
    parser.add_argument("--update", action="store_true", help="raise floors to the new scores")
    parser.add_argument("--allow-lower", action="store_true", help="with --update: also lower")
    parser.add_argument("--suite", action="append", help="only these suites")
    parser.add_argument("--cache-dir")
    args = parser.parse_args(argv)

    spec = read_floors(args.floors)
    failed: list[str] = []
    for name, s in spec.items():
        if args.suite and name not in args.suite:
            continue
        if name == CLEANBENCH:
            scores, sha, size = cleanbench_scores(args.cache_dir)
        else:
            suite = load_suite(name)
            options = EvalOptions(
                models=list(s.get("models", [])),  # [] = baselines only
                limit=suite.gate_limit,
                bootstrap=200,
                progress=False,
                cache=args.cache_dir,
                # float32: the same summaries on every machine, with or without native
                # bfloat16 (bfloat16 against float32 is measured on the whole dev split)
                generation={"precision": "float32"},
            )
            report = evaluate_suite(suite, options)
            scores = measured_scores(report)
            sha, size = report["dataset"]["sha256"], f"{report['dataset']['rows']} examples"
        print(f"{name}: {size}, data {sha[:12]}")
        if s.get("data_sha256") and s["data_sha256"] != sha and not args.allow_lower:
            failed.append(f"{name}: the gate slice changed ({s['data_sha256'][:12]} -> {sha[:12]})")
        floors, ceilings = dict(s.get("floors", {})), dict(s.get("ceilings", {}))
        for key in sorted(set(floors) | set(ceilings)):
            bound = f"floor {floors[key]:.4f}" if key in floors else f"ceiling {ceilings[key]:.4f}"
            print(f"  {key:42} {scores.get(key, float('nan')):.4f}  ({bound})")
        failed += [f"{name}: {line}" for line in check(scores, floors, ceilings)]
        if args.update:
            keys = [k for k in scores if k.split(":", 1)[1] in GATED]
            low = [k for k in keys if k.split(":", 1)[1] in LOWER_IS_BETTER]
            high = [k for k in keys if k not in low]
            # the cleaning benchmark counts snippets: no float noise, one snippet matters
            tol = 0.0 if name == CLEANBENCH else TOLERANCE
            s["floors"], refused = merge(
                floors, scores, high, lower_is_better=False, allow_lower=args.allow_lower,
                tolerance=tol,
            )  # fmt: skip
            s["ceilings"], refused2 = merge(
                ceilings, scores, low, lower_is_better=True, allow_lower=args.allow_lower,
                tolerance=tol,
            )  # fmt: skip
            s["data_sha256"] = sha
            for line in refused + refused2:
                print(f"  not changed: {line}")
    if args.update:
        from .write import atomic_write_text

        atomic_write_text(args.floors, render_floors(spec))
        print(f"wrote {args.floors}")
        return 0
    for line in failed:
        print(f"REGRESSION {line}", file=sys.stderr)
    print("eval gate:", "FAILED" if failed else "passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
