"""Suites: parsing, strict validation (every error names the file and the key), and loading a
user's own JSONL and CSV files through a suite. The shipped suites are loaded on their real
data only in the tests marked ``integration``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT
from toolkit import data as D
from toolkit.suites import (
    BASELINES,
    METRICS,
    Suite,
    SuiteError,
    builtin_suites_dir,
    list_suites,
    load_suite,
)

SHIPPED = ["aclsum", "bbc-headline", "bbc-topics", "news-standfirst"]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def rows_jsonl(tmp_path: Path) -> Path:
    rows = [
        {"key": "b", "body": "Text b.", "gist": "Sum b.", "part": "test", "head": "B"},
        {"key": "a", "body": "Text a.", "gist": "Sum a.", "part": "test", "head": "A"},
        {"key": "c", "body": "Text c.", "gist": "Sum c.", "part": "train", "head": None},
        {"key": "d", "body": "Text d.", "gist": "Sum d.", "part": "test", "head": "D"},
    ]
    path = tmp_path / "data" / "mine.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


USER_SUITE = """
    name = "mine"
    task = "summary"
    description = "my articles"
    [source]
    path = "data/mine.jsonl"
    [columns]
    id = "key"
    text = "body"
    reference = "gist"
    title = "head"
    split = "part"
    [split]
    name = "test"
    gate_limit = 2
    [generation]
    words = 12
    num_beams = 2
    repetition_penalty = 1
"""


def suite_file(tmp_path: Path, text: str = USER_SUITE, name: str = "mine.toml") -> Path:
    return write(tmp_path / name, text)


# -- the shipped suites ------------------------------------------------------------------------
def test_shipped_suites_parse():
    assert list_suites() == SHIPPED
    assert builtin_suites_dir() == ROOT / "eval" / "suites"
    for name in SHIPPED:
        suite = load_suite(name)
        assert suite.name == name and suite.source == {"builtin": name}
        assert suite.task == D.BUILTIN[name].task
        assert suite.split == "test" and suite.gate_limit >= 20
        assert suite.metrics == list(METRICS[suite.task])
        assert suite.baselines == list(BASELINES[suite.task])
        assert len(suite.sha256) == 64 and suite.path.is_file()
        if suite.task == "summary":
            assert suite.summary_options().words == suite.generation["words"]
    labels = load_suite("bbc-topics").labels
    assert labels is not None
    assert sorted(labels) == ["business", "entertainment", "politics", "sports", "tech"]
    assert all(labels.values())


def test_load_suite_by_path_and_unknown_names(tmp_path):
    path = ROOT / "eval" / "suites" / "aclsum.toml"
    assert load_suite(str(path)) == load_suite("aclsum")
    with pytest.raises(SuiteError, match="unknown suite 'nope'; builtin suites: aclsum"):
        load_suite("nope")
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "missing.toml")


# -- a user's suite over their own files -------------------------------------------------------
def test_user_jsonl_suite_maps_columns_filters_the_split_and_sorts_by_id(tmp_path, rows_jsonl):
    suite = load_suite(suite_file(tmp_path))
    assert suite.source == {"path": rows_jsonl.resolve(), "format": "json"}
    assert suite.generation == {"words": 12, "num_beams": 2, "repetition_penalty": 1}
    ds = suite.load()
    assert ds.column_names == ["id", "text", "reference", "title"]
    assert ds.to_list() == [
        {"id": "a", "text": "Text a.", "reference": "Sum a.", "title": "A"},
        {"id": "b", "text": "Text b.", "reference": "Sum b.", "title": "B"},
        {"id": "d", "text": "Text d.", "reference": "Sum d.", "title": "D"},
    ]
    assert suite.load(limit=suite.gate_limit)["id"] == ["a", "b"]
    assert suite.load(split="train").to_list() == [
        {"id": "c", "text": "Text c.", "reference": "Sum c.", "title": ""}
    ]
    # the same rows, the same digest; a different slice, a different one
    assert D.dataset_sha256(suite.load()) == D.dataset_sha256(suite.load())
    assert D.dataset_sha256(suite.load()) != D.dataset_sha256(suite.load(limit=2))


def test_an_unknown_split_is_an_error_naming_the_key(tmp_path, rows_jsonl):
    suite = load_suite(suite_file(tmp_path))
    with pytest.raises(SuiteError, match=r"mine\.toml: split\.name: split 'dev' is not in"):
        suite.load(split="dev")


def test_hash_order_is_stable_and_not_the_id_order(tmp_path):
    rows = [{"id": f"{i:03d}", "text": "t", "reference": "r"} for i in range(40)]
    data = tmp_path / "many.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = 'task = "summary"\n[source]\npath = "many.jsonl"\n[split]\norder = "hash"\n'
    suite = load_suite(suite_file(tmp_path, text))
    first = suite.load(limit=10)["id"]
    assert first == suite.load(limit=10)["id"]
    assert first != sorted(first) and first == suite.load()["id"][:10]


def test_user_csv_without_ids_or_split_is_one_split_in_file_order(tmp_path):
    (tmp_path / "mine.csv").write_text(
        "article,summary,n\nSecond text.,Second.,2\nFirst text.,First.,1\n", encoding="utf-8"
    )
    text = """
        task = "summary"
        [source]
        path = "mine.csv"
        [columns]
        text = "article"
        reference = "summary"
    """
    suite = load_suite(suite_file(tmp_path, text))
    assert suite.name == "mine" and suite.source["format"] == "csv"
    assert suite.split == "test"  # whatever the name, a file without splits is one split
    ds = suite.load()
    assert ds.to_list() == [
        {"id": "000001", "text": "Second text.", "reference": "Second."},
        {"id": "000002", "text": "First text.", "reference": "First."},
    ]
    assert suite.load(split="train").num_rows == 2


def test_csv_numbers_become_strings(tmp_path):
    (tmp_path / "t.csv").write_text("id,text,label\n10,A text.,1\n9,B text.,0\n")
    text = """
        task = "topics"
        [source]
        path = "t.csv"
        [labels]
        0 = "no"
        1 = "yes"
    """
    ds = load_suite(suite_file(tmp_path, text)).load()
    assert ds.to_list() == [
        {"id": "10", "text": "A text.", "label": "1"},
        {"id": "9", "text": "B text.", "label": "0"},
    ]


def test_topic_labels_outside_the_label_set_are_an_error(tmp_path):
    (tmp_path / "t.jsonl").write_text(
        '{"id": "1", "text": "x", "label": "sport"}\n{"id": "2", "text": "y", "label": "art"}\n'
    )
    text = 'task = "topics"\n[source]\npath = "t.jsonl"\n[labels]\nsport = "Games."\n'
    with pytest.raises(SuiteError, match=r"t\.toml: labels: .*not in the label set: 'art'"):
        load_suite(suite_file(tmp_path, text, "t.toml")).load()
    # without [labels] the labels are those of the data
    no_labels = 'task = "topics"\n[source]\npath = "t.jsonl"\n'
    suite = load_suite(suite_file(tmp_path, no_labels, "u.toml"))
    assert suite.labels is None and suite.load()["label"] == ["sport", "art"]


@pytest.mark.parametrize(
    ("columns", "key", "message"),
    [
        ('text = "nope"', "columns.text", "column 'nope' is not in the data"),
        ('reference = "summary"', "columns.reference", "column 'summary' is not in the data"),
        ('id = "idx"', "columns.id", "column 'idx' is not in the data"),
        ("", "columns.reference", "the data has no 'reference' column"),
    ],
)
def test_missing_columns_name_file_and_key(tmp_path, columns, key, message):
    (tmp_path / "d.jsonl").write_text('{"id": "1", "text": "x", "gist": "y"}\n')
    text = f'task = "summary"\n[source]\npath = "d.jsonl"\n[columns]\n{columns}\n'
    suite = load_suite(suite_file(tmp_path, text, "s.toml"))
    with pytest.raises(SuiteError) as err:
        suite.load()
    assert str(err.value).startswith(f"{tmp_path / 's.toml'}: {key}: {message}")
    assert "columns there: gist, id, text" in str(err.value)


def test_duplicate_ids_are_an_error(tmp_path):
    (tmp_path / "d.jsonl").write_text(
        '{"id": "1", "text": "x", "reference": "y"}\n{"id": "1", "text": "z", "reference": "w"}\n'
    )
    suite = load_suite(suite_file(tmp_path, 'task = "summary"\n[source]\npath = "d.jsonl"\n'))
    with pytest.raises(SuiteError, match=r"columns\.id: id '1' occurs more than once"):
        suite.load()


# -- strict validation -------------------------------------------------------------------------
BASE = 'task = "summary"\n[source]\nbuiltin = "aclsum"\n'


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("colour = 1\n" + BASE, "colour", "unknown key (allowed: name, task"),
        (BASE + "[columns]\ntxt = 'text'\n", "columns.txt", "unknown key (allowed: id, text,"),
        (BASE + "[columns]\nlabel = 'x'\n", "columns.label", "unknown key"),
        (BASE + "[columns]\ntext = 3\n", "columns.text", "must be a string, not an integer"),
        (BASE + "[split]\nsize = 3\n", "split.size", "unknown key"),
        (BASE + "[split]\nname = 'validation'\n", "split.name", "unknown split 'validation'"),
        (BASE + "[split]\ngate_limit = 0\n", "split.gate_limit", "a whole number >= 1"),
        (BASE + "[split]\ngate_limit = true\n", "split.gate_limit", "a whole number >= 1"),
        (BASE + "[split]\norder = 'random'\n", "split.order", "unknown order 'random'"),
        (
            BASE + "[generation]\nbeams = 2\n",
            "generation.beams",
            "unknown key (allowed: style, template",
        ),
        (
            BASE + "[generation]\nwords = '30'\n",
            "generation.words",
            "must be an integer, not a string",
        ),
        (BASE + "[generation]\nwords = 0\n", "generation.words", "must be >= 1"),
        (BASE + "[generation]\ntemplate = 1\n", "generation.template", "must be a string, not"),
        (BASE + "[generation]\nmax_input_tokens = -1\n", "generation.max_input_tokens", ">= 0"),
        (
            BASE + "[generation]\nwords = 2.5\n",
            "generation.words",
            "must be an integer, not a number",
        ),
        (BASE + "[metrics]\nnames = ['bleu']\n", "metrics.names", "unknown name 'bleu'"),
        (BASE + "[metrics]\nnames = []\n", "metrics.names", "name at least one metric"),
        (BASE + "[metrics]\nname = ['rouge']\n", "metrics.name", "unknown key (allowed: names)"),
        (BASE + "[baselines]\nnames = ['majority']\n", "baselines.names", "unknown name"),
        (BASE + "[baselines]\nnames = 'lead-1'\n", "baselines.names", "must be a list"),
        (BASE + "[labels]\na = 'b'\n", "labels", "only for topics suites"),
        ("metrics = ['rouge']\n" + BASE, "metrics", "must be a table ([metrics]), not a list"),
        ("name = 'a b'\n" + BASE, "name", "use letters, digits"),
        ("[source]\nbuiltin = 'aclsum'\n", "task", "missing (one of: summary, topics)"),
        ('task = "summarise"\n' + BASE[17:], "task", "unknown task 'summarise'"),
        ('task = "summary"\n', "source", "missing"),
        ('task = "summary"\n[source]\n', "source", "give exactly one of builtin"),
        (BASE + "path = 'x.jsonl'\n", "source", "give exactly one of builtin"),
        (BASE + "format = 'csv'\n", "source.format", "only goes with source.path"),
        (BASE.replace("aclsum", "xsum"), "source.builtin", "unknown dataset 'xsum'"),
        (BASE.replace("aclsum", "bbc-topics"), "source.builtin", "for the 'topics' task"),
        ('task = "summary"\n[source]\npath = "no.jsonl"\n', "source.path", "no such file"),
        (
            'task = "topics"\n[source]\nbuiltin = "bbc-topics"\n[generation]\nwords = 3\n',
            "generation",
            "only for summary suites",
        ),
        ('task = "topics"\n[source]\nbuiltin = "bbc-topics"\n[labels]\n', "labels", "empty"),
        (
            'task = "topics"\n[source]\nbuiltin = "bbc-topics"\n[labels]\nx = 1\n',
            "labels.x",
            "must be a string",
        ),
    ],
)
def test_validation_errors_name_the_file_and_the_key(tmp_path, text, key, message):
    path = suite_file(tmp_path, text, "bad.toml")
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    got = str(err.value)
    assert got.startswith(f"{path}: {key}: "), got
    assert message in got, got
    assert "\n" not in got


def test_file_format_errors(tmp_path):
    (tmp_path / "d.txt").write_text("id,text,reference\n1,x,y\n")
    text = 'task = "summary"\n[source]\npath = "d.txt"\n'
    with pytest.raises(SuiteError, match=r"bad\.toml: source\.format: cannot tell the format"):
        load_suite(suite_file(tmp_path, text, "bad.toml"))
    suite = load_suite(suite_file(tmp_path, text + 'format = "csv"\n', "ok.toml"))
    assert suite.load()["reference"] == ["y"]
    bad = text + 'format = "parquet"\n'
    with pytest.raises(SuiteError, match=r"source\.format: unknown format 'parquet'"):
        load_suite(suite_file(tmp_path, bad, "bad.toml"))


def test_invalid_toml_names_the_file(tmp_path):
    path = suite_file(tmp_path, 'task = "summary\n', "broken.toml")
    with pytest.raises(SuiteError, match=r"broken\.toml: not valid TOML"):
        load_suite(path)


def test_suite_is_a_plain_dataclass():
    suite = load_suite("news-standfirst")
    assert isinstance(suite, Suite) and suite.target == "reference"
    assert load_suite("bbc-topics").target == "label"


# -- the shipped suites on their real data -----------------------------------------------------
@pytest.mark.integration
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_suite_loads_its_gate_slice(name):
    suite = load_suite(name)
    ds = suite.load(limit=suite.gate_limit)
    assert ds.num_rows == suite.gate_limit
    assert ds.column_names[:3] == ["id", "text", suite.target]
    assert D.dataset_sha256(ds) == D.dataset_sha256(suite.load(limit=suite.gate_limit))
    if name == "bbc-topics":
        assert len(set(ds["label"])) == 5  # the hashed order mixes the topics
