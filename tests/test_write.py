"""Writing: atomic files, the resumable journal, the digest."""

from __future__ import annotations

import json

from toolkit.write import Journal, atomic_write_text, load_records, render_digest


def test_atomic_write_replaces_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "out" / "file.md"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["file.md"]


def test_journal_lines_survive_and_a_torn_line_is_skipped(tmp_path):
    part = tmp_path / "r.jsonl.part"
    journal = Journal(part)
    journal.write({"id": "a"})
    journal.write({"id": "b"})
    # a crash mid-write leaves half a line
    with part.open("a") as fh:
        fh.write('{"id": "c", "summ')
    assert [r["id"] for r in load_records(part)] == ["a", "b"]
    journal.close()
    assert load_records(tmp_path / "missing.jsonl") == []


def record(i, label, **kw):
    return {
        "id": f"a{i}",
        "source": f"a{i}.txt",
        "title": f"Title {i}",
        "summary": f"Summary {i}.",
        "topics": [{"label": label, "score": 0.9}] if label else [],
        **kw,
    }


def test_digest_groups_by_best_topic_and_lists_failures():
    recs = [
        record(1, "sport"),
        record(2, "politics"),
        record(3, "sport", byline="Ann Lee"),
        record(4, None, cleaning={"truncated": True}),
    ]
    text = render_digest(
        recs,
        [{"source": "bad.bin", "reason": "binary file"}],
        {"input": "in", "generated": "now", "summarizer": "m", "tagger": "t"},
    )
    assert text.startswith("# News digest\n")
    assert text.index("## Sport (2)") < text.index("## Politics (1)") < text.index("## Untagged")
    assert "### Title 3" in text and "by Ann Lee" in text and "sport (0.90)" in text
    assert "**truncated source**" in text
    assert "- `bad.bin`: binary file" in text
    assert json.dumps(recs)  # records stay plain JSON


def test_digest_shows_a_duplicate_group_once_naming_the_copies():
    records = [
        record(1, "politics", duplicate_group="dup-1", duplicates=["a2"]),
        record(2, "politics", duplicate_group="dup-1", duplicates=["a1"]),
        record(3, "sport", duplicate_group=None, duplicates=[]),
    ]
    header = {"input": "in", "generated": "now", "summarizer": "s", "tagger": "t"}
    digest = render_digest(records, [], header)
    assert digest.count("### Title") == 2 and "### Title 2" not in digest
    assert "also saved as `a2`" in digest
    assert "1 duplicates shown once" in digest
