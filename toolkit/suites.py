"""Evaluation suites: small TOML files that say what to evaluate and how.

A suite names its data (a builtin dataset or the user's JSON-lines/JSON/CSV file), maps the
data's columns to the harness's (``id``, ``text``, ``reference`` or ``label``, ``title``),
picks the split, the summariser settings, the metrics, the baselines and, for topic suites,
the label set. Suites ship in ``eval/suites/`` (packaged as ``toolkit/suites``); any other
``.toml`` file can be given by path. Every file is validated strictly: an unknown key, a
wrong type or a bad value is a :class:`SuiteError` naming the file and the key.

Example (``eval/README.md`` explains every key)::

    name = "my-news"
    task = "summary"
    [source]
    path = "my.jsonl"          # relative to this file
    [columns]
    text = "body"
    reference = "summary"
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import sys
import typing
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .data import BUILTIN, SPLITS, load_builtin, load_file
from .settings import bundled_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    import datasets

    from .summarize import SummaryOptions

__all__ = [
    "BASELINES",
    "METRICS",
    "TASKS",
    "Suite",
    "SuiteError",
    "builtin_suites_dir",
    "list_suites",
    "load_suite",
]

TASKS = ("summary", "topics")
METRICS: dict[str, tuple[str, ...]] = {
    "summary": ("rouge", "bertscore", "length", "novel_ngrams", "hallucination"),
    "topics": ("classification",),
}
BASELINES: dict[str, tuple[str, ...]] = {
    "summary": ("lead-1", "lead-3", "random-sentence"),
    "topics": ("majority",),
}
DEFAULT_GATE_LIMIT = 20
_TARGET = {"summary": "reference", "topics": "label"}
_TOP_KEYS = (
    "name",
    "task",
    "description",
    "source",
    "columns",
    "split",
    "generation",
    "metrics",
    "baselines",
    "labels",
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SuiteError(ValueError):
    """A suite file is invalid, or its data does not fit it; the message names file and key."""


@dataclass
class Suite:
    """A validated suite.

    Attributes:
        name: the suite's name (reports and output folders are named after it).
        task: "summary" or "topics".
        description: one line for listings.
        path: the suite file.
        sha256: sha256 of the suite file's bytes.
        source: ``{"builtin": name}`` or ``{"path": absolute path, "format": "json"|"csv"}``.
        columns: harness column -> data column, as written in the file (``id``, ``text``,
            ``reference`` or ``label``, ``title``, ``split``); missing ones take defaults.
        split: the split evaluated by default.
        gate_limit: how many rows (the first, in the suite's order) the CI eval gate scores.
        generation: :class:`toolkit.summarize.SummaryOptions` fields (summary suites).
        metrics: metric names.
        baselines: baseline names.
        labels: topic suites: label -> description (None: the labels found in the data).
        order: how rows are sorted before ``limit``: "id" (by id) or "hash" (by sha256 of
            the id: a fixed order that mixes sources and labels, so a short slice is a fair
            sample even when ids are grouped, like ``business/001``).
    """

    name: str
    task: str
    description: str
    path: Path
    sha256: str
    source: dict[str, Any]
    columns: dict[str, str]
    split: str
    gate_limit: int
    generation: dict[str, Any]
    metrics: list[str]
    baselines: list[str]
    labels: dict[str, str] | None
    order: str = "id"

    @property
    def target(self) -> str:
        """The harness column holding what is predicted: "reference" or "label"."""
        return _TARGET[self.task]

    def summary_options(self) -> SummaryOptions:
        """The suite's ``[generation]`` settings as summariser options."""
        from .summarize import SummaryOptions

        return SummaryOptions(**self.generation)

    def _error(self, key: str, message: str) -> SuiteError:
        return SuiteError(f"{self.path}: {key}: {message}")

    def load(
        self,
        split: str | None = None,
        limit: int | None = None,
        cache: str | os.PathLike[str] | None = None,
    ) -> datasets.Dataset:
        """The suite's rows with the harness's columns in a stable order, the first ``limit``.

        Columns: ``id``, ``text``, ``reference`` (summary) or ``label`` (topics), and
        ``title`` when the data has one; all strings. Rows are sorted by id, or by the
        sha256 of the id when the suite says ``order = "hash"``. Data without a split
        column is one split, whatever ``split`` says. Data without an id column is numbered
        by row (``000001``, ...), so that the id order is the file's.

        Args:
            split: the split (default: the suite's).
            limit: keep only the first ``limit`` rows, in that order.
            cache: cache folder for builtin datasets.

        Raises:
            SuiteError: a mapped column is not in the data, the split is not there, ids
                repeat, or a label is not in the suite's label set.
        """
        import datasets

        split = split or self.split
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        if "builtin" in self.source:
            if split not in SPLITS:
                raise self._error(
                    "split.name", f"unknown split {split!r}; splits: {', '.join(SPLITS)}"
                )
            ds = load_builtin(self.source["builtin"], cache=cache)
        else:
            ds = load_file(self.source["path"], self.source["format"])
        present = set(ds.column_names)
        mapping = self._mapping(present)

        rows = list(range(len(ds)))
        split_col = mapping.pop("split", None)
        if split_col is not None:
            values = [_text(v) for v in ds[split_col]]
            rows = [i for i, v in enumerate(values) if v == split]
            if not rows:
                found = ", ".join(sorted(set(values))) or "none"
                raise self._error(
                    "split.name",
                    f"split {split!r} is not in the data's "
                    f"{split_col!r} column (splits there: {found})",
                )

        id_col = mapping.pop("id", None)
        if id_col is None:
            width = max(6, len(str(len(ds))))
            ids = [str(i + 1).zfill(width) for i in rows]
        else:
            all_ids = list(ds[id_col])
            ids = [_text(all_ids[i]) for i in rows]
            if len(set(ids)) != len(ids):
                dup = Counter(ids).most_common(1)[0][0]
                raise self._error("columns.id", f"id {dup!r} occurs more than once in the data")
            if "" in ids:
                raise self._error("columns.id", "some rows have an empty id")

        columns: dict[str, list[str]] = {"id": ids}
        for harness, data_col in mapping.items():
            values = list(ds[data_col])
            columns[harness] = [_text(values[i]) for i in rows]

        if self.task == "topics" and self.labels is not None:
            unknown = sorted(set(columns["label"]) - set(self.labels))
            if unknown:
                raise self._error(
                    "labels",
                    f"the data has labels not in the label set: "
                    f"{', '.join(map(repr, unknown[:10]))}",
                )

        if self.order == "hash":
            order = sorted(range(len(ids)), key=lambda i: (_hash(ids[i]), ids[i]))
        else:
            order = sorted(range(len(ids)), key=ids.__getitem__)
        if limit is not None:
            order = order[:limit]
        out = {k: [v[i] for i in order] for k, v in columns.items()}
        features = datasets.Features({k: datasets.Value("string") for k in out})
        return datasets.Dataset.from_dict(out, features=features)

    def _mapping(self, present: set[str]) -> dict[str, str]:
        """Harness column -> data column, in output order, checked against the data."""
        have = ", ".join(sorted(present))
        out: dict[str, str] = {}
        for harness in ("split", "id", "text", self.target, "title"):
            if harness in self.columns:
                col = self.columns[harness]
                if col not in present:
                    raise self._error(
                        f"columns.{harness}",
                        f"column {col!r} is not in the data (columns there: {have})",
                    )
                out[harness] = col
            elif harness in present:
                out[harness] = harness
            elif harness in ("text", self.target):
                raise self._error(
                    f"columns.{harness}",
                    f"the data has no {harness!r} column (columns there: {have}); map one",
                )
        return out


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(value: Any) -> str:
    """A cell as a string: None is empty, whole floats lose their '.0' (CSV ids)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- parsing and validation --------------------------------------------------------------------
class _Checker:
    """Validation helpers that raise :class:`SuiteError` naming the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str, message: str) -> SuiteError:
        return SuiteError(f"{self.path}: {key}: {message}")

    def keys(self, table: dict[str, Any], allowed: tuple[str, ...], prefix: str = "") -> None:
        for key in table:
            if key not in allowed:
                raise self.error(prefix + key, f"unknown key (allowed: {', '.join(allowed)})")

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{key}]), not {_kind(value)}")
        return value

    def string(self, value: Any, key: str, *, empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_kind(value)}")
        if not empty and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def names(self, table: dict[str, Any], key: str, allowed: tuple[str, ...]) -> list[str]:
        self.keys(table, ("names",), f"{key}.")
        if "names" not in table:
            return list(allowed)
        value = table["names"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"{key}.names", "must be a list of strings")
        for name in value:
            if name not in allowed:
                raise self.error(
                    f"{key}.names", f"unknown name {name!r} (allowed: {', '.join(allowed)})"
                )
        if len(set(value)) != len(value):
            raise self.error(f"{key}.names", "lists a name twice")
        return list(value)


_KINDS = {
    dict: "a table",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), f"a {type(value).__name__}")


def _generation(check: _Checker, table: dict[str, Any]) -> dict[str, Any]:
    """Validate ``[generation]`` against the fields (and field types) of SummaryOptions."""
    from .summarize import SummaryOptions

    hints = typing.get_type_hints(SummaryOptions)
    fields = tuple(f.name for f in dataclasses.fields(SummaryOptions))
    check.keys(table, fields, "generation.")
    for key, value in table.items():
        key_path = f"generation.{key}"
        allowed = typing.get_args(hints[key]) or (hints[key],)
        kinds = tuple(typing.get_origin(t) or t for t in allowed if t is not type(None))
        kinds = tuple(t for t in kinds if isinstance(t, type))
        names = " or ".join(_KINDS.get(t, t.__name__) for t in kinds)
        if float in kinds:
            kinds = (*kinds, int)
        if kinds and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        ):
            raise check.error(key_path, f"must be {names}, not {_kind(value)}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            least = 1 if key in ("words", "max_new_tokens", "num_beams") else 0
            if value < least:
                raise check.error(key_path, f"must be >= {least}, not {value}")
    return dict(table)


def _parse(path: Path) -> Suite:
    check = _Checker(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SuiteError(f"{path}: cannot read the suite file ({err.strerror or err})") from err
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SuiteError(f"{path}: not valid TOML: {err}") from err
    check.keys(data, _TOP_KEYS)

    name = check.string(data.get("name", path.stem), "name")
    if not _NAME.match(name):
        raise check.error("name", f"{name!r}: use letters, digits, '.', '_' and '-' only")
    if "task" not in data:
        raise check.error("task", f"missing (one of: {', '.join(TASKS)})")
    task = check.string(data["task"], "task")
    if task not in TASKS:
        raise check.error("task", f"unknown task {task!r} (one of: {', '.join(TASKS)})")
    description = check.string(data.get("description", ""), "description", empty=True)
    target = _TARGET[task]

    # [source]
    if "source" not in data:
        raise check.error("source", 'missing: say builtin = "NAME" or path = "FILE"')
    src = check.table(data, "source")
    check.keys(src, ("builtin", "path", "format"), "source.")
    source: dict[str, Any]
    if ("builtin" in src) == ("path" in src):
        raise check.error("source", 'give exactly one of builtin = "NAME" or path = "FILE"')
    if "builtin" in src:
        builtin = check.string(src["builtin"], "source.builtin")
        if builtin not in BUILTIN:
            raise check.error(
                "source.builtin", f"unknown dataset {builtin!r} (builtin: {', '.join(BUILTIN)})"
            )
        if BUILTIN[builtin].task != task:
            raise check.error(
                "source.builtin",
                f"dataset {builtin!r} is for the {BUILTIN[builtin].task!r} task, not {task!r}",
            )
        if "format" in src:
            raise check.error("source.format", "only goes with source.path")
        source = {"builtin": builtin}
    else:
        rel = check.string(src["path"], "source.path")
        file = (path.parent / Path(rel).expanduser()).resolve()
        if not file.is_file():
            raise check.error("source.path", f"no such file: {file}")
        fmt = src.get("format")
        if fmt is None:
            fmt = {".jsonl": "json", ".json": "json", ".ndjson": "json", ".csv": "csv"}.get(
                file.suffix.lower()
            )
            if fmt is None:
                raise check.error(
                    "source.format",
                    f'cannot tell the format of {file.name}; say format = "json" or "csv"',
                )
        elif check.string(fmt, "source.format") not in ("json", "csv"):
            raise check.error("source.format", f"unknown format {fmt!r} (json or csv)")
        source = {"path": file, "format": fmt}

    # [columns]
    cols = check.table(data, "columns")
    check.keys(cols, ("id", "text", target, "title", "split"), "columns.")
    columns = {k: check.string(v, f"columns.{k}") for k, v in cols.items()}

    # [split]
    sp = check.table(data, "split")
    check.keys(sp, ("name", "gate_limit", "order"), "split.")
    split = check.string(sp.get("name", "test"), "split.name")
    if "builtin" in source and split not in SPLITS:
        raise check.error(
            "split.name", f"unknown split {split!r} (builtin datasets have: {', '.join(SPLITS)})"
        )
    gate_limit = sp.get("gate_limit", DEFAULT_GATE_LIMIT)
    if isinstance(gate_limit, bool) or not isinstance(gate_limit, int) or gate_limit < 1:
        raise check.error("split.gate_limit", f"must be a whole number >= 1, not {gate_limit!r}")

    order = check.string(sp.get("order", "id"), "split.order")
    if order not in ("id", "hash"):
        raise check.error("split.order", f"unknown order {order!r} (id or hash)")

    # [generation]
    gen = check.table(data, "generation")
    if gen and task != "summary":
        raise check.error("generation", "only for summary suites")
    generation = _generation(check, gen)

    metrics = check.names(check.table(data, "metrics"), "metrics", METRICS[task])
    if not metrics:
        raise check.error("metrics.names", "name at least one metric")
    baselines = check.names(check.table(data, "baselines"), "baselines", BASELINES[task])

    # [labels]
    labels: dict[str, str] | None = None
    if "labels" in data:
        if task != "topics":
            raise check.error("labels", "only for topics suites")
        table = check.table(data, "labels")
        if not table:
            raise check.error("labels", "empty: list the labels, or leave the table out")
        labels = {}
        for label, desc in table.items():
            if not label.strip():
                raise check.error("labels", "a label name is empty")
            labels[label] = check.string(desc, f"labels.{label}", empty=True)

    return Suite(
        name=name,
        task=task,
        description=description,
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        source=source,
        columns=columns,
        split=split,
        gate_limit=gate_limit,
        generation=generation,
        metrics=metrics,
        baselines=baselines,
        labels=labels,
        order=order,
    )


# -- finding suites ----------------------------------------------------------------------------
def builtin_suites_dir() -> Path:
    """The folder of the suites that ship with the package."""
    return bundled_dir("suites", "eval/suites")


def list_suites() -> list[str]:
    """Names of the builtin suites."""
    return sorted(p.stem for p in builtin_suites_dir().glob("*.toml"))


def load_suite(name_or_path: str | os.PathLike[str]) -> Suite:
    """A builtin suite by name (``news-standfirst``) or any suite file by path.

    Raises:
        SuiteError: no such suite, or the file is invalid (the message names file and key).
    """
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.suffix == ".toml" or path.is_file() or os.sep in text or "/" in text:
        if not path.is_file():
            raise SuiteError(f"{path}: no such suite file")
        return _parse(path.resolve())
    builtin = builtin_suites_dir() / f"{text}.toml"
    if not builtin.is_file():
        raise SuiteError(
            f"unknown suite {text!r}; builtin suites: {', '.join(list_suites())}; "
            "or give the path of a .toml file"
        )
    return _parse(builtin)
