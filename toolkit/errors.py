"""Errors a person can act on.

Every error the toolkit raises on purpose derives from :class:`ToolkitError`; its message is
one line that names the thing at fault and says what to do next. The command line prints it
as ``toolkit: error: MESSAGE`` and exits with status 2, without a traceback.
"""

from __future__ import annotations

__all__ = ["OutputError", "ToolkitError", "UsageError"]


class ToolkitError(Exception):
    """An error whose message says what went wrong and what to do next."""


class UsageError(ToolkitError, ValueError):
    """A bad option, path or template: fix the call and run again."""


class OutputError(ToolkitError, OSError):
    """The output folder cannot be written (permissions, a full disk) or is in use."""
