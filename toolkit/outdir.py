"""The output folder of a run: owned by one run at a time, never overlapping the input.

A run's results must survive anything: a crash at any moment, a second run started on the
same folder, an output folder inside the input, a full disk. :class:`OutputFolder` holds
the rules:

* **Paths.** The output folder is never the input folder, never a file, and no output file
  can replace an input file. An output folder inside the input is skipped when the input is
  read, as is any folder holding :data:`~toolkit.read.OUTPUT_MARKER` (an earlier run's).
* **One run at a time.** The marker file is also the run's lock (``flock``): a second run on
  the same folder stops at once with an error naming the holder. The lock goes with the
  process, so a killed run leaves no stale lock.
* **A second run is refused** when the folder holds results, unless it resumes them.
* **Resume.** Finished records are found in the results file and the journal (torn lines
  skipped with a warning). The journal is appended to, never truncated; the results file is
  replaced in one rename only when the new one is complete, and the journal is deleted only
  after that. A kill at any point loses no finished record and duplicates none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import OutputError, UsageError
from .read import OUTPUT_MARKER
from .write import Journal, atomic_write_lines, iter_journal

__all__ = ["Located", "OutputFolder", "check_paths"]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_paths(
    source: Path, output: Path, files: Iterable[str] = (), folders: Iterable[str] = ()
) -> None:
    """Refuse an input or output path that would lose data, with a one-line reason.

    Args:
        source: the input folder or file.
        output: the output folder.
        files: the names of the files a run writes into ``output``.
        folders: the names of the folders a run writes into ``output``.

    Raises:
        FileNotFoundError: the input does not exist.
        UsageError: the input is not a readable folder or regular file, the output is a
            file, the output is the input, or an output could replace an input file.
    """
    import stat

    if not source.exists():
        raise FileNotFoundError(f"input {source} does not exist")
    mode = source.stat().st_mode
    if stat.S_ISDIR(mode):
        try:
            with os.scandir(source):
                pass
        except OSError as err:
            raise UsageError(
                f"cannot read the input folder {source}: {err.strerror or err}"
            ) from err
    elif not stat.S_ISREG(mode):
        raise UsageError(
            f"input {source} is not a folder or a regular file (a FIFO, socket or device); "
            "give a folder of articles or one file"
        )
    if output.exists() and not output.is_dir():
        raise UsageError(f"the output {output} is a file, not a folder; give a folder with -o")
    real_source, real_output = source.resolve(), output.resolve()
    if real_source == real_output:
        raise UsageError(
            f"the output folder {output} is the input folder; give another -o (outputs must "
            "never overwrite articles or be read as articles)"
        )
    names = set(files) | {OUTPUT_MARKER}
    if real_source.parent == real_output and real_source.name in names:
        raise UsageError(
            f"the input {source} would be overwritten by the output {real_source.name}; "
            "give another -o"
        )
    for folder in folders:
        if _inside(real_source, real_output / folder):
            raise UsageError(
                f"the input {source} is inside {output / folder}, which the run writes; "
                "give another -o"
            )


@dataclass(frozen=True, slots=True)
class Located:
    """Where a finished record is on disk, and its key (a digest of its content and settings
    hashes: a hundred bytes an article, so that the index stays small for large corpora)."""

    path: Path
    offset: int
    key: bytes

    @staticmethod
    def digest(content_sha256: str, settings_sha256: str) -> bytes:
        """The key of a record with these content and settings hashes."""
        joined = f"{content_sha256}\0{settings_sha256}".encode()
        return hashlib.blake2b(joined, digest_size=16).digest()


class _Readers:
    """Open files to read records at offsets, one handle per file."""

    def __init__(self) -> None:
        self._files: dict[Path, IO[bytes]] = {}

    def read(self, where: Located) -> dict[str, Any]:
        fh = self._files.get(where.path)
        if fh is None:
            fh = self._files[where.path] = where.path.open("rb")
        fh.seek(where.offset)
        return dict(json.loads(fh.readline().decode("utf-8")))

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()


class OutputFolder:
    """One run's output folder: checks, the lock, the journal, resume and the final files.

    Use as a context manager around the run (the lock is held inside it)::

        with OutputFolder(out, results="summaries.jsonl", command="summarise") as folder:
            folder.start(source, resume=True)
            ...

    Args:
        path: the folder (created if needed).
        results: the name of the results file (its journal is ``<results>.part``).
        files: the other files the run writes (for the path checks).
        folders: the folders the run writes (for the path checks).
        command: what the run is, recorded in the lock for a second run's error.
    """

    def __init__(
        self,
        path: Path,
        *,
        results: str,
        files: Iterable[str] = (),
        folders: Iterable[str] = (),
        command: str = "run",
    ) -> None:
        self.path = Path(path)
        self.results = self.path / results
        self.journal_path = self.path / f"{results}.part"
        self.files = (results, f"{results}.part", *files)
        self.folders = tuple(folders)
        self.command = command
        self.journal: Journal | None = None
        self._lock_fd: int | None = None
        self._done: dict[str, Located] = {}
        self._order: list[str] = []
        self._rank: dict[str, int] = {}  # id -> its place in the input
        self._readers = _Readers()

    # -- set-up ------------------------------------------------------------------------------
    def check(self, source: Path, resume: bool) -> None:
        """The path checks (:func:`check_paths`) and the refusal of a second run that does
        not resume; cheap and changes nothing, so a command can call it before loading
        models."""
        check_paths(source, self.path, self.files, self.folders)
        holder = self._holder()
        if holder is not None:
            raise self._busy(holder)
        if not resume and (self.results.exists() or self.journal_path.exists()):
            held = "an unfinished run (" if self.journal_path.exists() else "the results of a run ("
            name = self.journal_path.name if self.journal_path.exists() else self.results.name
            raise UsageError(
                f"{self.path} already holds {held}{name}); run again with --resume to keep "
                "them and do only what is new or changed, or choose another -o"
            )

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, source: Path, resume: bool) -> None:
        """Check the paths, take the lock, clear leftovers of a killed run's final writes and
        open the journal (appending). With ``resume``, index the finished records.

        Raises:
            UsageError: a path check failed, or the folder holds results and ``resume`` is
                False.
            OutputError: the folder cannot be created or written, or another run holds it.
        """
        self.check(source, resume)
        self._lock()
        for leftover in self.path.glob(".*.tmp"):  # a killed run's unfinished final file
            if any(leftover.name.startswith(f".{name}.") for name in self.files):
                leftover.unlink(missing_ok=True)
        if resume:
            self._index()
        self.journal = Journal(self.journal_path)

    def _lock(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.path, prefix=".toolkit-probe-")
            os.close(fd)
            os.unlink(probe)
            fd = os.open(self.path / OUTPUT_MARKER, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise OutputError(
                f"cannot write to the output folder {self.path}: {err.strerror or err}; choose "
                "a folder you can write to with -o"
            ) from err
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows: no lock
            pass
        except OSError as err:
            os.close(fd)
            raise self._busy(self._holder() or {}) from err
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": self.command,
        }
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(holder) + "\n").encode())
        self._lock_fd = fd

    def _holder(self) -> dict[str, Any] | None:
        """Who holds the folder's lock now (None when nobody does)."""
        marker = self.path / OUTPUT_MARKER
        if self._lock_fd is not None or not marker.exists():
            return None
        try:
            import fcntl

            fd = os.open(marker, os.O_RDONLY)
        except (ImportError, OSError):
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            try:
                return dict(json.loads(marker.read_text(encoding="utf-8") or "{}"))
            except (OSError, ValueError):
                return {}
        finally:
            os.close(fd)  # also releases the probe's shared lock
        return None

    def _busy(self, holder: dict[str, Any]) -> OutputError:
        who = (
            f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"`toolkit {holder.get('command', '?')}` since {holder.get('started', '?')}"
        )
        return OutputError(
            f"{self.path} is in use by another run ({who}); wait for it to finish, or choose "
            "another -o"
        )

    def _index(self) -> None:
        """Find the finished records of earlier runs: the results file, then the journal
        (a later line wins)."""
        self._previous: dict[str, Located] = {}
        for path in (self.results, self.journal_path):
            for offset, rec in iter_journal(path):
                if isinstance(rec.get("id"), str):
                    self._previous[rec["id"]] = Located(
                        path,
                        offset,
                        Located.digest(
                            str(rec.get("content_sha256", "")), str(rec.get("settings_sha256", ""))
                        ),
                    )

    # -- during the run ------------------------------------------------------------------------
    def finished(self, doc_id: str, content_sha256: str, settings_sha256: str) -> bool:
        """Whether an earlier run finished this article with this content and settings; if so,
        its record is kept (and counted in the final file)."""
        where = getattr(self, "_previous", {}).get(doc_id)
        if where is None or where.key != Located.digest(content_sha256, settings_sha256):
            return False
        self._keep(doc_id, where)
        return True

    def previous_ids(self) -> list[str]:
        """The ids of the records earlier runs left (with ``resume``; else none)."""
        return list(getattr(self, "_previous", {}))

    def previous(self, doc_id: str) -> dict[str, Any] | None:
        """The record an earlier run wrote for ``doc_id`` (any content or settings), if any."""
        where = getattr(self, "_previous", {}).get(doc_id)
        return self._readers.read(where) if where is not None else None

    def add(self, record: dict[str, Any]) -> None:
        """Append a finished record to the journal (on disk when this returns)."""
        assert self.journal is not None, "start() first"
        offset = self.journal_path.stat().st_size
        self.journal.write(record)
        self._keep(
            record["id"],
            Located(
                self.journal_path,
                offset,
                Located.digest(
                    str(record.get("content_sha256", "")), str(record.get("settings_sha256", ""))
                ),
            ),
        )

    def expect(self, doc_id: str) -> None:
        """Note an article's place in the input when it is read: records finished out of
        order (in batches) still come out in input order."""
        self._rank.setdefault(doc_id, len(self._rank))

    def _keep(self, doc_id: str, where: Located) -> None:
        self.expect(doc_id)
        if doc_id not in self._done:
            self._order.append(doc_id)
        self._done[doc_id] = where

    def __len__(self) -> int:
        return len(self._order)

    def record(self, doc_id: str) -> dict[str, Any] | None:
        """This run's record for ``doc_id`` (kept or new), read from disk; None if none."""
        where = self._done.get(doc_id)
        return self._readers.read(where) if where is not None else None

    def records(self) -> Iterator[dict[str, Any]]:
        """This run's records (kept and new), in input order, read from disk one at a time."""
        for doc_id in sorted(self._order, key=self._rank.__getitem__):
            yield self._readers.read(self._done[doc_id])

    # -- the end -------------------------------------------------------------------------------
    def commit(self, records: Iterable[dict[str, Any]]) -> None:
        """Write the results file from ``records`` (one rename), then drop the journal."""
        lines = (json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        atomic_write_lines(self.results, lines)
        self._readers.close()
        if self.journal is not None:
            self.journal.close()
        self.journal_path.unlink(missing_ok=True)
        self._done, self._order, self._rank = {}, [], {}

    def write(self, name: str, text: str) -> None:
        """Write one of the run's other files atomically."""
        atomic_write_lines(self.path / name, [text])

    def close(self) -> None:
        """Close the journal and release the lock (the marker file stays)."""
        self._readers.close()
        if self.journal is not None:
            self.journal.close()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None


def say(message: str) -> None:
    """One line on stderr."""
    print(message, file=sys.stderr, flush=True)
