"""Shared fixtures: tiny random models (built once per session) and the seeds folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import tiny_models

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
EXAMPLES = ROOT / "examples" / "articles"


@pytest.fixture(scope="session")
def tiny_causal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_models.build_causal(tmp_path_factory.mktemp("models") / "causal")


@pytest.fixture(scope="session")
def tiny_seq2seq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_models.build_seq2seq(tmp_path_factory.mktemp("models") / "seq2seq")


@pytest.fixture(scope="session")
def tiny_nli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_models.build_nli(tmp_path_factory.mktemp("models") / "nli")


@pytest.fixture(scope="session")
def tiny_embedder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_models.build_sentence_transformer(tmp_path_factory.mktemp("models") / "st")


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is absent")
    return SEEDS
