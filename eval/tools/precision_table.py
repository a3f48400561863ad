"""The precision table of docs/results.md: the default summariser in bfloat16 and float32 on
the news-standfirst dev split, from the two reports of

    toolkit eval news-standfirst --split dev --set precision=bfloat16 -o eval-out/prec-bfloat16
    toolkit eval news-standfirst --split dev --set precision=float32 -o eval-out/prec-float32

Usage: python eval/tools/precision_table.py eval-out/prec-bfloat16 eval-out/prec-float32
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def model_row(folder: Path) -> dict:
    report = json.loads((folder / "report.json").read_text())
    systems = report["systems"]
    systems = systems.values() if isinstance(systems, dict) else systems
    return next(s for s in systems if s["kind"] == "model")


def cell(agg: dict, key: str) -> str:
    m = agg[key]
    return f"{100 * m['mean']:.1f} [{100 * m['low']:.1f}, {100 * m['high']:.1f}]"


def main(folders: list[str]) -> None:
    print("| precision | R-2 | BERTScore | guard passed | regenerated | fallback | s/example |")
    print("|---|---|---|---|---|---|---|")
    for folder in folders:
        row = model_row(Path(folder))
        settings, agg = row["settings"], row["aggregate"]
        guard = settings.get("guard", {})
        total = sum(guard.values()) or 1
        share = {k: f"{guard.get(k, 0)} ({100 * guard.get(k, 0) / total:.0f}%)" for k in guard}
        print(
            f"| {settings['options']['precision']} | {cell(agg, 'rouge2_f')} | "
            f"{cell(agg, 'bertscore_f')} | {share.get('passed', '0')} | "
            f"{share.get('regenerated', '0')} | {share.get('fallback', '0')} | "
            f"{settings.get('seconds_per_example') or 0:.2f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
