"""A hostile folder end to end: the run finishes within a bound, every good article comes
through, every bad file has its one error line, and nothing outside the output changes.

The folder is built at test time (:mod:`tests.hostile`): a 3 MB one-line file, a million
3-character lines, JSON nested 100,000 deep, a FIFO, a link out of the folder, control
tokens and markup in articles, hostile ids, files named like the outputs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import hostile

ROOT = Path(__file__).resolve().parents[1]
BOUND = 300  # seconds: a run that hangs fails here instead of stalling CI


def toolkit(*args: str, timeout: float = BOUND) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOOLKIT_OFFLINE": "1"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    proc.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    return proc


def error_lines(stderr: str) -> dict[str, list[str]]:
    """source -> the ``error: SOURCE: reason`` lines that name it."""
    lines: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        if line.startswith("error: "):
            source, _, reason = line[len("error: ") :].partition(": ")
            lines.setdefault(source, []).append(reason)
    return lines


def check_errors(stderr: str, out: Path | None, bad: dict[str, str]) -> None:
    lines = error_lines(stderr)
    assert set(lines) == set(bad), stderr
    for source, why in bad.items():
        assert len(lines[source]) == 1, (source, lines[source])
        assert why in lines[source][0], (source, lines[source])
        assert "Traceback" not in lines[source][0]
    if out is not None:
        errors = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines()]
        assert sorted(e["source"] for e in errors) == sorted(bad)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    src, good, bad = hostile.build(root)
    return root, src, good, bad


def test_summarise_survives_the_hostile_folder(folder, tiny_causal, tiny_embedder):
    root, src, good, bad = folder
    out = src / "out"  # inside the input: it must not be read as input
    before = hostile.snapshot(root, skip=out)
    args = [
        "summarise", str(src), "-o", str(out), "--model", str(tiny_causal),
        "--tagger-model", str(tiny_embedder), "--labels", "politics,sport,economy",
        "--extractor", "lead", "--max-new-tokens", "8", "--no-progress",
    ]  # fmt: skip
    proc = toolkit(*args)
    assert proc.returncode == 1, proc.stderr
    check_errors(proc.stderr, out, bad)
    records = [json.loads(x) for x in (out / "summaries.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in records) == sorted(good)
    assert all(r["summary"] and r["topic_scores"] for r in records)
    assert hostile.snapshot(root, skip=out) == before  # nothing outside OUT changed
    assert {p.name for p in out.iterdir()} == {
        ".toolkit-run", "summaries.jsonl", "errors.jsonl", "digest.md", "run.json"
    }  # fmt: skip
    digest = (out / "digest.md").read_text()
    assert not re.search(r"(?<!\\)<(?:script|img|/?b>)", digest)
    assert not [ln for ln in digest.splitlines() if ln.startswith("# ") and "News digest" not in ln]
    # the control tokens stayed text: the summary of the hostile article is about the bridge
    tokens = next(r for r in records if r["id"] == "tokens")
    assert "HACKED" not in tokens["summary"]

    # a second run on the same folder: refused without --resume, and with it, the outputs
    # inside the input are not read as articles and every finished article is kept
    again = toolkit(*args)
    assert again.returncode == 2 and "already holds the results" in again.stderr
    assert "Traceback" not in again.stderr
    resumed = toolkit(*args, "--resume")
    assert resumed.returncode == 1
    assert f"0 summarised, {len(good)} kept from an earlier run" in resumed.stderr
    check_errors(resumed.stderr, out, bad)
    records = [json.loads(x) for x in (out / "summaries.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in records) == sorted(good)
    assert hostile.snapshot(root, skip=out) == before


def test_clean_survives_the_hostile_folder_and_reruns_do_not_grow(folder):
    root, src, good, bad = folder
    out = root / "cleaned"
    before = hostile.snapshot(root, skip=out)
    proc = toolkit("clean", str(src), "-o", str(out), "--no-progress")
    assert proc.returncode == 1, proc.stderr
    # cleaning alone has no size limit on the cleaned text and keeps empty results
    clean_bad = {k: v for k, v in bad.items() if k not in ("oneline.txt", "deep.html")}
    check_errors(proc.stderr, None, clean_bad)
    records = [json.loads(x) for x in (out / "cleaned.jsonl").read_text().splitlines()]
    ids = sorted(r["id"] for r in records)
    assert ids == sorted([*good, "oneline.txt", "deep.html"])
    # one text file per article, none overwritten by another
    names = [r["text_file"] for r in records]
    assert len(set(n.casefold() for n in names)) == len(names)
    for rec in records:
        assert (out / rec["text_file"]).read_text() == (rec["text"] + "\n" if rec["text"] else "")
        assert (out / rec["text_file"]).resolve().parent == (out / "texts").resolve()
    assert hostile.snapshot(root, skip=out) == before
    rerun = toolkit("clean", str(src), "-o", str(out), "--no-progress", "--resume")
    assert rerun.returncode == 1
    assert len((out / "cleaned.jsonl").read_text().splitlines()) == len(records)
    assert f"({len(records)} kept from an earlier run" in rerun.stderr


def test_the_input_folder_as_output_is_refused_and_nothing_changes(folder):
    root, src, _, _ = folder
    before = hostile.snapshot(root)
    proc = toolkit("summarise", str(src), "-o", str(src), "--model", "extractive:lead")
    assert proc.returncode == 2 and "is the input folder" in proc.stderr
    assert proc.stderr.count("\n") == 1  # one line, no traceback
    assert hostile.snapshot(root) == before


def test_a_runaway_template_stops_before_the_run(tmp_path, tiny_causal):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(hostile.ARTICLE)
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "summarise.j2").write_text(
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
        "{{ article }}"
    )
    proc = toolkit(
        "summarise", str(src), "-o", str(tmp_path / "out"), "--model", str(tiny_causal),
        "--prompts", str(prompts), "--no-tags", timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("toolkit: error: prompt template ") and "range()" in last
    assert "Traceback" not in proc.stderr
