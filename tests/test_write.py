"""Writing: atomic files, the resumable journal, the digest."""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest

from toolkit.errors import OutputError
from toolkit.write import Journal, atomic_write_text, iter_journal, load_records, render_digest


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


def test_a_journal_is_appended_to_never_truncated(tmp_path):
    part = tmp_path / "r.jsonl.part"
    first = Journal(part)
    first.write({"id": "a"})
    first.close()
    again = Journal(part)  # a resumed run opens the same journal
    again.write({"id": "b"})
    again.close()
    assert [r["id"] for r in load_records(part)] == ["a", "b"]


def test_a_line_torn_mid_character_is_skipped_with_a_warning_and_not_glued(tmp_path, capsys):
    part = tmp_path / "r.jsonl.part"
    whole = json.dumps({"id": "a", "summary": "Zürich"}, ensure_ascii=False).encode() + b"\n"
    torn = json.dumps({"id": "b", "summary": "Zürich"}, ensure_ascii=False).encode()
    cut = torn.index("ü".encode()) + 1  # in the middle of the two bytes of "ü"
    part.write_bytes(whole + b"garbage line\n" + torn[:cut])
    journal = Journal(part)  # the torn tail gets its newline: the next record is whole
    journal.write({"id": "c"})
    journal.close()
    records = load_records(part)
    assert [r["id"] for r in records] == ["a", "c"]
    err = capsys.readouterr().err
    assert f"warning: {part}: 2 torn or unreadable line(s) skipped (line 2, 3)" in err
    offsets = [offset for offset, _ in iter_journal(part, warn=False)]
    assert offsets[0] == 0 and part.read_bytes()[offsets[1] :].startswith(b'{"id": "c"}')


def test_a_full_disk_is_one_error_naming_the_folder_and_keeping_the_journal(tmp_path, monkeypatch):
    part = tmp_path / "r.jsonl.part"
    journal = Journal(part)
    journal.write({"id": "a"})

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError) as err:
        journal.write({"id": "b"})
    message = str(err.value)
    assert str(tmp_path) in message and "No space left on device" in message
    assert "--resume" in message and "\n" not in message
    with pytest.raises(OutputError, match="No space left"):
        atomic_write_text(tmp_path / "digest.md", "text")
    assert not list(tmp_path.glob(".digest.md.*"))  # no temporary file left behind
    monkeypatch.undo()
    assert load_records(part)[0]["id"] == "a"


def test_final_files_get_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.md", "x")
        os.umask(0o077)
        atomic_write_text(tmp_path / "b.md", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.md").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.md").stat().st_mode) == 0o600


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
