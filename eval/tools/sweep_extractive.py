"""The extractive summariser's settings, measured on a dev split (how the defaults were chosen).

Usage::

    python eval/tools/sweep_extractive.py [--suite news-standfirst] [--split dev]

Scores each centrality method (TextRank, centroid) with each lead prior (0, 0.25, 0.5, 0.75),
one sentence a summary, beside lead-1 and the lead method (the first sentence of at least six
words), then TextRank with the lead prior 0.25 mixed with the similarity to the article's
title (title weights 0.5, 0.75, 0.9), on every example of the split: ROUGE-2 and BERTScore
(F, x100) with bootstrap 95% intervals, mean length, and seconds per article (each setting
embeds the articles again: about 0.3 s an article on a 2-core CPU, 20 minutes for the 239
dev articles with scoring). ``--title-only`` runs the title rows alone.
"""

from __future__ import annotations

import argparse
import time

from toolkit import metrics
from toolkit.evaluate import lead, score_summaries
from toolkit.extract import ExtractOptions, Extractor
from toolkit.suites import load_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="news-standfirst")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--title-only", action="store_true", help="only the title rows")
    args = parser.parse_args()
    rows = [dict(r) for r in load_suite(args.suite).load(split=args.split)]
    print(f"{args.suite} {args.split}: {len(rows)} examples\n")
    print("| system | R-2 | BERTScore | words | s/article |\n|---|---|---|---|---|")
    extractor = Extractor()

    def report(name: str, outputs: list[str], seconds: float | None = None) -> None:
        scores = score_summaries(outputs, rows, ["rouge", "bertscore"])
        cells = []
        for key in ("rouge2_f", "bertscore_f"):
            values = [s[key] for s in scores if s.get(key) is not None]
            mean, low, high = metrics.bootstrap_ci(values, n=1000, seed=0)
            cells.append(f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]")
        words = sum(len(o.split()) for o in outputs) / len(outputs)
        per = f"{seconds / len(rows):.2f}" if seconds is not None else ""
        print(f"| {name} | {cells[0]} | {cells[1]} | {words:.1f} | {per} |", flush=True)

    report("lead-1", [lead(r["text"], 1) for r in rows])
    weights = (0.0, 0.25, 0.5, 0.75)
    runs = [("lead", 0.0, None)] + [(m, w, None) for m in ("textrank", "centroid") for w in weights]
    runs = [] if args.title_only else runs
    runs += [("textrank", 0.25, t) for t in (0.5, 0.75, 0.9)]
    for method, weight, title_weight in runs:
        extractor.options = ExtractOptions(
            method=method, lead_weight=weight, title_weight=title_weight or 0.0
        )
        start = time.perf_counter()
        outputs = [
            " ".join(extractor.select(r["text"], title=r.get("title") if title_weight else None))
            for r in rows
        ]
        name = "lead method" if method == "lead" else f"{method}, lead prior {weight}"
        name += f", title weight {title_weight}" if title_weight else ""
        report(name, outputs, time.perf_counter() - start)


if __name__ == "__main__":
    main()
