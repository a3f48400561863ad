"""The output folder: paths that would lose data, one run at a time, resume, commit."""

from __future__ import annotations

import json
import os

import pytest

from toolkit.errors import OutputError, UsageError
from toolkit.outdir import OutputFolder, check_paths
from toolkit.read import OUTPUT_MARKER

FILES = ("summaries.jsonl", "digest.md")


@pytest.fixture
def src(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Article.")
    return folder


def test_the_output_can_be_neither_the_input_nor_a_file(src, tmp_path):
    with pytest.raises(UsageError, match="is the input folder"):
        check_paths(src, src, FILES)
    with pytest.raises(UsageError, match="is the input folder"):
        check_paths(src, src / ".." / "in", FILES)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_paths(src, tmp_path / "file", FILES)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_paths(tmp_path / "nope", tmp_path / "out", FILES)


def test_an_input_file_an_output_would_replace_is_refused(src, tmp_path):
    (src / "digest.md").write_text("# my own notes")
    with pytest.raises(UsageError, match="would be overwritten by the output digest.md"):
        check_paths(src / "digest.md", src, FILES)
    check_paths(src / "a.txt", src, FILES)  # an input file of another name is fine
    (tmp_path / "out" / "texts").mkdir(parents=True)
    with pytest.raises(UsageError, match="inside .*texts"):
        check_paths(tmp_path / "out" / "texts", tmp_path / "out", FILES, ("texts",))


def test_a_fifo_or_unreadable_input_is_a_usage_error(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UsageError, match="not a folder or a regular file"):
        check_paths(tmp_path / "pipe", tmp_path / "out", FILES)
    if os.geteuid() != 0:  # root reads any folder
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o000)
        with pytest.raises(UsageError, match="cannot read the input folder"):
            check_paths(locked, tmp_path / "out", FILES)


def test_a_second_run_is_refused_while_the_first_holds_the_folder(src, tmp_path):
    out = tmp_path / "out"
    with OutputFolder(out, results="summaries.jsonl", command="summarise") as first:
        first.start(src, resume=False)
        assert (out / OUTPUT_MARKER).is_file()
        second = OutputFolder(out, results="summaries.jsonl")
        with pytest.raises(OutputError) as err:
            second.start(src, resume=True)
        message = str(err.value)
        assert f"pid {os.getpid()}" in message and "toolkit summarise" in message
        assert "wait for it to finish, or choose another -o" in message
        with pytest.raises(OutputError, match="in use by another run"):
            second.check(src, resume=True)  # the cheap check a command makes first
    # released: the marker stays, the lock goes
    with OutputFolder(out, results="summaries.jsonl") as third:
        third.start(src, resume=True)


def test_a_folder_with_results_needs_resume(src, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summaries.jsonl").write_text('{"id": "a.txt"}\n')
    folder = OutputFolder(out, results="summaries.jsonl")
    with pytest.raises(UsageError, match="already holds the results of a run .*--resume"):
        folder.start(src, resume=False)
    (out / "summaries.jsonl").unlink()
    (out / "summaries.jsonl.part").write_text('{"id": "a.txt"}\n')
    with pytest.raises(UsageError, match="an unfinished run"):
        folder.check(src, resume=False)


def test_an_unwritable_output_is_one_clear_error(src, tmp_path):
    (tmp_path / "file").write_text("x")
    folder = OutputFolder(tmp_path / "file" / "out", results="summaries.jsonl")
    with pytest.raises(OutputError, match="cannot write to the output folder .*choose a folder"):
        folder.start(src, resume=False)


def rec(doc_id, content="c", settings="s", **kw):
    return {"id": doc_id, "content_sha256": content, "settings_sha256": settings, **kw}


def test_resume_keeps_matching_records_and_commit_writes_them_in_order(src, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summaries.jsonl").write_text(
        json.dumps(rec("a", summary="old a")) + "\n" + json.dumps(rec("b", summary="b1")) + "\n"
    )
    (out / "summaries.jsonl.part").write_text(
        json.dumps(rec("b", summary="b2")) + "\n" + '{"id": "c", "torn'
    )
    (out / ".summaries.jsonl.x1y2.tmp").write_text("a killed commit's leftover")
    with OutputFolder(out, results="summaries.jsonl") as folder:
        folder.start(src, resume=True)
        assert not (out / ".summaries.jsonl.x1y2.tmp").exists()
        assert folder.finished("b", "c", "s")  # the journal's later line wins
        assert not folder.finished("a", "other content", "s")
        folder.add(rec("a", "other content", summary="new a"))
        folder.add(rec("c", summary="c"))
        assert [r["summary"] for r in folder.records()] == ["b2", "new a", "c"]
        folder.commit(folder.records())
    lines = (out / "summaries.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["b", "a", "c"]
    assert not (out / "summaries.jsonl.part").exists()
