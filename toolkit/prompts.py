"""Prompt templates: jinja2 files in ``prompts/``, overridable by a user's folder.

Article text is data, never template code or instructions:

* it is passed in as a variable to a sandboxed environment with ``StrictUndefined``, and
  templates wrap it in delimiters; the ``data`` filter removes any delimiter tag an article
  might contain, so text cannot close the block it is quoted in;
* it can never become one of the model's control tokens: :func:`defuse_special_tokens`
  breaks every special or added token string in it (``<|im_end|>``, ``</s>``, ...) before
  it reaches a template, so the tokenizer reads those characters as plain text;
* rendering is bounded: ``range`` shares one budget of items per render, ``*`` and ``**``
  cannot build huge values, and the output has a size limit, so a template (the user's own
  included) can neither hang a run nor take the machine's memory.

A template that does not parse, uses an undefined variable or reaches for something the
sandbox forbids gives a :class:`PromptError` naming the template's file and line.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from .errors import UsageError
from .settings import bundled_dir

__all__ = ["MAX_RENDER_CHARS", "PromptError", "Prompts", "builtin_dir", "defuse_special_tokens"]

_TAG = re.compile(r"</?\s*(article|summaries|summary|text|instructions?)\s*>", re.IGNORECASE)
#: The most characters one render may produce (a prompt is far shorter: it must fit a
#: model's context).
MAX_RENDER_CHARS = 1_000_000
#: The most items all ``range()`` calls of one render may produce together.
MAX_RANGE_ITEMS = 100_000


class PromptError(UsageError):
    """A template that cannot be rendered: the message names the file and line."""


def builtin_dir() -> Path:
    """The folder of the templates that ship with the package."""
    return bundled_dir("prompts", "prompts")


def _data(value: object) -> str:
    """Jinja filter: article text as inert data (delimiter tags removed, whitespace trimmed)."""
    return _TAG.sub(" ", str(value)).strip()


class _BoundedEnvironment(SandboxedEnvironment):
    """A sandbox whose renders cannot run away: ``range`` draws on a per-render budget, and
    ``*`` / ``**`` refuse results beyond :data:`MAX_RENDER_CHARS`."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.range_left = MAX_RANGE_ITEMS
        self.globals["range"] = self._range

    def _range(self, *args: int) -> range:
        items = range(*args)
        self.range_left -= len(items)
        if self.range_left < 0:
            raise SecurityError(
                f"the template's loops exceed {MAX_RANGE_ITEMS:,} range() items in one render"
            )
        return items

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > MAX_RENDER_CHARS:
                    raise SecurityError("the template builds a value that is too large")
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("the template raises a number to too high a power")
        return super().call_binop(context, operator, left, right)


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
        self.env = _BoundedEnvironment(
            loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )
        self.env.filters["data"] = _data

    def render(self, name: str, **variables: Any) -> str:
        """Render template ``name`` with ``variables``.

        Raises:
            PromptError: the template is missing, does not parse, uses a variable that was
                not given, does something the sandbox forbids, or renders more than
                :data:`MAX_RENDER_CHARS` characters. The message names the file and line.
        """
        self.env.range_left = MAX_RANGE_ITEMS
        try:
            template = self.env.get_template(name)
            pieces, size = [], 0
            for piece in template.generate(**variables):
                size += len(piece)
                if size > MAX_RENDER_CHARS:
                    raise SecurityError(
                        f"the template renders more than {MAX_RENDER_CHARS:,} characters"
                    )
                pieces.append(piece)
        except jinja2.TemplateNotFound as err:
            folders = ", ".join(str(d) for d in self.dirs)
            raise PromptError(f"no prompt template {name!r} in {folders}") from err
        except (jinja2.TemplateError, RecursionError) as err:
            raise PromptError(self._explain(name, err)) from err
        return "".join(pieces).strip()

    def _explain(self, name: str, err: BaseException) -> str:
        try:
            where = str(self.path(name))
        except jinja2.TemplateNotFound:
            where = name
        line = getattr(err, "lineno", None)
        # a runtime error: jinja rewrites the traceback so that the template's frame carries
        # the template's file and line
        tb: Any = err.__traceback__
        while line is None and tb is not None:
            if tb.tb_frame.f_code.co_filename == where:
                line = tb.tb_lineno
            tb = tb.tb_next
        at = f", line {line}" if line else ""
        kind = {
            "TemplateSyntaxError": "syntax error",
            "UndefinedError": "undefined variable",
            "SecurityError": "not allowed",
        }.get(type(err).__name__, type(err).__name__)
        message = " ".join(str(err).split()).rstrip(".") or type(err).__name__
        builtin = (builtin_dir() / name).is_file() and Path(where) != builtin_dir() / name
        fix = "fix it, or delete it to use the built-in one" if builtin else "fix it"
        return f"prompt template {where}{at}: {kind}: {message}; {fix}"

    def check(self, name: str, **variables: Any) -> None:
        """Render ``name`` once with example ``variables``, to fail before a run starts.

        Raises:
            PromptError: as :meth:`render`.
        """
        self.render(name, **variables)

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


# --------------------------------------------------------------------------------------------
# Article text never becomes a control token


def _control_strings(tokenizer: Any) -> list[str]:
    """The strings a tokenizer turns into one special or added token on sight (``<s>``,
    ``<|im_end|>``, ...); plain-word added tokens are left out (they control nothing)."""
    strings: set[str] = set(getattr(tokenizer, "all_special_tokens", None) or [])
    added: Any = getattr(tokenizer, "added_tokens_decoder", None) or {}
    strings.update(str(token) for token in added.values())
    return sorted(
        (s for s in strings if len(s) > 1 and not s.replace(" ", "").isalnum()),
        key=len,
        reverse=True,
    )


def _control_ids(tokenizer: Any) -> set[int]:
    added: Any = getattr(tokenizer, "added_tokens_decoder", None) or {}
    ids = {int(i) for i, token in added.items() if str(token) in set(_control_strings(tokenizer))}
    ids.update(int(i) for i in getattr(tokenizer, "all_special_ids", None) or [])
    return ids


class _Defuser:
    """The compiled pattern of one tokenizer's control strings (cached on the tokenizer)."""

    def __init__(self, tokenizer: Any) -> None:
        strings = _control_strings(tokenizer)
        self.pattern = (
            re.compile("|".join(re.escape(s) for s in strings), re.IGNORECASE) if strings else None
        )
        self.ids = _control_ids(tokenizer)
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> str:
        if self.pattern is None or not self.pattern.search(text):
            return text
        for _ in range(4):  # breaking one string can form another; it settles at once
            text = self.pattern.sub(lambda m: f"{m.group(0)[0]} {m.group(0)[1:]}", text)
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            if not self.ids.intersection(ids) and not self.pattern.search(text):
                return text
        # a tokenizer that still finds a control token: drop the characters that form it
        return self.pattern.sub(" ", re.sub(r"[<>|\[\]]", " ", text))


def defuse_special_tokens(text: str, tokenizer: Any) -> str:
    """``text`` with every string the tokenizer would read as a control token broken up
    (``<|im_end|>`` becomes ``< |im_end|>``), so that article text can never produce a
    model's special tokens, whatever template or chat format it is put in.

    Args:
        text: untrusted text (an article, a title, a model's partial summary).
        tokenizer: the model's tokenizer (its special and added tokens are read once).

    Returns:
        The text, unchanged unless it held such a string.
    """
    defuser = getattr(tokenizer, "_toolkit_defuser", None)
    if defuser is None:
        defuser = _Defuser(tokenizer)
        with contextlib.suppress(AttributeError):  # a tokenizer that refuses attributes
            tokenizer._toolkit_defuser = defuser
    return str(defuser(text))
