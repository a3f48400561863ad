"""The digest: untrusted article text can add neither markup nor structure."""

from __future__ import annotations

import pytest

from toolkit.digest import md_code, md_text, render_digest

HEADER = {"input": "in", "generated": "now", "summarizer": "m", "tagger": "t"}


@pytest.mark.parametrize(
    "text",
    [
        '<img src=x onerror="alert(1)">',
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        "**bold** _em_ `code` ~~gone~~ | table |",
        "# heading",
        "> quote",
        "- list item",
        "1. numbered",
        "&lt;script&gt; and &#60;",
        "back\\slash",
    ],
)
def test_md_text_escapes_every_markup_character(text):
    escaped = md_text(text)
    # every markup character is preceded by a backslash (CommonMark renders it literally)
    for i, ch in enumerate(escaped):
        if ch in "<>[]`*_|~" or (ch == "&" and escaped[i + 1 : i + 2] in ("l", "#")):
            assert escaped[i - 1] == "\\", (escaped, i)
    assert not escaped.startswith(("#", ">", "- ", "1."))
    unescaped = escaped.replace("\\", "")
    assert unescaped.replace(" ", "") == text.replace("\\", "").replace(" ", "")


def test_md_text_puts_everything_on_one_line():
    assert md_text("a\nb\r\n\n## c") == "a b ## c"  # a "#" inside a line makes nothing
    assert md_text("## c") == "\\## c"  # no longer a heading


def test_md_code_cannot_be_closed_from_inside():
    code = md_code("a`b``c")
    assert code.startswith("```") and code.endswith("```") and "\n" not in code
    assert md_code("name\nwith newline") == "`name with newline`"


def test_a_hostile_record_adds_no_markup_or_structure_to_the_digest():
    rec = {
        "id": "x",
        "source": "evil\n# Injected heading.txt",
        "title": '<img src=x onerror="alert(1)">',
        "byline": "[me](javascript:alert(1))",
        "summary": "<script>alert(1)</script>\n\n## Fake section\n- fake item",
        "topics": [{"label": "<b>politics</b>", "score": 0.9}],
        "warnings": ["<iframe src=x>"],
    }
    digest = render_digest([rec], [{"source": "bad`\nname", "reason": "<b>no</b>"}], HEADER)
    lines = digest.splitlines()
    headings = [ln for ln in lines if ln.startswith("#")]
    assert headings == [
        "# News digest",
        "## \\<b\\>politics\\</b\\> (1)",
        '### \\<img src=x onerror="alert(1)"\\>',
        "## Could not be processed",
    ]
    import re

    spans = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
    outside_code = spans.sub("", digest).replace("*(no summary)*", "")
    assert not re.search(r"(?<!\\)[<>\[\]`*_]", outside_code.replace("\n> note:", ""))
    assert "``bad` name``" in digest  # a code span the backtick in the name cannot close
