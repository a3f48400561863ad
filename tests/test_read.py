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
