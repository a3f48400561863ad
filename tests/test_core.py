"""The folder run end to end on tiny models: records, failures, digest, resume, no data lost."""

from __future__ import annotations

import hashlib
import json

import pytest

from toolkit import core
from toolkit.core import RunOptions, run_folder
from toolkit.summarize import Summarizer, SummaryOptions
from toolkit.tag import Tagger

ARTICLE = (
    "Harbour Bridge Opens\n\n"
    "The new harbour bridge opened on Monday after four years of work. The mayor said "
    "traffic in the old town would fall by a third.\n\n"
    "Engineers tested the deck with forty loaded lorries before the opening. The bridge "
    "cost 40 million euros, paid by the city and the region.\n"
)


@pytest.fixture(scope="module")
def models(tiny_causal, tiny_embedder):
    options = SummaryOptions(max_new_tokens=5, extractor=str(tiny_embedder))
    summarizer = Summarizer(str(tiny_causal), options=options)
    tagger = Tagger(["sport", "politics", "economy"], model=str(tiny_embedder))
    return summarizer, tagger


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        (src / f"a{i}.txt").write_text(ARTICLE.replace("forty", f"forty-{i}"))
    (src / "b.jsonl").write_text(json.dumps({"id": "w1", "title": "Wire", "text": ARTICLE}) + "\n")
    (src / "broken.bin.txt").write_bytes(b"\x00\x00binary")
    return src


def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def run(folder, out, models, **kw):
    summarizer, tagger = models
    options = RunOptions(progress=False, **kw)
    return run_folder(folder, out, summarizer=summarizer, tagger=tagger, options=options)


def test_a_run_writes_records_failures_and_a_digest(folder, tmp_path, models, capsys):
    before = snapshot(folder)
    report = run(folder, tmp_path / "out", models)
    assert snapshot(folder) == before  # inputs untouched
    assert report.processed == 4 and not report.ok
    assert "error: broken.bin.txt: binary file" in capsys.readouterr().err
    out = tmp_path / "out"
    records = [json.loads(line) for line in (out / "summaries.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["a0.txt", "a1.txt", "a2.txt", "w1"]
    rec = records[0]
    for key in (
        "source",
        "title",
        "byline",
        "text",
        "cleaning",
        "summary",
        "topics",
        "topic_scores",
        "models",
        "template",
        "timing",
        "warnings",
    ):
        assert key in rec, key
    assert rec["title"] == "Harbour Bridge Opens"
    assert "40 million euros" in rec["text"]
    assert len(rec["topic_scores"]) == 3
    assert rec["template"]["name"] == "summarise.j2" and len(rec["template"]["sha256"]) == 64
    assert records[3]["title"] == "Wire"
    # the four copies differ by one word: one near-duplicate group across the folder
    groups = {r["duplicate_group"] for r in records}
    assert len(groups) == 1 and None not in groups
    assert records[3]["duplicates"] == ["a0.txt", "a1.txt", "a2.txt"]
    assert report.duplicates == 4
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert errors == [{"source": "broken.bin.txt", "reason": errors[0]["reason"]}]
    digest = (out / "digest.md").read_text()
    assert "Harbour Bridge Opens" in digest and "`broken.bin.txt`" in digest
    assert digest.count("### ") == 1 and "3 duplicates shown once" in digest
    info = json.loads((out / "run.json").read_text())
    assert info["processed"] == 4 and info["failed"] == 1 and info["duplicates"] == 4
    assert not (out / "summaries.jsonl.part").exists()


def count_calls(monkeypatch, fail_after: int | None = None) -> list[str]:
    """The ids of the articles that reach the model stage, batch by batch; with
    ``fail_after``, the run is interrupted when a batch would take it past that many."""
    calls: list[str] = []
    real = core.model_stage

    def counted(batch, *args, **kwargs):
        if fail_after is not None and len(calls) + len(batch) > fail_after:
            raise KeyboardInterrupt
        calls.extend(c.doc.id for c in batch)
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(core, "model_stage", counted)
    return calls


def test_resume_skips_finished_articles_and_redoes_changed_ones(
    folder, tmp_path, models, monkeypatch
):
    out = tmp_path / "out"
    run(folder, out, models)
    calls = count_calls(monkeypatch)
    report = run(folder, out, models, resume=True)
    assert calls == [] and report.resumed == 4
    (folder / "a1.txt").write_text(ARTICLE + "\nA late correction was added.\n")
    report = run(folder, out, models, resume=True)
    assert calls == ["a1.txt"] and report.resumed == 3
    lines = (out / "summaries.jsonl").read_text().splitlines()
    assert len(lines) == 4 and "late correction" in json.loads(lines[1])["text"]


def test_resume_redoes_everything_when_settings_change(folder, tmp_path, models, monkeypatch):
    out = tmp_path / "out"
    run(folder, out, models)
    summarizer, _ = models
    tagger = Tagger(["sport", "culture"], model=models[1].model_name)
    calls = count_calls(monkeypatch)
    run_folder(
        folder,
        out,
        summarizer=summarizer,
        tagger=tagger,
        options=RunOptions(progress=False, resume=True),
    )
    assert len(calls) == 4


def test_an_interrupted_run_keeps_its_work_and_resume_finishes_it(
    folder, tmp_path, models, monkeypatch
):
    out = tmp_path / "out"
    count_calls(monkeypatch, fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        run(folder, out, models, batch_size=2)
    part = out / "summaries.jsonl.part"
    assert len(part.read_text().splitlines()) == 2
    assert not (out / "summaries.jsonl").exists()
    monkeypatch.undo()
    calls = count_calls(monkeypatch)
    report = run(folder, out, models, resume=True)
    assert calls == ["a2.txt", "w1"] and report.resumed == 2
    assert len((out / "summaries.jsonl").read_text().splitlines()) == 4


def test_an_article_that_cleans_to_nothing_fails_alone(tmp_path, models):
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text(ARTICLE)
    (src / "nav.txt").write_text(
        "Wir verwenden Cookies, um Ihnen das beste Erlebnis zu bieten. Mit der Nutzung unserer "
        "Website stimmen Sie der Verwendung von Cookies zu. Akzeptieren\n\nRelated News\n"
        "Best phones of the year\nJane Doe - Nov 12, 2025 58 Views -\n-\nShare this article\n"
    )
    report = run(src, tmp_path / "out", models)
    assert report.processed == 1
    assert [f.source for f in report.failures] == ["nav.txt"]


def test_without_tags_no_tagger_runs(folder, tmp_path, models, monkeypatch):
    def no_default_tagger(*args, **kwargs):
        raise AssertionError("a default tagger was built although tags=False")

    monkeypatch.setattr("toolkit.tag.Tagger.__init__", no_default_tagger)
    summarizer, _ = models
    out = tmp_path / "out"
    options = RunOptions(progress=False, tags=False)
    run_folder(folder, out, summarizer=summarizer, tagger=None, options=options)
    records = [json.loads(line) for line in (out / "summaries.jsonl").read_text().splitlines()]
    assert records and all(r["topics"] == [] and r["summary"] for r in records)
    assert json.loads((out / "run.json").read_text())["tagger"] is None
    assert "no topics" in (out / "digest.md").read_text()


def test_an_article_over_its_time_budget_is_its_error_and_the_run_goes_on(folder, tmp_path, models):
    summarizer, tagger = models
    real = summarizer.summarise_many

    def slow_for_one(texts, titles=None):
        if any("forty-1" in text for text in texts):
            while True:  # a runaway article: interrupted by the deadline
                pass
        return real(texts, titles)

    summarizer.summarise_many = slow_for_one
    try:
        report = run(folder, tmp_path / "out", models, article_timeout=0.5)
    finally:
        del summarizer.summarise_many
    assert report.processed == 3
    reasons = {f.source: f.reason for f in report.failures}
    assert "took longer than its 0.5 s budget" in reasons["a1.txt"]
    assert "--article-timeout" in reasons["a1.txt"]


def test_an_article_over_its_size_budget_is_its_error(folder, tmp_path, models):
    report = run(folder, tmp_path / "out", models, max_chars=100)
    assert report.processed == 0
    assert all("--max-chars" in f.reason for f in report.failures if f.source != "broken.bin.txt")


def test_clean_gives_every_article_its_own_text_file(tmp_path):
    from toolkit.core import clean_folder, safe_name

    src = tmp_path / "in"
    src.mkdir()
    ids = ["Report", "report", "a/b", "a_b", "x" * 300, safe_name("Report")]
    lines = [json.dumps({"id": i, "text": f"Article {n} about the harbour bridge."})
             for n, i in enumerate(ids)]  # fmt: skip
    (src / "feed.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    report = clean_folder(src, out, progress=False)
    assert report.ok and report.cleaned == len(ids)
    records = [json.loads(x) for x in (out / "cleaned.jsonl").read_text().splitlines()]
    names = [r["text_file"] for r in records]
    assert len({n.casefold() for n in names}) == len(ids)  # none shared, even ignoring case
    for n, rec in enumerate(records):
        assert (out / rec["text_file"]).read_text() == f"Article {n} about the harbour bridge.\n"


def test_batches_and_cleaning_workers_give_the_same_records(folder, tmp_path, tiny_causal, models):
    # float32: batched greedy decoding is exact, so every record is the same whatever the
    # batch size and wherever the cleaning ran
    options = SummaryOptions(max_new_tokens=5, extractor="lead", precision="float32")
    summarizer = Summarizer(str(tiny_causal), options=options, device="cpu")

    def records(out, **kw):
        opts = RunOptions(progress=False, **kw)
        run_folder(folder, out, summarizer=summarizer, tagger=models[1], options=opts)
        recs = [json.loads(x) for x in (out / "summaries.jsonl").read_text().splitlines()]
        for rec in recs:
            rec.pop("timing")
        return recs, (out / "errors.jsonl").read_text()

    one = records(tmp_path / "one", batch_size=1, workers=0)
    assert [r["id"] for r in one[0]] == ["a0.txt", "a1.txt", "a2.txt", "w1"]
    assert records(tmp_path / "many", batch_size=16, workers=0) == one
    assert records(tmp_path / "pool", batch_size=3, workers=1) == one
