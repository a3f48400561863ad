"""Run the summariser guard's check over the outputs of an eval report.

Usage::

    python eval/tools/audit_guard.py REPORT_DIR/report.json SYSTEM

Re-checks every output of SYSTEM (e.g. ``smollm2-135m``) against its article and title with
:func:`toolkit.faithful.check` (the instructions of ``summarise.j2``), and prints how many
fail and by which kinds: how the README counts outputs that are not summaries.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from toolkit.faithful import check
from toolkit.prompts import Prompts
from toolkit.suites import load_suite


def main() -> None:
    path, system = sys.argv[1], sys.argv[2]
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    suite = load_suite(report["suite"]["name"])
    options = report["options"]
    rows = suite.load(split=options.get("split") or suite.split, limit=options.get("limit"))
    by_id = {str(r["id"]): r for r in rows}
    instructions = Prompts().render(
        "summarise.j2", article="", title=None, words=25, style="sentence", model_type="llama"
    )
    kinds: Counter[str] = Counter()
    failing = []
    examples = report["systems"][system]["examples"]
    for example in examples:
        row = by_id[str(example["id"])]
        source = f"{row['title']}\n\n{row['text']}" if row.get("title") else row["text"]
        verdict = check(example["prediction"], source, instructions=instructions)
        kinds.update(verdict.kinds)
        if verdict.kinds:
            failing.append((example["id"], verdict.kinds, example["prediction"][:120]))
    print(f"{system}: {len(examples)} outputs, {len(failing)} fail the check {dict(kinds)}")
    for item in failing:
        print(" ", *item)


if __name__ == "__main__":
    main()
