"""Crash safety as storage systems test it: kill a run with SIGKILL at random points, resume,
and check after every kill that no finished article was lost, changed or duplicated; and two
runs on one output folder: the second is refused, naming the first.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolkit.write import iter_journal

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = 30
KILLS = 10


def make_folder(root: Path, count: int = ARTICLES) -> Path:
    src = root / "in"
    src.mkdir()
    for i in range(count):
        (src / f"a{i:02d}.txt").write_text(
            f"Bridge {i}\n\nThe council voted on day {i} to build bridge number {i} over the "
            f"river. It will open in 2027 and cost {i} million euros.\n\nThe mayor said traffic "
            f"would fall by a third after bridge {i} opens.\n"
        )
    return src


def command(src: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "toolkit", "summarise", str(src), "-o", str(out),
        "--model", str(model), "--extractor", "lead", "--no-tags", "--max-new-tokens", "8",
        "--no-progress", *extra,
    ]  # fmt: skip


def start(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOOLKIT_OFFLINE": "1"}
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished(out: Path) -> tuple[dict[str, str], list[str], list[str]]:
    """What is on disk: id -> summary over the results file and the journal, and the ids of
    each file in order (to find duplicates)."""
    results = [rec for _, rec in iter_journal(out / "summaries.jsonl", warn=False)]
    journal = [rec for _, rec in iter_journal(out / "summaries.jsonl.part", warn=False)]
    state = {r["id"]: r["summary"] for r in results}
    state.update({r["id"]: r["summary"] for r in journal})
    return state, [r["id"] for r in results], [r["id"] for r in journal]


def lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def test_killed_at_random_points_a_resumed_run_loses_and_duplicates_nothing(tmp_path, tiny_causal):
    rng = random.Random(19)
    src = make_folder(tmp_path)
    out = tmp_path / "out"
    args = command(src, out, tiny_causal, "--resume")
    seen: dict[str, str] = {}
    kills = 0
    for _ in range(KILLS):
        journal = out / "summaries.jsonl.part"
        left = ARTICLES - len(seen)
        # kill once the run has journalled a few more articles, plus up to 0.4 s (mid-article,
        # mid-write); with nothing left, at a random moment of start-up or the final commit
        target = lines(journal) + rng.randint(0, left // 3) if left else None
        extra = rng.uniform(0, 0.4) if left else rng.uniform(0, 6.0)
        proc = start(args)
        deadline = time.monotonic() + 120
        while target is not None and proc.poll() is None and lines(journal) < target:
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.005)
        time.sleep(extra)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
        state, results, journal = finished(out)
        # nothing finished is lost or changed, nothing is there twice
        for doc_id, summary in seen.items():
            assert state.get(doc_id) == summary, f"{doc_id} lost or changed after a kill"
        assert len(results) == len(set(results)) and len(journal) == len(set(journal))
        seen = state
    assert kills >= KILLS // 2  # most runs were really killed, not finished
    proc = start(args)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    state, results, journal = finished(out)
    assert sorted(results) == [f"a{i:02d}.txt" for i in range(ARTICLES)] and not journal
    for doc_id, summary in seen.items():
        assert state[doc_id] == summary


def test_a_second_run_on_the_same_folder_is_refused_naming_the_first(tmp_path, tiny_causal):
    src = make_folder(tmp_path)
    out = tmp_path / "out"
    first = start(command(src, out, tiny_causal))
    deadline = time.monotonic() + 120
    marker = out / ".toolkit-run"
    # wait until the first run holds the folder (its pid in the lock), then pause it there, so
    # that the second runs meet it mid-run however fast it would otherwise finish
    while first.poll() is None and not (
        marker.is_file() and f'"pid": {first.pid}' in marker.read_text(errors="replace")
    ):
        assert time.monotonic() < deadline, "the first run never took the folder"
        time.sleep(0.01)
    if first.poll() is not None:
        pytest.fail("the first run ended before the second could start")
    first.send_signal(signal.SIGSTOP)
    try:
        for extra in ((), ("--resume",)):
            second = start(command(src, out, tiny_causal, *extra))
            _, err = second.communicate(timeout=120)
            assert second.returncode == 2, err
            assert f"in use by another run (pid {first.pid}" in err, err
    finally:
        first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    records = [json.loads(x) for x in (out / "summaries.jsonl").read_text().splitlines()]
    assert len(records) == ARTICLES and len({r["id"] for r in records}) == ARTICLES
