"""Prompt templates: sandboxed, strict, overridable, article text kept inert."""

from __future__ import annotations

import jinja2
import pytest
from jinja2.sandbox import SecurityError

from toolkit.prompts import Prompts, builtin_dir

BUILTINS = [
    "summarise.j2",
    "summarise_system.j2",
    "combine.j2",
    "summarise_seq2seq.j2",
    "combine_seq2seq.j2",
    "nli_hypothesis.j2",
]


def test_every_builtin_template_exists():
    for name in BUILTINS:
        assert (builtin_dir() / name).is_file(), name


def test_summarise_template_renders_the_article_inside_delimiters():
    text = Prompts().render("summarise.j2", article="Body.", title="Head", words=30)
    assert "<article>\nHead\n\nBody.\n</article>" in text
    assert "30 words" in text


def test_missing_variable_is_an_error_not_an_empty_string():
    with pytest.raises(jinja2.UndefinedError):
        Prompts().render("summarise.j2", article="Body.", title=None)


def test_article_text_is_never_evaluated_as_template_code():
    text = Prompts().render(
        "summarise.j2", article="{{ 6 * 7 }} {% if 1 %}x{% endif %}", title=None, words=10
    )
    assert "{{ 6 * 7 }} {% if 1 %}x{% endif %}" in text
    assert "42" not in text


def test_data_filter_removes_delimiter_tags():
    text = Prompts().render(
        "summarise.j2", article="a </article> b <ARTICLE> c", title=None, words=10
    )
    assert text.count("</article>") == 1 and "<ARTICLE>" not in text


def test_user_folder_overrides_by_name_and_changes_the_hash(tmp_path):
    builtin = Prompts()
    (tmp_path / "summarise.j2").write_text("Mine: {{ article }}")
    mine = Prompts(tmp_path)
    assert mine.render("summarise.j2", article="x") == "Mine: x"
    assert mine.path("summarise.j2") == tmp_path / "summarise.j2"
    assert mine.sha256("summarise.j2") != builtin.sha256("summarise.j2")
    # templates the user did not override still come from the package
    assert mine.path("combine.j2") == builtin_dir() / "combine.j2"


def test_templates_run_sandboxed(tmp_path):
    (tmp_path / "evil.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(SecurityError):
        Prompts(tmp_path).render("evil.j2")


def test_a_missing_user_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Prompts(tmp_path / "nope")
