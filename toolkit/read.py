"""Read: find article files in a folder and decode them into documents.

Supported: ``.txt``, ``.md``/``.markdown``, ``.html``/``.htm``, ``.json`` (one object or a
list of objects) and ``.jsonl`` (one object a line). JSON records carry a ``text`` field
(or ``html``) and optional ``id``, ``title``, ``url``. Legacy encodings are detected with
charset-normalizer.

Reading never stops the run and never hangs: every file or record that cannot be read gives
a :class:`ReadFailure` naming it and the reason, and reading goes on. Folders are walked
lazily in sorted order; hidden entries, non-regular files (FIFOs, sockets, devices) and the
folders of the toolkit's own outputs are never opened; symbolic links that lead outside the
input folder are not followed unless asked for. JSON Lines follow their own rules: records
are separated by ``\\n`` only, so a U+2028 inside a string stays in its record, and the size
limit applies to each record rather than to the file.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Document",
    "OUTPUT_MARKER",
    "ReadFailure",
    "SUFFIXES",
    "find_files",
    "read_file",
    "read_folder",
    "walk",
]

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
#: The file that marks a folder as a toolkit output folder (and holds the run's lock): such
#: a folder is never read as input.
OUTPUT_MARKER = ".toolkit-run"


@dataclass
class Document:
    """One article as read from disk, before cleaning.

    Attributes:
        id: stable identifier: the record's ``id``, else the path relative to the input folder
            (with ``#N`` for the record on line N of a JSON-lines file, or the N-th of a JSON
            list).
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
        return hashlib.sha256(self.content.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class ReadFailure:
    """A file, folder or record that could not be read, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def walk(
    root: Path,
    *,
    follow_symlinks: bool = False,
    skip: Iterable[Path] = (),
) -> Iterator[Path | ReadFailure]:
    """The supported files below ``root`` (or ``root`` itself), lazily, in sorted order.

    Hidden files and folders are skipped, as are files of other types. Folders in ``skip``
    and folders holding :data:`OUTPUT_MARKER` (the toolkit's own outputs) are not entered.

    Args:
        root: a folder or one file.
        follow_symlinks: follow symbolic links that lead outside ``root`` too (links inside
            it are always followed; a folder is never entered twice).
        skip: folders not to enter (e.g. the output folder).

    Yields:
        File paths, and a :class:`ReadFailure` for a folder that cannot be listed, a link
        not followed, or a supported name that is not a regular file.
    """
    if not root.is_dir():
        yield root
        return
    real_root = root.resolve()
    skipped = {Path(p).resolve() for p in skip}
    visited: set[tuple[int, int]] = set()

    def rel(path: Path) -> str:
        return path.relative_to(root).as_posix()

    def visit(folder: Path) -> Iterator[Path | ReadFailure]:
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in visited:
                return
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            where = rel(folder) if folder != root else str(root)
            yield ReadFailure(where, f"cannot read folder: {err.strerror or err}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            try:
                is_link = entry.is_symlink()
                if is_link:
                    target = path.resolve()
                    if not follow_symlinks and not _inside(target, real_root):
                        yield ReadFailure(
                            rel(path),
                            "symbolic link to a path outside the input folder; not followed "
                            "(--follow-symlinks reads it)",
                        )
                        continue
                mode = path.stat().st_mode  # follows the link
            except (OSError, RuntimeError) as err:  # broken or looping link, vanished entry
                reason = getattr(err, "strerror", None) or str(err)
                yield ReadFailure(rel(path), f"cannot read: {reason}")
                continue
            if stat.S_ISDIR(mode):
                real = path.resolve()
                if real in skipped or (path / OUTPUT_MARKER).exists():
                    continue
                yield from visit(path)
            elif path.suffix.lower() in SUFFIXES:
                if stat.S_ISREG(mode):
                    yield path
                else:
                    yield ReadFailure(rel(path), f"{_kind_of(mode)}, not a regular file; skipped")

    yield from visit(root)


def find_files(root: Path) -> list[Path]:
    """All supported files below ``root`` (or ``root`` itself), sorted, hidden ones skipped."""
    return [p for p in walk(root) if isinstance(p, Path)]


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


def _too_large(size: int, max_bytes: int, what: str = "too large") -> str:
    return (
        f"{what} ({size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit; raise it with --max-bytes)"
    )


def _record_doc(obj: object, rel: str, where: str, encoding: str) -> Document | ReadFailure:
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
        id=str(rid) if rid not in (None, "") and not isinstance(rid, dict | list) else where,
        source=where,
        fmt="html" if field == "html" else "text",
        content=obj[field],
        title=title if isinstance(title, str) and title.strip() else None,
        url=url if isinstance(url, str) and url.strip() else None,
        encoding=encoding,
    )


def _parse(line: str) -> object:
    """``json.loads`` with the failures of hostile input turned into ValueError."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid JSON: {err.msg} at line {err.lineno}") from err
    except RecursionError as err:
        raise ValueError("invalid JSON: nested too deeply") from err


def _open_regular(path: Path) -> int:
    """Open a file for reading without blocking on a FIFO swapped in since the walk."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ValueError(f"{_kind_of(mode)}, not a regular file; skipped")
    return fd


def _read_jsonl(path: Path, rel: str, max_bytes: int) -> Iterator[Document | ReadFailure]:
    """JSON Lines: one record per ``\\n``-terminated line, each at most ``max_bytes``."""
    with os.fdopen(_open_regular(path), "rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # not JSON Lines proper
            data = fh.read(max_bytes + 1)
            if len(data) > max_bytes:
                yield ReadFailure(rel, _too_large(len(data), max_bytes))
                return
            text, encoding = decode(data)
            lines: Iterable[bytes | str | None] = text.split("\n")
        else:
            lines, encoding = _binary_lines(fh, max_bytes), "utf-8"
        seen_any = False
        for n, raw in enumerate(lines, 1):
            where = f"{rel}#{n}"
            if raw is None:  # a line over the limit, already skipped
                yield ReadFailure(where, _too_large(max_bytes + 1, max_bytes, "record too large"))
                seen_any = True
                continue
            if isinstance(raw, bytes):
                if n == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                if not raw.strip():
                    continue
                try:
                    line, line_encoding = raw.decode("utf-8"), "utf-8"
                except UnicodeDecodeError:
                    try:
                        line, line_encoding = decode(raw)
                    except ValueError as err:
                        yield ReadFailure(where, str(err))
                        seen_any = True
                        continue
            else:
                line, line_encoding = raw, encoding
                if not line.strip():
                    continue
            seen_any = True
            try:
                obj = _parse(line)
            except ValueError as err:
                yield ReadFailure(where, str(err).replace(" at line 1", ""))
                continue
            yield _record_doc(obj, rel, where, line_encoding)
        if not seen_any:
            yield ReadFailure(rel, "no records")


def _binary_lines(fh: IO[bytes], max_bytes: int) -> Iterator[bytes | None]:
    """The ``\\n``-separated lines of a binary file (``\\r\\n`` too); None for a line over
    ``max_bytes`` (its bytes are skipped, never held in memory)."""
    readline = fh.readline
    while True:
        line = readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:  # skip the rest of the long line
                rest = readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line.rstrip(b"\n").rstrip(b"\r")


def _read_one(path: Path, rel: str, kind: str, max_bytes: int) -> Iterator[Document | ReadFailure]:
    if kind == "jsonl":
        yield from _read_jsonl(path, rel, max_bytes)
        return
    with os.fdopen(_open_regular(path), "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        yield ReadFailure(rel, _too_large(max(len(data), path.stat().st_size), max_bytes))
        return
    if not data.strip():
        yield ReadFailure(rel, "empty file")
        return
    text, encoding = decode(data)
    if not text.strip():
        yield ReadFailure(rel, "empty file")
        return
    if kind != "json":
        yield Document(id=rel, source=rel, fmt=kind, content=text, encoding=encoding)
        return
    obj = _parse(text)
    if isinstance(obj, dict):
        doc = _record_doc(obj, rel, rel, encoding)
        yield doc
    elif isinstance(obj, list):
        if not obj:
            yield ReadFailure(rel, "an empty JSON list: no records")
        for i, item in enumerate(obj, 1):
            yield _record_doc(item, rel, f"{rel}#{i}", encoding)
    else:
        yield ReadFailure(rel, "JSON is neither an object nor a list of objects")


def iter_file(
    path: Path, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Document | ReadFailure]:
    """Read one file into documents (several for JSON lists and JSONL), lazily.

    Args:
        path: the file.
        root: the input folder, for relative ids (default: the file's folder).
        max_bytes: larger files (for JSON Lines: larger records) are refused.

    Yields:
        Documents and failures, in file order. Never raises for bad content: any error while
        reading or parsing becomes a :class:`ReadFailure` and reading stops there.
    """
    root = root if root is not None else path.parent
    rel = path.name if root == path else path.relative_to(root).as_posix()
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        yield ReadFailure(rel, f"unsupported file type {path.suffix!r}")
        return
    produced = 0
    try:
        for item in _read_one(path, rel, kind, max_bytes):
            produced += 1
            yield item
    except OSError as err:
        yield ReadFailure(rel, f"cannot read: {err.strerror or err}")
    except ValueError as err:
        yield ReadFailure(rel, str(err))
    except (RecursionError, MemoryError) as err:
        yield ReadFailure(rel, f"cannot read: {type(err).__name__} (the file is too deeply "
                          "nested or too large)")  # fmt: skip
    except Exception as err:  # noqa: BLE001 - one bad file must not stop the run
        after = f" after {produced} records" if produced else ""
        yield ReadFailure(rel, f"cannot read{after}: {type(err).__name__}: {err}")


def read_file(
    path: Path, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[Document | ReadFailure]:
    """Read one file into documents (several for JSON lists and JSONL); see :func:`iter_file`.

    Returns:
        Documents and failures, in file order. Never raises for bad content.
    """
    return list(iter_file(path, root, max_bytes))


def read_folder(
    root: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    follow_symlinks: bool = False,
    skip: Iterable[Path] = (),
) -> Iterator[Document | ReadFailure]:
    """Read every supported file below ``root``, lazily; ids are made unique across the folder.

    Args:
        root: a folder (searched recursively) or one file.
        max_bytes: larger files (JSON Lines: larger records) are refused.
        follow_symlinks: also follow links that lead outside ``root`` (see :func:`walk`).
        skip: folders not to enter (e.g. the output folder).

    Yields:
        Documents and failures, files in sorted path order. A repeated id gets
        ``@<source>`` appended (and a counter, should that be taken too).
    """
    seen: set[str] = set()
    base = root if root.is_dir() else root.parent
    for path in walk(root, follow_symlinks=follow_symlinks, skip=skip):
        if isinstance(path, ReadFailure):
            yield path
            continue
        for item in iter_file(path, base, max_bytes):
            if isinstance(item, Document):
                if item.id in seen:
                    unique, n = f"{item.id}@{item.source}", 1
                    while unique in seen:
                        n += 1
                        unique = f"{item.id}@{item.source}~{n}"
                    item.id = unique
                seen.add(item.id)
            yield item
