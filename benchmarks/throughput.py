"""`make bench` (throughput part): the toolkit's default pipeline against the plain loop a
user writes, on the same real news articles, each measurement in a fresh process.

Rows (all on the first ``ARTICLES`` dev articles of news-standfirst, cut to 500 words):
- the plain loop: one article per ``generate``, float32, the toolkit's one-sentence prompt
  through the chat template, greedy, 60 new tokens, no constraint, no guard, no tagging;
- the same loop in bfloat16 (bfloat16 only) and in batches of 8 with left padding in float32
  (batching only), so that the contribution of each is seen;
- ``toolkit summarise`` with its defaults (cleaning, constrained decoding, guard, tagging)
  over a folder of those articles (one ``.txt`` each, title first);
- the compute floor of the same work: prompt tokens x 2 x parameters at the measured bfloat16
  matmul rate, plus the weight bytes of each decoding step at the measured memory bandwidth,
  divided by the batch size;
- peak memory (max RSS) of each row, and of the default run on 2,000 and 20,000 small
  generated articles with ``--model extractive:lead`` and no tags (memory flat in the corpus).

Run alone: ``python benchmarks/throughput.py`` (or ``make bench``, which runs it after the
other rows); ``--articles N`` and ``--flat A,B`` change the sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = 32
WORDS = 500
NEW_TOKENS = 60
BATCH = 8


def _articles(n: int) -> list[tuple[str, str]]:
    """(title, text) of the first ``n`` news-standfirst dev articles, cut to 500 words."""
    from toolkit.suites import load_suite

    rows = load_suite("news-standfirst").load(split="dev", limit=n)
    return [(r.get("title") or "", " ".join(r["text"].split()[:WORDS])) for r in rows]


def _loop_inputs(n: int, precision: str) -> tuple[object, object, list]:
    """The model, tokenizer and per-article chat-template ids of the plain loop."""
    from toolkit.summarize import Summarizer, SummaryOptions

    options = SummaryOptions(precision=precision, faithful=False, no_meta=False, guard="off")
    summarizer = Summarizer(device="cpu", options=options)
    ids = [summarizer.encode(summarizer.prompt(text, title)) for title, text in _articles(n)]
    return summarizer.model, summarizer.tokenizer, ids


def child_loop(n: str, precision: str) -> dict:
    """The plain loop: one article per generate call."""
    import torch

    model, tok, inputs = _loop_inputs(int(n), precision)
    with torch.inference_mode():
        model.generate(**inputs[0], max_new_tokens=4, do_sample=False)  # warm-up
        t = time.perf_counter()
        for item in inputs:
            model.generate(**item, max_new_tokens=NEW_TOKENS, do_sample=False,
                           pad_token_id=tok.eos_token_id)  # fmt: skip
    seconds = time.perf_counter() - t
    tokens = sum(int(i["input_ids"].shape[-1]) for i in inputs)
    return {"seconds": seconds, "articles": len(inputs), "prompt_tokens": tokens}


def child_batched(n: str, precision: str) -> dict:
    """The same prompts in batches of 8, left padding, sorted by length."""
    import torch

    model, tok, inputs = _loop_inputs(int(n), precision)
    rows = sorted((i["input_ids"][0].tolist() for i in inputs), key=len, reverse=True)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    with torch.inference_mode():
        model.generate(**inputs[0], max_new_tokens=4, do_sample=False)  # warm-up
        t = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            width = max(len(r) for r in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for k, row in enumerate(batch):
                ids[k, width - len(row) :] = torch.tensor(row)
                mask[k, width - len(row) :] = 1
            model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=NEW_TOKENS,
                           do_sample=False, pad_token_id=pad)  # fmt: skip
    return {"seconds": time.perf_counter() - t, "articles": len(rows)}


def child_toolkit(n: str) -> dict:
    """``toolkit summarise`` with its defaults over a folder of the articles."""
    from toolkit.core import RunOptions, run_folder
    from toolkit.summarize import Summarizer
    from toolkit.tag import Tagger

    summarizer, tagger = Summarizer(device="cpu"), Tagger(device="cpu")
    summarizer.summarise("The council approved the new bridge on Monday.")  # warm-up
    tagger("The council approved the new bridge on Monday.")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i, (title, text) in enumerate(_articles(int(n))):
            (src / f"a{i:03d}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
        options = RunOptions(progress=False)
        t = time.perf_counter()
        report = run_folder(src, Path(tmp) / "out", summarizer=summarizer, tagger=tagger,
                            options=options)  # fmt: skip
        seconds = time.perf_counter() - t
        records = [json.loads(x) for x in (Path(tmp) / "out" / "summaries.jsonl").open()]
    guard: dict[str, int] = {}
    for rec in records:
        key = str(rec["summary_info"]["guard"])
        guard[key] = guard.get(key, 0) + 1
    return {
        "seconds": seconds,
        "articles": report.processed,
        "dtype": summarizer.dtype,
        "batch_size": summarizer.options.batch_size,
        "guard": guard,
        "prompt_tokens": sum(int(r["summary_info"]["input_tokens"]) for r in records),
    }


def child_rates() -> dict:
    """The machine's bfloat16 matmul rate (FLOP/s) and memory bandwidth (bytes/s)."""
    import torch

    a = torch.randn(2048, 2048, dtype=torch.bfloat16)
    b = torch.randn(2048, 2048, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    reps, t = 20, time.perf_counter()
    for _ in range(reps):
        a @ b
    flops = 2 * 2048**3 * reps / (time.perf_counter() - t)
    big = torch.empty(256 * 2**20, dtype=torch.uint8)  # 256 MiB, far past the caches
    dst = torch.empty_like(big)
    dst.copy_(big)
    reps, t = 10, time.perf_counter()
    for _ in range(reps):
        dst.copy_(big)
    bandwidth = 2 * big.numel() * reps / (time.perf_counter() - t)  # read + write
    from toolkit.models import load_generator

    model, _, _, _ = load_generator("smollm2-135m", device="cpu", precision="bfloat16")
    params = sum(p.numel() for p in model.parameters())
    return {"flops": flops, "bandwidth": bandwidth, "params": params}


def make_corpus(folder: Path, n: int) -> None:
    """``n`` small generated articles (8 sentences of 12 words), 1,000 a subfolder."""
    import random

    rng = random.Random(20)
    vocab = [f"word{i}" for i in range(5000)]
    for i in range(n):
        sub = folder / f"part{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        sentences = [
            " ".join(rng.choice(vocab) for _ in range(12)).capitalize() + "." for _ in range(8)
        ]
        (sub / f"a{i:06d}.txt").write_text(f"Title {i}\n\n" + " ".join(sentences) + "\n")


def child_flat(folder: str) -> dict:
    """The default run with the lead extractor and no tags over a generated corpus (made by
    the parent, so that this process holds only the run); peak memory is what is compared."""
    from toolkit.core import RunOptions, run_folder
    from toolkit.summarize import Summarizer

    summarizer = Summarizer("extractive:lead")
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(progress=False, tags=False)
        t = time.perf_counter()
        report = run_folder(folder, Path(tmp) / "out", summarizer=summarizer, options=options)
        seconds = time.perf_counter() - t
    return {"seconds": seconds, "articles": report.processed}


CHILDREN = {
    "loop": child_loop,
    "batched": child_batched,
    "toolkit": child_toolkit,
    "rates": child_rates,
    "flat": child_flat,
}


def measure(name: str, *args: str) -> dict:
    """Run one child measurement of this script in a fresh process (see ``bench.measure``)."""
    from bench import measure as run_child  # benchmarks/ is on the path when run as a script

    return run_child(name, *args, script=__file__)


def table(n: int, flat: tuple[int, int]) -> str:
    """Measure every row; the Markdown table."""
    loop = measure("loop", str(n), "float32")
    bf16 = measure("loop", str(n), "bfloat16")
    batched = measure("batched", str(n), "float32")
    default = measure("toolkit", str(n))
    rates = measure("rates")
    sizes = []
    for size in flat:
        with tempfile.TemporaryDirectory() as tmp:
            make_corpus(Path(tmp), size)
            sizes.append(measure("flat", tmp))
    small, large = sizes

    def per_min(row: dict) -> float:
        return 60 * row["articles"] / row["seconds"]

    base = per_min(loop)
    # the floor of the default's work: its prompts once through the model, and one read of
    # the bfloat16 weights per decoding step, shared by the batch
    prefill = loop["prompt_tokens"] * 2 * rates["params"] / rates["flops"]
    decode = NEW_TOKENS * 2 * rates["params"] / rates["bandwidth"] / default["batch_size"]
    floor_s = (prefill + decode * n) / n
    lines = [
        f"{n} news-standfirst dev articles cut to {WORDS} words, {NEW_TOKENS} new tokens, "
        f"{os.cpu_count()} CPU cores; bf16 matmul {rates['flops'] / 1e9:.0f} GFLOP/s, memory "
        f"{rates['bandwidth'] / 1e9:.1f} GB/s, {rates['params'] / 1e6:.0f} M parameters",
        "",
        "| row | articles/min | s/article | × plain loop | peak MB |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [
        ("plain loop, float32, one article per call (baseline)", loop),
        ("plain loop, bfloat16 (bfloat16 only)", bf16),
        (f"plain prompts in batches of {BATCH}, float32 (batching only)", batched),
        (
            f"toolkit default end to end ({default['dtype']}, batch {default['batch_size']}; "
            "clean, constrained decoding, guard, tags)",
            default,
        ),
    ]
    for name, row in rows:
        rate = per_min(row)
        lines.append(
            f"| {name} | {rate:.1f} | {60 / rate:.2f} | {rate / base:.2f} | {row['peak_mb']:.0f} |"
        )
    lines.append(
        f"| compute floor of the same work | {60 / floor_s:.1f} | {floor_s:.2f} | "
        f"{60 / floor_s / base:.2f} | |"
    )
    lines += [
        "",
        f"Default against the floor: {60 / per_min(default) / floor_s:.1f}× the floor's time. "
        f"Guard verdicts of the default: {default['guard']}.",
        "",
        "| memory in the corpus size (extractive:lead, no tags) | articles | s | peak MB |",
        "|---|---:|---:|---:|",
        f"| small corpus | {small['articles']} | {small['seconds']:.0f} | {small['peak_mb']:.0f} |",
        f"| large corpus | {large['articles']} | {large['seconds']:.0f} | {large['peak_mb']:.0f} |",
        "",
        f"Peak memory, large / small: {large['peak_mb'] / small['peak_mb']:.2f} (target ≤ 1.10).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--articles", type=int, default=ARTICLES)
    parser.add_argument("--flat", default="2000,20000", help="the two corpus sizes")
    parser.add_argument("--write", metavar="FILE", help="also put the table into FILE")
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args()
    if ns.child:
        print(json.dumps(CHILDREN[ns.child](*ns.args)))
        return
    small, large = (int(x) for x in ns.flat.split(","))
    text = table(ns.articles, (small, large))
    print(text)
    if ns.write:
        write_section(Path(ns.write), text)


def machine() -> str:
    """The CPU model, its cores and whether it computes bfloat16 natively."""
    import platform

    from toolkit.settings import native_bfloat16

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    native = "native bfloat16" if native_bfloat16("cpu") else "no native bfloat16"
    return f"{name}, {os.cpu_count()} cores, {native}"


BEGIN, END = "<!-- throughput: begin -->", "<!-- throughput: end -->"


def write_section(path: Path, text: str) -> None:
    """Put the table, with its command, date and machine, between the throughput markers of
    the results document (appended when the markers are not there yet)."""
    stamp = time.strftime("%Y-%m-%d")
    body = (
        f"{BEGIN}\n`make bench` (`python benchmarks/throughput.py --write {path}`), "
        f"{stamp}, {machine()}.\n\n{text}\n{END}"
    )
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + body + rest.split(END, 1)[1]
    else:
        new = old + ("\n" if old else "") + "## Throughput\n\n" + body + "\n"
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
