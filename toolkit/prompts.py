"""Prompt templates: jinja2 files in ``prompts/``, overridable by a user's folder.

Article text is data, never template code: it is passed in as a variable to a sandboxed
environment with ``StrictUndefined``, and templates wrap it in delimiters. The ``data``
filter removes any delimiter tag an article might contain, so text cannot close the block it
is quoted in.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .settings import bundled_dir

__all__ = ["Prompts", "builtin_dir"]

_TAG = re.compile(r"</?\s*(article|summaries|summary|text|instructions?)\s*>", re.IGNORECASE)


def builtin_dir() -> Path:
    """The folder of the templates that ship with the package."""
    return bundled_dir("prompts", "prompts")


def _data(value: object) -> str:
    """Jinja filter: article text as inert data (delimiter tags removed, whitespace trimmed)."""
    return _TAG.sub(" ", str(value)).strip()


class Prompts:
    """Renders named templates; a template in ``user_dir`` overrides the built-in one.

    Args:
        user_dir: a folder of the user's own ``*.j2`` templates (optional).
    """

    def __init__(self, user_dir: str | os.PathLike[str] | None = None) -> None:
        dirs = [builtin_dir()]
        if user_dir is not None:
            user = Path(user_dir).expanduser()
            if not user.is_dir():
                raise FileNotFoundError(f"prompt folder {user} does not exist")
            dirs.insert(0, user)
        self.dirs = dirs
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )
        self.env.filters["data"] = _data

    def render(self, name: str, **variables: Any) -> str:
        """Render template ``name`` with ``variables``.

        Raises:
            jinja2.UndefinedError: the template uses a variable that was not given.
            jinja2.TemplateNotFound: no such template in the user's or the built-in folder.
        """
        return self.env.get_template(name).render(**variables).strip()

    def path(self, name: str) -> Path:
        """The file that ``name`` resolves to (the user's override when there is one)."""
        for folder in self.dirs:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        raise jinja2.TemplateNotFound(name)

    def sha256(self, name: str) -> str:
        """sha256 of the source of the template ``name`` resolves to."""
        return hashlib.sha256(self.path(name).read_bytes()).hexdigest()

    def exists(self, name: str) -> bool:
        """Whether ``name`` resolves to a template."""
        try:
            self.path(name)
        except jinja2.TemplateNotFound:
            return False
        return True
