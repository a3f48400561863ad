"""How far sentence extraction can go on a summary suite: oracle bounds beside the lead baselines.

Usage::

    python eval/tools/oracle.py [--suite news-standfirst] [--split test] [--limit N]

For every example, each sentence of the article is scored against the reference (which no real
system sees), and the best one is kept: by ROUGE-2 F ("oracle sentence, by ROUGE-2") and by
BERTScore F ("oracle sentence, by BERTScore"). No single sentence taken from the article can
score above these rows on the score it was picked by: they bound what one-sentence extraction
can reach, whatever ranks the sentences.
Scores x100 with bootstrap 95% intervals (1000 resamples, seed 0), as `toolkit eval` gives
them; the lead rows repeat that command's baselines.
"""

from __future__ import annotations

import argparse

from toolkit import metrics
from toolkit.evaluate import lead
from toolkit.suites import load_suite
from toolkit.text import split_sentences


def best_by(candidates: list[list[str]], scores: list[float]) -> list[int]:
    """For each group of candidates, the index (within the group) of its best score; the
    scores are the groups' candidates one after another. The earlier candidate wins a tie."""
    out, start = [], 0
    for group in candidates:
        chunk = scores[start : start + len(group)]
        out.append(max(range(len(group)), key=lambda i: (chunk[i], -i)) if group else -1)
        start += len(group)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="news-standfirst")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    rows = [dict(r) for r in load_suite(args.suite).load(split=args.split)]
    rows = rows[: args.limit] if args.limit else rows
    refs = [r["reference"] for r in rows]
    print(f"{args.suite} {args.split}: {len(rows)} examples\n")
    print("| system | R-2 | BERTScore | words |\n|---|---|---|---|")

    def report(name: str, outputs: list[str]) -> None:
        cells = []
        rouge = metrics.rouge(outputs, refs)
        bert = metrics.bertscore(outputs, refs)
        for values in ([s["rouge2_f"] for s in rouge], [s["bertscore_f"] for s in bert]):
            mean, low, high = metrics.bootstrap_ci(values, n=1000, seed=0)
            cells.append(f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]")
        words = sum(len(o.split()) for o in outputs) / len(outputs)
        print(f"| {name} | {cells[0]} | {cells[1]} | {words:.1f} |", flush=True)

    for k in (1, 3):
        report(f"lead-{k}", [lead(r["text"], k) for r in rows])

    sentences = [split_sentences(" ".join(r["text"].split())) or [""] for r in rows]
    flat = [s for group in sentences for s in group]
    flat_refs = [ref for group, ref in zip(sentences, refs, strict=True) for _ in group]
    by_rouge = [s["rouge2_f"] for s in metrics.rouge(flat, flat_refs)]
    by_bert = [s["bertscore_f"] for s in metrics.bertscore(flat, flat_refs)]
    for name, scores in (("ROUGE-2", by_rouge), ("BERTScore", by_bert)):
        picks = best_by(sentences, scores)
        report(f"oracle sentence, by {name}", [g[i] for g, i in zip(sentences, picks, strict=True)])


if __name__ == "__main__":
    main()
