"""The eval gate in CI: the fixed slice of every suite, and the cleaning benchmark, score at
least their pinned floors.

Runs the real default models on registry data (fetched on first use, cached after), like
trafilatura's tests/eval_gate.py. A drop below a floor fails `make test`.
"""

from __future__ import annotations

import pytest

from toolkit.gate import CLEANBENCH, DEFAULT_FLOORS, main, read_floors

pytestmark = pytest.mark.integration


def test_every_builtin_suite_is_gated():
    from toolkit.suites import list_suites

    assert set(read_floors(DEFAULT_FLOORS)) == {*list_suites(), CLEANBENCH}


def test_no_score_falls_below_its_floor(capsys):
    code = main([])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "eval gate: passed" in out.out
