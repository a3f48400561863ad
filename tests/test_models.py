"""Model presets: fetching through pip with sha256 checks, caching, kind detection, devices."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from transformers import AutoConfig

from toolkit import models, registry, settings
from toolkit.models import ModelUnavailable, Preset
from toolkit.registry import RegistryArtifact


def make_wheel(model_dir: Path, dest: Path) -> tuple[Path, str]:
    """A wheel named like a registry package, carrying a model folder."""
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / "tiny_model_pkg-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for f in sorted(model_dir.rglob("*")):
            if f.is_file():
                zf.write(f, f"tiny_model_pkg/model/{f.relative_to(model_dir).as_posix()}")
        info = "tiny_model_pkg-0.1.0.dist-info"
        zf.writestr(
            f"{info}/METADATA", "Metadata-Version: 2.1\nName: tiny-model-pkg\nVersion: 0.1.0\n"
        )
        zf.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{info}/RECORD", "")
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


@pytest.fixture
def local_index(tmp_path, tiny_causal, monkeypatch):
    wheel, sha = make_wheel(tiny_causal, tmp_path / "wheels")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheel.parent))
    return sha


def preset(sha: str) -> Preset:
    art = RegistryArtifact("tiny-model-pkg", "0.1.0", sha, "tiny_model_pkg/model/")
    return Preset("tiny", "causal", "test model", artifact=art)


def test_fetch_downloads_checks_unpacks_and_caches(local_index, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    folder = models.fetch(preset(local_index), cache)
    assert folder == cache / "models" / "tiny-0.1.0"
    assert (folder / "config.json").is_file() and (folder / "toolkit-source.json").is_file()
    assert AutoConfig.from_pretrained(folder).model_type == "llama"
    # a second call is served from the cache: no download is attempted
    monkeypatch.setattr(registry, "download_wheel", lambda *a: pytest.fail("fetched again"))
    assert models.fetch(preset(local_index), cache) == folder
    # nothing but the model folder and the lock are left behind
    assert [p.name for p in (cache / "models").iterdir() if p.name[0] != "."] == ["tiny-0.1.0"]
    assert not list((cache / "models").glob(".tiny-0.1.0-*"))  # no half-built folder


def test_fetch_refuses_a_wheel_with_the_wrong_hash(local_index, tmp_path):
    with pytest.raises(ModelUnavailable, match="expected"):
        models.fetch(preset("0" * 64), tmp_path / "cache")
    assert not (tmp_path / "cache" / "models" / "tiny-0.1.0").exists()


def test_offline_and_not_cached_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="toolkit fetch tiny"):
        models.fetch(preset("0" * 64), tmp_path / "cache")


def test_resolve_passes_paths_and_hub_ids_through(tmp_path):
    assert models.resolve(str(tmp_path)) == str(tmp_path.resolve())
    assert models.resolve("some-org/some-model") == "some-org/some-model"
    assert models.resolve("flan-t5-base") == "google/flan-t5-base"


def test_registry_presets_are_pinned():
    for p in models.PRESETS.values():
        if p.artifact:
            assert len(p.artifact.sha256) == 64 and p.artifact.version


def test_model_kind_from_config(tiny_causal, tiny_seq2seq, tiny_nli, tiny_embedder):
    kind = lambda path: models.model_kind(AutoConfig.from_pretrained(path))  # noqa: E731
    assert kind(tiny_causal) == "causal"
    assert kind(tiny_seq2seq) == "seq2seq"
    assert kind(tiny_nli) == "nli"
    with pytest.raises(ModelUnavailable, match="neither"):
        kind(tiny_embedder)
    # an encoder-decoder classifier (like facebook/bart-large-mnli) is an NLI model
    from transformers import BartConfig

    mnli = BartConfig(
        architectures=["BartForSequenceClassification"],
        id2label={0: "contradiction", 1: "neutral", 2: "entailment"},
    )
    assert mnli.is_encoder_decoder and models.model_kind(mnli) == "nli"


def test_an_unknown_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="not a preset"):
        models.load_generator("no-such-org/no-such-model")


def test_device_auto_detection(monkeypatch):
    import torch

    monkeypatch.delenv("TOOLKIT_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert settings.pick_device() == "cuda"
    monkeypatch.setenv("TOOLKIT_DEVICE", "cpu")
    assert settings.pick_device() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("TOOLKIT_DEVICE")
    assert settings.pick_device() in ("cpu", "mps")
    from toolkit.errors import UsageError

    with pytest.raises(UsageError, match="CUDA is not available.*--device cpu"):
        settings.pick_device("cuda")
    with pytest.raises(UsageError, match="unknown device 'gpu'"):
        settings.pick_device("gpu")


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "c"))
    assert settings.cache_dir() == (tmp_path / "c").resolve()
    assert settings.cache_dir(tmp_path / "d") == (tmp_path / "d").resolve()


def test_pickled_weights_are_refused(tiny_causal, tmp_path):
    import shutil

    import torch
    from safetensors.torch import load_file

    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_causal, pickled)
    weights = load_file(pickled / "model.safetensors")
    (pickled / "model.safetensors").unlink()
    torch.save(weights, pickled / "pytorch_model.bin")
    with pytest.raises(ModelUnavailable, match="only safetensors"):
        models.load_generator(str(pickled), device="cpu")


def test_fingerprint_changes_with_the_weights(tiny_causal, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_causal, copy)
    assert models.fingerprint(str(copy)) == models.fingerprint(str(tiny_causal))
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    assert models.fingerprint(str(copy)) != models.fingerprint(str(tiny_causal))
    assert models.fingerprint("some-org/some-model") is None


def damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:  # overwrite a third of the file in the middle, size unchanged
        third = len(data) // 3
        data[third : 2 * third] = bytes(third)
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "overwrite"])
def test_a_damaged_cached_model_is_detected_and_says_how_to_refetch(local_index, tmp_path, how):
    cache = tmp_path / "cache"
    folder = models.fetch(preset(local_index), cache)
    assert models.verify(preset(local_index), cache) == []
    damage(folder / "model.safetensors", how)
    with pytest.raises(ModelUnavailable, match=r"damaged .*model\.safetensors.*fetch --force tiny"):
        models.fetch(preset(local_index), cache)
    assert any("model.safetensors" in p for p in models.verify(preset(local_index), cache))
    # --force fetches a good copy again
    assert models.fetch(preset(local_index), cache, force=True) == folder
    assert models.verify(preset(local_index), cache) == []
    assert models.fetch(preset(local_index), cache) == folder


def test_a_failed_load_of_a_cached_model_names_the_damage(local_index, tmp_path):
    cache = tmp_path / "cache"
    folder = models.fetch(preset(local_index), cache)
    damage(folder / "model.safetensors", "truncate")
    # loaded by its path (no cheap check on the way), the load fails: the message is one
    # line that names the damaged file and how to re-fetch, not a library traceback
    with pytest.raises(ModelUnavailable) as err:
        models.load_generator(str(folder), device="cpu")
    message = str(err.value)
    assert "\n" not in message and "model.safetensors has" in message
    assert "toolkit fetch --force tiny" in message


def test_an_adapter_whose_base_is_itself_is_refused(tiny_causal, tmp_path):
    import json

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"")
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": str(adapter), "peft_type": "LORA"})
    )
    with pytest.raises(ModelUnavailable, match="base model .* is the adapter itself"):
        models.load_generator(str(adapter), device="cpu")


def test_fetch_verify_and_force_from_the_command_line(local_index, tmp_path, monkeypatch, capsys):
    from toolkit.cli import main

    monkeypatch.setitem(models.PRESETS, "tiny", preset(local_index))
    cache = str(tmp_path / "cache")
    assert main(["fetch", "tiny", "--cache-dir", cache]) == 0
    assert main(["fetch", "--verify", "tiny", "--cache-dir", cache]) == 0
    assert "tiny: ok" in capsys.readouterr().out
    folder = models.cached_folder("tiny", cache)
    damage(folder / "model.safetensors", "overwrite")
    assert main(["fetch", "--verify", "tiny", "--cache-dir", cache]) == 1
    out = capsys.readouterr().out
    assert "tiny: DAMAGED" in out and "toolkit fetch --force tiny" in out
    assert main(["summarise", str(tmp_path), "-o", str(tmp_path / "o"), "--model", "tiny",
                 "--cache-dir", cache, "--no-tags"]) == 2  # fmt: skip
    assert "damaged" in capsys.readouterr().err
    assert main(["fetch", "--force", "tiny", "--cache-dir", cache]) == 0
    assert main(["fetch", "--verify", "tiny", "--cache-dir", cache]) == 0
