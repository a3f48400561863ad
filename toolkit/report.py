"""Reports of an evaluation: JSON (everything), a Markdown table, a self-contained HTML page.

Scores in [0, 1] are shown as points (x100) with their 95% bootstrap interval.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from .write import atomic_write_text

__all__ = ["compare_markdown", "html_page", "markdown", "write_report"]

SUMMARY_COLUMNS = [
    ("rouge1_f", "R-1", True),
    ("rouge2_f", "R-2", True),
    ("rougeL_f", "R-L", True),
    ("rougeLsum_f", "R-Lsum", True),
    ("bertscore_f", "BERTScore", True),
    ("hallucination_micro", "halluc. ↓", True),
    ("novel_2grams", "novel 2g", True),
    ("summary_words", "words", False),
    ("compression", "compr.", False),
]
TOPIC_COLUMNS = [("accuracy", "accuracy", True), ("macro_f1", "macro-F1", True)]


def _cell(agg: dict[str, Any], key: str, points: bool) -> str:
    if key not in agg:
        return "–"
    a = agg[key]
    scale = 100.0 if points else 1.0
    return f"{a['mean'] * scale:.1f} [{a['low'] * scale:.1f}, {a['high'] * scale:.1f}]"


def markdown(report: dict[str, Any]) -> str:
    """A Markdown summary of a report: one row per system, baselines first."""
    suite = report["suite"]
    columns = SUMMARY_COLUMNS if suite["task"] == "summary" else TOPIC_COLUMNS
    lines = [
        f"# Evaluation: {suite['name']}",
        "",
        f"split `{suite.get('split')}`, {report['dataset']['rows']} examples, "
        f"data sha256 `{report['dataset']['sha256'][:12]}`, {report['created']}. "
        "Scores ×100 with bootstrap 95% intervals; ↓ lower is better.",
        "",
        "| system | kind | " + " | ".join(c[1] for c in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    order = sorted(report["systems"].items(), key=lambda kv: (kv[1]["kind"] != "baseline", kv[0]))
    for name, system in order:
        cells = [_cell(system["aggregate"], key, pts) for key, _, pts in columns]
        lines.append(f"| `{name}` | {system['kind']} | " + " | ".join(cells) + " |")
    for name, system in order:
        speed = system["settings"].get("seconds_per_example")
        if speed:
            lines.append(f"\n`{name}`: {speed:.2f} s per example on this run's machine.")
    return "\n".join(lines) + "\n"


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _plots(report: dict[str, Any]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    systems = report["systems"]
    if report["suite"]["task"] == "summary":
        for key, title in (("rouge2_f", "ROUGE-2 F1"), ("bertscore_f", "BERTScore F1")):
            series = {
                n: [e["scores"][key] for e in s["examples"] if e["scores"].get(key) is not None]
                for n, s in systems.items()
            }
            series = {n: v for n, v in series.items() if v}
            if not series:
                continue
            fig, ax = plt.subplots(figsize=(7, 3.2))
            ax.boxplot(list(series.values()), vert=False)
            ax.set_yticks(range(1, len(series) + 1), list(series))
            ax.set_xlabel(title + " per example")
            out.append((f"Distribution of {title}", _png(fig)))
            plt.close(fig)
    else:
        for name, system in systems.items():
            conf = system["aggregate"]["confusion"]
            labels, matrix = conf["labels"], conf["matrix"]
            fig, ax = plt.subplots(figsize=(4.5, 4))
            ax.imshow(matrix, cmap="Blues")
            ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
            ax.set_yticks(range(len(labels)), labels)
            ax.set_xlabel("predicted")
            ax.set_ylabel("gold")
            for i, row in enumerate(matrix):
                for j, v in enumerate(row):
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
            out.append((f"Confusion matrix: {name}", _png(fig)))
            plt.close(fig)
    return out


def html_page(report: dict[str, Any]) -> str:
    """A self-contained HTML page: the table, the plots (inline PNG), settings and examples."""
    suite = report["suite"]
    columns = SUMMARY_COLUMNS if suite["task"] == "summary" else TOPIC_COLUMNS
    rows = []
    for name, system in report["systems"].items():
        cells = "".join(
            f"<td>{html.escape(_cell(system['aggregate'], k, p))}</td>" for k, _, p in columns
        )
        rows.append(
            f"<tr><td><code>{html.escape(name)}</code></td><td>{system['kind']}</td>{cells}</tr>"
        )
    head = "".join(f"<th>{html.escape(c[1])}</th>" for c in columns)
    plots = "".join(
        f"<figure><img src='{src}' alt='{html.escape(t)}'><figcaption>{html.escape(t)}</figcaption>"
        "</figure>"
        for t, src in _plots(report)
    )
    samples = []
    first = next(iter(report["systems"].values()))["examples"][:10]
    for i, ex in enumerate(first):
        preds = "".join(
            f"<li><b>{html.escape(n)}</b>: {html.escape(str(s['examples'][i]['prediction']))}</li>"
            for n, s in report["systems"].items()
        )
        samples.append(
            f"<details><summary>{html.escape(str(ex['id']))}</summary><p><i>reference</i>: "
            f"{html.escape(str(ex['reference']))}</p><ul>{preds}</ul></details>"
        )
    settings = html.escape(
        json.dumps(
            {
                "suite": suite,
                "dataset": report["dataset"],
                "options": report.get("options"),
                "systems": {n: s["settings"] for n, s in report["systems"].items()},
                "environment": report["environment"],
            },
            indent=2,
        )
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Evaluation: {html.escape(suite["name"])}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
figure{{display:inline-block;margin:1em}}pre{{background:#f6f6f6;padding:1em;overflow:auto}}</style>
</head><body>
<h1>Evaluation: {html.escape(suite["name"])}</h1>
<p>split <code>{html.escape(str(suite.get("split")))}</code>, {report["dataset"]["rows"]} examples,
{html.escape(report["created"])}. Scores ×100 with bootstrap 95% intervals.</p>
<table><tr><th>system</th><th>kind</th>{head}</tr>{"".join(rows)}</table>
{plots}
<h2>Examples</h2>{"".join(samples)}
<h2>Settings</h2><pre>{settings}</pre>
</body></html>
"""


def write_report(report: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir`` (atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "html": out / "report.html"}
    atomic_write_text(paths["json"], json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(paths["md"], markdown(report))
    atomic_write_text(paths["html"], html_page(report))
    return paths


def compare_markdown(result: dict[str, Any]) -> str:
    """A Markdown table of a paired comparison (B − A per metric)."""
    a, b = result["a"], result["b"]
    lines = [
        f"# {b['system']} ({b['report']}) vs {a['system']} ({a['report']})",
        "",
        f"{result['examples']} shared examples; difference B − A with a paired bootstrap 95% "
        "interval; significant when the interval excludes 0.",
        "",
        "| metric | A | B | B − A | 95% interval | p | significant |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in result["metrics"].items():
        lines.append(
            f"| {key} | {r['a']:.4f} | {r['b']:.4f} | {r['diff']:+.4f} | "
            f"[{r['low']:+.4f}, {r['high']:+.4f}] | {r['p_value']:.3f} | "
            f"{'yes' if r['significant'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"
