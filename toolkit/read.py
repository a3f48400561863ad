"""Read: find article files in a folder and decode them into documents.

Supported: ``.txt``, ``.md``/``.markdown``, ``.html``/``.htm``, ``.json`` (one object or a
list of objects) and ``.jsonl`` (one object a line). JSON records carry a ``text`` field
(or ``html``) and optional ``id``, ``title``, ``url``. Legacy encodings are detected with
charset-normalizer. A file that cannot be read gives a :class:`ReadFailure` naming the file
and the reason; reading goes on with the other files.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Document", "ReadFailure", "SUFFIXES", "find_files", "read_file", "read_folder"]

SUFFIXES: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
}
DEFAULT_MAX_BYTES = 5_000_000


@dataclass
class Document:
    """One article as read from disk, before cleaning.

    Attributes:
        id: stable identifier: the record's ``id``, else the path relative to the input folder
            (with ``#N`` for the N-th record of a JSON/JSONL file).
        source: the path relative to the input folder (``#N`` added for records).
        fmt: "text", "markdown" or "html".
        content: the decoded text.
        title, url: metadata given by the source (JSON records), if any.
        encoding: the encoding the file was decoded from.
    """

    id: str
    source: str
    fmt: str
    content: str
    title: str | None = None
    url: str | None = None
    encoding: str | None = None

    @property
    def sha256(self) -> str:
        """Hash of the content, for resuming only work whose input is unchanged."""
        return hashlib.sha256(self.content.encode("utf-8")).hexdigest()


@dataclass
class ReadFailure:
    """A file (or record) that could not be read, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def find_files(root: Path) -> list[Path]:
    """All supported files below ``root`` (or ``root`` itself), sorted, hidden ones skipped."""
    if root.is_file():
        return [root]
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes: UTF-8 (with or without BOM, and UTF-16/32 with BOM), else detected.

    Returns:
        (text, encoding)

    Raises:
        ValueError: binary data or no encoding fits.
    """
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(name), name
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (NUL bytes); not a text article")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None or best.encoding is None:
        raise ValueError("undecodable: no text encoding fits; re-save the file as UTF-8")
    # Single-byte codecs often fit equally well (cp1250, cp775 and cp1252 all decode French
    # text without a mess): among the candidates with the least mess, take windows-1252, the
    # legacy default browsers fall back to, else the library's best.
    least = min(match.chaos for match in matches)
    for match in matches:
        if match.chaos == least and "cp1252" in (match.encoding, *match.could_be_from_charset):
            return data.decode("cp1252"), "cp1252"
    return str(best), best.encoding


def _record_doc(obj: object, rel: str, n: int, encoding: str) -> Document | ReadFailure:
    where = f"{rel}#{n}"
    if not isinstance(obj, dict):
        return ReadFailure(where, "record is not a JSON object")
    field = "text" if isinstance(obj.get("text"), str) else "html" if "html" in obj else None
    if field is None or not isinstance(obj.get(field), str):
        return ReadFailure(where, 'record has no "text" string field')
    if not obj[field].strip():
        return ReadFailure(where, 'record has an empty "text" field')
    rid = obj.get("id")
    title, url = obj.get("title"), obj.get("url")
    return Document(
        id=str(rid) if rid not in (None, "") else where,
        source=where,
        fmt="html" if field == "html" else "text",
        content=obj[field],
        title=title if isinstance(title, str) and title.strip() else None,
        url=url if isinstance(url, str) and url.strip() else None,
        encoding=encoding,
    )


def read_file(
    path: Path, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[Document | ReadFailure]:
    """Read one file into documents (several for JSON lists and JSONL).

    Args:
        path: the file.
        root: the input folder, for relative ids (default: the file's folder).
        max_bytes: larger files are refused.

    Returns:
        Documents and failures, in file order. Never raises for bad content.
    """
    root = root if root is not None else path.parent
    rel = path.name if root == path else path.relative_to(root).as_posix()
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        return [ReadFailure(rel, f"unsupported file type {path.suffix!r}")]
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return [
                ReadFailure(
                    rel,
                    f"too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit; "
                    "raise it with --max-bytes)",
                )
            ]
        data = path.read_bytes()
    except OSError as err:
        return [ReadFailure(rel, f"cannot read: {err.strerror or err}")]
    if not data.strip():
        return [ReadFailure(rel, "empty file")]
    try:
        text, encoding = decode(data)
    except ValueError as err:
        return [ReadFailure(rel, str(err))]
    if not text.strip():
        return [ReadFailure(rel, "empty file")]
    if kind == "json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            return [ReadFailure(rel, f"invalid JSON: {err.msg} at line {err.lineno}")]
        if isinstance(obj, dict):
            doc = _record_doc(obj, rel, 1, encoding)
            if isinstance(doc, Document):
                doc.id = rel if doc.id == f"{rel}#1" else doc.id
                doc.source = rel
            return [doc]
        if isinstance(obj, list):
            return [_record_doc(o, rel, i, encoding) for i, o in enumerate(obj, 1)]
        return [ReadFailure(rel, "JSON is neither an object nor a list of objects")]
    if kind == "jsonl":
        out: list[Document | ReadFailure] = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(_record_doc(json.loads(line), rel, n, encoding))
            except json.JSONDecodeError as err:
                out.append(ReadFailure(f"{rel}#{n}", f"invalid JSON: {err.msg}"))
        return out or [ReadFailure(rel, "no records")]
    return [Document(id=rel, source=rel, fmt=kind, content=text, encoding=encoding)]


def read_folder(root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Document | ReadFailure]:
    """Read every supported file below ``root``; ids are made unique across the folder.

    Yields:
        Documents and failures, files in sorted path order.
    """
    seen: set[str] = set()
    base = root if root.is_dir() else root.parent
    for path in find_files(root):
        for item in read_file(path, base, max_bytes):
            if isinstance(item, Document):
                if item.id in seen:
                    item.id = f"{item.id}@{item.source}"
                seen.add(item.id)
            yield item
