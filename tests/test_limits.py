"""Per-article deadlines: a runaway loop or regular expression is interrupted in time."""

from __future__ import annotations

import re
import threading
import time

import pytest

from toolkit.limits import ArticleTimeout, deadline, deadlines_supported

pytestmark = pytest.mark.skipif(not deadlines_supported(), reason="needs SIGALRM")


def test_a_python_loop_is_interrupted_at_its_deadline():
    started = time.perf_counter()
    budget = r"a.txt took longer than its 0\.3 s budget"
    with pytest.raises(ArticleTimeout, match=budget), deadline(0.3, "a.txt"):
        while True:
            pass
    assert time.perf_counter() - started < 5


def test_a_catastrophic_regular_expression_is_interrupted():
    with pytest.raises(ArticleTimeout), deadline(0.3):
        re.match(r"(a+)+$", "a" * 40 + "b")


def test_work_within_the_budget_is_untouched_and_the_timer_is_cleared():
    with deadline(5):
        total = sum(range(1000))
    assert total == 499500
    time.sleep(0.05)  # no stray alarm afterwards
    with deadline(None):  # no budget: nothing armed
        time.sleep(0.01)


def test_off_the_main_thread_there_is_no_deadline_and_no_error():
    result: list[bool] = []

    def work() -> None:
        with deadline(0.01):
            time.sleep(0.05)
        result.append(True)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert result == [True]
