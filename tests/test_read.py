"""Reading folders: formats, encodings, ids, and bad files reported without stopping."""

from __future__ import annotations

import json

from toolkit.read import Document, ReadFailure, decode, read_folder


def docs_and_failures(root):
    items = list(read_folder(root))
    return (
        {d.source: d for d in items if isinstance(d, Document)},
        {f.source: f.reason for f in items if isinstance(f, ReadFailure)},
    )


def test_reads_every_supported_format_recursively(tmp_path):
    (tmp_path / "a.txt").write_text("Plain article.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# Title\n\nBody.")
    (tmp_path / "c.html").write_text("<html><body><p>Para</p></body></html>")
    (tmp_path / "d.json").write_text(json.dumps({"id": "x1", "text": "One.", "title": "T"}))
    (tmp_path / "e.jsonl").write_text(
        json.dumps({"text": "First.", "url": "https://example.org/1"})
        + "\n\n"
        + json.dumps({"id": 7, "html": "<p>Second.</p>"})
        + "\n"
    )
    (tmp_path / "notes.csv").write_text("ignored")
    (tmp_path / ".hidden.txt").write_text("ignored")
    docs, failures = docs_and_failures(tmp_path)
    assert not failures
    assert sorted(docs) == ["a.txt", "c.html", "d.json", "e.jsonl#1", "e.jsonl#3", "sub/b.md"]
    assert docs["sub/b.md"].fmt == "markdown" and docs["c.html"].fmt == "html"
    assert docs["d.json"].id == "x1" and docs["d.json"].title == "T"
    assert docs["e.jsonl#1"].url == "https://example.org/1" and docs["e.jsonl#1"].id == "e.jsonl#1"
    assert docs["e.jsonl#3"].id == "7" and docs["e.jsonl#3"].fmt == "html"


def test_bad_files_are_named_with_a_reason_and_the_rest_is_read(tmp_path):
    (tmp_path / "good.txt").write_text("Fine.")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 10)
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "list.jsonl").write_text('{"text": "ok"}\n{oops\n{"title": "no text"}\n')
    (tmp_path / "big.txt").write_text("x" * 2000)
    items = list(read_folder(tmp_path, max_bytes=1000))
    docs = [i.source for i in items if isinstance(i, Document)]
    failures = {i.source: i.reason for i in items if isinstance(i, ReadFailure)}
    assert docs == ["good.txt", "list.jsonl#1"]
    assert failures["empty.txt"] == "empty file"
    assert "binary" in failures["binary.txt"]
    assert "invalid JSON" in failures["broken.json"]
    assert "invalid JSON" in failures["list.jsonl#2"]
    assert 'no "text"' in failures["list.jsonl#3"]
    assert "too large" in failures["big.txt"] and "--max-bytes" in failures["big.txt"]
    assert str(ReadFailure("big.txt", "why")) == "big.txt: why"


def test_legacy_and_bom_encodings_are_detected(tmp_path):
    text = "Le café de Zürich a fermé; à São Paulo, la naïveté des élus déçoit."
    (tmp_path / "latin.txt").write_bytes(((text + " ") * 5).encode("cp1252"))
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))
    docs, failures = docs_and_failures(tmp_path)
    assert not failures
    assert text in docs["latin.txt"].content
    assert docs["latin.txt"].encoding != "utf-8"
    assert docs["utf16.txt"].content == text


def test_decode_prefers_utf8():
    assert decode("naïve".encode()) == ("naïve", "utf-8")


def test_duplicate_ids_are_made_unique(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        '{"id": "same", "text": "A."}\n{"id": "same", "text": "B."}\n'
    )
    ids = [d.id for d in read_folder(tmp_path) if isinstance(d, Document)]
    assert len(set(ids)) == 2 and ids[0] == "same"


def test_a_single_file_can_be_read(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("Only this.")
    [doc] = list(read_folder(path))
    assert doc.source == "one.txt" and doc.content == "Only this."


def test_jsonl_records_split_on_newline_only(tmp_path):
    # U+2028 and U+2029 are line breaks to str.splitlines, but not to JSON Lines
    records = [{"id": "a", "text": "One\u2028two\u2029three."}, {"id": "b", "text": "Second."}]
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in records)
    (tmp_path / "feed.jsonl").write_bytes(lines.encode("utf-8"))
    docs, failures = docs_and_failures(tmp_path)
    assert not failures
    assert docs["feed.jsonl#1"].content == "One\u2028two\u2029three."
    assert docs["feed.jsonl#2"].id == "b"  # numbering is not shifted


def test_jsonl_size_limit_is_per_record_and_streams(tmp_path):
    small = json.dumps({"text": "Fine."})
    big = json.dumps({"text": "x" * 5000})
    (tmp_path / "feed.jsonl").write_text("\n".join([small, big, small] * 20) + "\n")
    items = list(read_folder(tmp_path, max_bytes=1000))
    docs = [i for i in items if isinstance(i, Document)]
    failures = [i for i in items if isinstance(i, ReadFailure)]
    assert len(docs) == 40 and len(failures) == 20
    assert failures[0].source == "feed.jsonl#2" and "record too large" in failures[0].reason


def test_deeply_nested_json_is_one_error_not_a_crash(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "deep.jsonl").write_text('{"text": "ok"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    (tmp_path / "good.txt").write_text("Fine.")
    docs, failures = docs_and_failures(tmp_path)
    assert failures["deep.json"] == "invalid JSON: nested too deeply"
    assert failures["deep.jsonl#2"] == "invalid JSON: nested too deeply"
    assert sorted(docs) == ["deep.jsonl#1", "good.txt"]


def test_symlinks_outside_the_input_are_not_followed_unless_asked(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Not an article of this folder.")
    root = tmp_path / "in"
    root.mkdir()
    (root / "a.txt").write_text("Inside.")
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "inner.txt").symlink_to(root / "a.txt")  # inside the folder: followed
    (root / "dirlink").symlink_to(outside, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)  # a folder is entered once
    items = list(read_folder(root))
    docs = sorted(i.source for i in items if isinstance(i, Document))
    failures = {i.source: i.reason for i in items if isinstance(i, ReadFailure)}
    assert docs == ["a.txt", "inner.txt"]
    assert set(failures) == {"link.txt", "dirlink"}
    assert "outside the input folder" in failures["link.txt"]
    assert "--follow-symlinks" in failures["link.txt"]
    followed = [i for i in read_folder(root, follow_symlinks=True) if isinstance(i, Document)]
    assert sorted(i.source for i in followed) == [
        "a.txt",
        "dirlink/secret.txt",
        "inner.txt",
        "link.txt",
    ]


def test_a_fifo_is_reported_and_never_opened(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.txt")  # opening it for reading would block forever
    (tmp_path / "good.txt").write_text("Fine.")
    docs, failures = docs_and_failures(tmp_path)
    assert sorted(docs) == ["good.txt"]
    assert "FIFO" in failures["pipe.txt"]


def test_output_folders_are_never_read_as_input(tmp_path):
    (tmp_path / "a.txt").write_text("Article.")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".toolkit-run").write_text("{}")
    (out / "digest.md").write_text("# News digest")
    other = tmp_path / "skipped"
    other.mkdir()
    (other / "b.txt").write_text("Also skipped.")
    docs, failures = docs_and_failures(tmp_path)
    assert sorted(docs) == ["a.txt", "skipped/b.txt"] and not failures
    docs = [d.source for d in read_folder(tmp_path, skip=[other]) if isinstance(d, Document)]
    assert docs == ["a.txt"]


def test_a_crafted_id_cannot_collide_with_a_renamed_one(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        '{"id": "x", "text": "1"}\n{"id": "x", "text": "2"}\n{"id": "x@a.jsonl#2", "text": "3"}\n'
    )
    ids = [d.id for d in read_folder(tmp_path) if isinstance(d, Document)]
    assert len(ids) == 3 and len(set(ids)) == 3
