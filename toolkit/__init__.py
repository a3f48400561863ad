"""news-toolkit: clean, summarise and topic-tag folders of scraped news articles.

The data flows read → clean → summarise → tag → write; each step is a module of its own
(:mod:`toolkit.read`, :mod:`toolkit.clean`, :mod:`toolkit.summarize` with
:mod:`toolkit.extract` and :mod:`toolkit.faithful`, :mod:`toolkit.tag`, :mod:`toolkit.write`),
with :mod:`toolkit.models` and :mod:`toolkit.prompts` beside them and :mod:`toolkit.core`
running them over a folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ExtractOptions",
    "Extractor",
    "RunOptions",
    "Summarizer",
    "SummaryOptions",
    "Tagger",
    "__version__",
    "clean",
    "run_folder",
]

if TYPE_CHECKING:
    from .clean import clean
    from .core import RunOptions, run_folder
    from .extract import ExtractOptions, Extractor
    from .summarize import Summarizer, SummaryOptions
    from .tag import Tagger

_LAZY = {
    "clean": ".clean",
    "RunOptions": ".core",
    "run_folder": ".core",
    "Extractor": ".extract",
    "ExtractOptions": ".extract",
    "Summarizer": ".summarize",
    "SummaryOptions": ".summarize",
    "Tagger": ".tag",
}


def __getattr__(name: str) -> Any:
    """Import the public API lazily, so ``toolkit --help`` does not load torch."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
