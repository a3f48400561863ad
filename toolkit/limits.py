"""Bounds on one article's work: a wall-clock deadline and a size limit.

A run must never hang on one file. Sizes are bounded where the text enters (``max_bytes``
when reading, ``max_chars`` after cleaning, token caps before a model sees it), and the
time an article may take is bounded by :func:`deadline`: a timer that interrupts the
Python code working on it (cleaning, template rendering, the generation loop) with
:class:`ArticleTimeout`, so the run records that article's error line and goes on.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["ArticleTimeout", "deadline", "deadlines_supported"]


class ArticleTimeout(TimeoutError):
    """One article took longer than its time budget."""


def deadlines_supported() -> bool:
    """Whether :func:`deadline` can interrupt work here: on a Unix main thread only (a
    timer signal is delivered to the main thread; elsewhere the deadline is not enforced)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def deadline(seconds: float | None, what: str = "the article") -> Iterator[None]:
    """Raise :class:`ArticleTimeout` in the body once ``seconds`` have passed.

    The timer (``SIGALRM``) interrupts pure-Python loops, regular expressions and the token
    loop of ``generate``; a single long C call finishes first. Nested deadlines are not
    supported: the inner one replaces the outer one.

    Args:
        seconds: the budget; None or 0: no deadline.
        what: named in the error message.
    """
    if not seconds or seconds <= 0 or not deadlines_supported():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise ArticleTimeout(
            f"{what} took longer than its {seconds:g} s budget; raise it with --article-timeout"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
