"""Would a sentence ranker learned from reference summaries beat the extractive default?

Usage::

    python eval/tools/probe_ranker.py [--suite news-standfirst] [--train train] [--split dev]
                                      [--limit N]

Every sentence of every training article gets features a ranker may use (position, TextRank
and centroid centrality, cosine and BERTScore/ROUGE overlap with the article's title, length,
quotes, digits) and a target: its BERTScore F against the article's reference, minus the
article's mean. A gradient-boosted regressor and a ridge regression (scikit-learn, seed 0)
learn the target on the training split; on the evaluation split each one ranks the sentences
and the top ones, in the article's order, are scored as summaries: the best 1, the best 2, and
sentences until 50 words. The extractive default's own ranking (TextRank with the lead prior
0.25, mixed with the title cosine at 0.75: `toolkit.extract`) is scored the same way, beside
lead-3. ROUGE-2 and BERTScore F x100 with bootstrap 95% intervals (1000 resamples, seed 0), as
`toolkit eval` reports them. About 15 minutes for news-standfirst on a 2-core CPU.

This is a probe, not a feature: the toolkit ships no learned ranker (README, "Faithful
summaries").
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from toolkit import metrics
from toolkit.extract import Extractor, centroid_scores, textrank
from toolkit.suites import load_suite


def articles(rows: list[dict[str, Any]], extractor: Extractor) -> list[dict[str, Any]]:
    """Sentences, embeddings and per-sentence scores against the reference and the title."""
    out = []
    for row in rows:
        sentences = extractor.sentences(row["text"]) or [""]
        title = (row.get("title") or "").strip()
        vectors = extractor._encode([*sentences, title or "."])
        out.append(
            {
                "sentences": sentences,
                "reference": row["reference"],
                "title": title,
                "vectors": vectors[:-1],
                "topic": vectors[-1],
            }
        )
    flat = [s for a in out for s in a["sentences"]]
    refs = [a["reference"] for a in out for _ in a["sentences"]]
    titles = [a["title"] or "." for a in out for _ in a["sentences"]]
    by_ref = metrics.bertscore(flat, refs)
    by_title = metrics.bertscore(flat, titles)
    rouge_title = metrics.rouge(flat, titles)
    start = 0
    for a in out:
        end = start + len(a["sentences"])
        a["target"] = np.array([s["bertscore_f"] for s in by_ref[start:end]])
        a["title_bs"] = np.array([[s[k] for k in ("bertscore_p", "bertscore_r", "bertscore_f")]
                                  for s in by_title[start:end]])  # fmt: skip
        a["title_rouge"] = np.array(
            [[s["rouge1_r"], s["rouge2_r"]] for s in rouge_title[start:end]]
        )
        start = end
    return out


def _rank(x: np.ndarray) -> np.ndarray:
    """0 for the largest value, 1 for the next ..."""
    order = np.argsort(-x, kind="stable")
    out = np.empty(len(x))
    out[order] = np.arange(len(x))
    return out


def features(a: dict[str, Any]) -> np.ndarray:
    """One row of features per sentence of an article."""
    n = len(a["sentences"])
    i = np.arange(n)
    v = a["vectors"]
    title = v @ a["topic"] if a["title"] else np.zeros(n)
    centrality = textrank(v @ v.T)
    centrality = centrality / centrality.max()
    centroid = centroid_scores(v)
    words = np.array([len(s.split()) for s in a["sentences"]])
    quoted = np.array([('"' in s or "\u201c" in s) for s in a["sentences"]], dtype=float)
    digits = np.array([any(c.isdigit() for c in s) for s in a["sentences"]], dtype=float)
    bs_f = a["title_bs"][:, 2]
    return np.column_stack(
        [
            1 / (1 + i), i / max(n - 1, 1), i == 0, i == 1, i == 2,
            centrality, centroid, title, title - title.max(), 1 / (1 + _rank(title)),
            1 / (1 + _rank(centroid)), np.minimum(words, 60) / 60, words < 8, words > 40,
            v @ v[0], quoted, digits, np.full(n, np.log(n + 1)),
            a["title_bs"], bs_f - bs_f.max(), 1 / (1 + _rank(bs_f)), a["title_rouge"],
            v @ v[:3].mean(axis=0),
        ]
    ).astype(float)  # fmt: skip


def default_scores(a: dict[str, Any], extractor: Extractor) -> np.ndarray:
    """The extractive default's scores (``Extractor.score_vectors``), from the same embeddings."""
    return extractor.score_vectors(a["vectors"], a["topic"] if a["title"] else None)


def pick(a: dict[str, Any], scores: np.ndarray, *, most: int | None, words: int | None) -> str:
    """The best sentences (of six words or more) by score, in the article's order."""
    lengths = [len(s.split()) for s in a["sentences"]]
    candidates = [j for j, n in enumerate(lengths) if n >= 6] or list(range(len(lengths)))
    chosen: list[int] = []
    total = 0
    for j in sorted(candidates, key=lambda k: (-scores[k], k)):
        if (most is not None and len(chosen) >= most) or (words is not None and total >= words):
            break
        chosen.append(j)
        total += lengths[j]
    return " ".join(a["sentences"][j] for j in sorted(chosen))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="news-standfirst")
    parser.add_argument("--train", default="train")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--limit", type=int, default=None, help="first N rows of each split")
    args = parser.parse_args()
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import Ridge

    suite = load_suite(args.suite)
    extractor = Extractor()
    data = {}
    for split in (args.train, args.split):
        rows = [dict(r) for r in suite.load(split=split)]
        rows = rows[: args.limit] if args.limit else rows
        data[split] = articles(rows, extractor)
        print(f"{args.suite} {split}: {len(rows)} articles", flush=True)
    train, test = data[args.train], data[args.split]
    x = np.vstack([features(a) for a in train])
    y = np.concatenate([a["target"] - a["target"].mean() for a in train])
    rankers = {
        "gradient boosting": GradientBoostingRegressor(
            n_estimators=200, max_depth=3, learning_rate=0.05, subsample=0.8, random_state=0
        ).fit(x, y),
        "ridge": Ridge(alpha=1.0).fit(x, y),
    }
    refs = [a["reference"] for a in test]
    print("\n| ranking | sentences | R-2 | BERTScore | words |\n|---|---|---|---|---|")

    def report(name: str, size: str, outputs: list[str]) -> None:
        cells = []
        rouge = [s["rouge2_f"] for s in metrics.rouge(outputs, refs)]
        bert = [s["bertscore_f"] for s in metrics.bertscore(outputs, refs)]
        for values in (rouge, bert):
            mean, low, high = metrics.bootstrap_ci(values, n=1000, seed=0)
            cells.append(f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]")
        words = sum(len(o.split()) for o in outputs) / len(outputs)
        print(f"| {name} | {size} | {cells[0]} | {cells[1]} | {words:.0f} |", flush=True)

    report("lead-3", "3", [" ".join(a["sentences"][:3]) for a in test])
    scored = {"extractive default": [default_scores(a, extractor) for a in test]}
    scored |= {name: [m.predict(features(a)) for a in test] for name, m in rankers.items()}
    for name, scores in scored.items():
        for size, most, words in (("1", 1, None), ("2", 2, None), ("until 50 words", None, 50)):
            outputs = [
                pick(a, s, most=most, words=words) for a, s in zip(test, scores, strict=True)
            ]
            report(name, size, outputs)


if __name__ == "__main__":
    main()
