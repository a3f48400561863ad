"""Write: results as JSON lines, without ever leaving a half-written file or losing a record.

Records go to a journal (``summaries.jsonl.part``) one line at a time, flushed and synced, so
an interrupted run keeps everything it finished. The journal is only ever appended to: a
resumed run adds to it and never truncates it, and a line torn by a crash is skipped when it
is read back (with a warning), never glued to the next record. Final files are written to a
temporary file in the same folder and renamed over the target in one step, with the
permissions the user's umask gives.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .digest import render_digest
from .errors import OutputError

__all__ = [
    "Journal",
    "atomic_write_lines",
    "atomic_write_text",
    "iter_journal",
    "load_records",
    "render_digest",
]


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _no_space(err: OSError, folder: Path, journal: Path | None = None) -> OutputError:
    kept = (
        f"; finished articles are kept in {journal}: free space and run again with --resume"
        if journal is not None
        else "; free space and run again"
    )
    return OutputError(f"cannot write to {folder}: {err.strerror or err}{kept}")


def atomic_write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write ``lines`` (each with its own newline) to ``path`` atomically: a temporary file in
    the same folder, synced, then renamed over ``path``. The file gets the permissions of a
    newly created file under the user's umask.

    Raises:
        OutputError: the folder cannot be written (permissions, a full disk).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise _no_space(err, path.parent) from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            for line in lines:
                fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, OutputError):
            raise _no_space(err, path.parent) from err
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_lines`)."""
    atomic_write_lines(path, [text])


def iter_journal(path: Path, warn: bool = True) -> Iterator[tuple[int, dict[str, Any]]]:
    """The records of a JSON-lines file with their byte offsets, skipping torn or invalid
    lines (e.g. the last line of a killed run, or a line cut in the middle of a character).

    Args:
        path: the file; a missing file has no records.
        warn: print one warning naming the file and the skipped lines.

    Yields:
        (byte offset of the line, record) for each line that holds a JSON object.
    """
    if not path.exists():
        return
    skipped: list[int] = []
    with path.open("rb") as fh:
        offset = 0
        for n, raw in enumerate(fh, 1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                skipped.append(n)
                continue
            if isinstance(obj, dict):
                yield start, obj
            else:
                skipped.append(n)
    if skipped and warn:
        lines = ", ".join(map(str, skipped[:5])) + (" ..." if len(skipped) > 5 else "")
        print(
            f"warning: {path}: {len(skipped)} torn or unreadable line(s) skipped (line {lines}); "
            "their articles are done again",
            file=sys.stderr,
            flush=True,
        )


def read_at(path: Path, offset: int) -> dict[str, Any]:
    """The record on the line that starts at ``offset`` of a JSON-lines file."""
    with path.open("rb") as fh:
        fh.seek(offset)
        return dict(json.loads(fh.readline().decode("utf-8")))


def load_records(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file, skipping a torn or invalid line (e.g. from a killed run)."""
    return [record for _, record in iter_journal(path)]


class Journal:
    """Append-only JSON-lines file; each record is on disk before :meth:`write` returns.

    Opening never truncates: records already there stay. A last line without its newline
    (torn by a crash) is closed with one, so the next record starts on a line of its own.

    Raises:
        OutputError: the file cannot be opened or written (the message names the folder
            and says how to go on).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh: IO[bytes] = path.open("ab")
            if self._fh.tell() > 0:
                with path.open("rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":
                        self._append(b"\n")
        except OSError as err:
            raise _no_space(err, path.parent, path) from err

    def _append(self, data: bytes) -> None:
        self._fh.write(data)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def write(self, record: dict[str, Any]) -> None:
        """Append one record and sync it to disk."""
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")
        try:
            self._append(line)
        except OSError as err:
            raise _no_space(err, self.path.parent, self.path) from err

    def close(self) -> None:
        """Close the file (records are already on disk)."""
        if not self._fh.closed:
            with contextlib.suppress(OSError):  # every write was already flushed and synced
                self._fh.close()
