"""Tests of the cleaning benchmark (toolkit.cleanbench): parser, scoring and dump on invented
data; one integration test runs the real benchmark (fetches trafilatura 1.1.0's sdist)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from toolkit.cleanbench import (
    PageExpectations,
    _extract_members,
    format_table,
    naive_dump,
    oracle_span,
    parse_expectations,
    run_benchmark,
    score_outputs,
)
from toolkit.registry import RegistryError

# Invented source shaped like trafilatura's tests/realworld_tests.py (no text of it).
SOURCE = '''
import os

MOCK_PAGES = {
'https://example.org/a': 'example.org.a.html',
'https://example.org/b': 'example.org.b.html',
'https://example.org/c': 'example.org.c.html',
}


def load_mock_page(url, xml_flag=False, langcheck=None, tei_output=False):
    return open(MOCK_PAGES[url]).read()


@pytest.mark.parametrize("xmloutput", [False, True])
def test_extract(xmloutput):
    """test extraction from HTML"""
    result = load_mock_page('https://example.org/a', xmloutput)
    assert 'Menu' not in result and 'The river rose' in result

    result = load_mock_page('https://example.org/b', xmloutput)
    assert 'Bridge closed' in result
    assert 'Share this' not in result and 'Login' not in result and 'Lanes reopen' in result
    if xmloutput is False:
        assert 'Text only' in result and 'Footer' not in result
    else:
        assert 'XML only' in result
    #print(result)

    result = load_mock_page('https://example.org/unknown', xmloutput)
    assert 'Never counted' in result

    result = load_mock_page('https://example.org/c', xmloutput)
    assert result is not None


def test_other():
    result = load_mock_page('https://example.org/c')
    assert 'Other test' in result
'''


def test_parser_maps_asserts_to_pages() -> None:
    pages = parse_expectations(SOURCE)
    assert [(p.url, p.file) for p in pages] == [
        ("https://example.org/a", "example.org.a.html"),
        ("https://example.org/b", "example.org.b.html"),
    ]
    a, b = pages
    assert a.include == ["The river rose"] and a.exclude == ["Menu"]
    assert b.include == ["Bridge closed", "Lanes reopen", "Text only"]
    assert b.exclude == ["Share this", "Login", "Footer"]


def test_parser_top_level_only() -> None:
    pages = parse_expectations(SOURCE, text_branches=False)
    assert pages[1].include == ["Bridge closed", "Lanes reopen"]
    assert pages[1].exclude == ["Share this", "Login"]


def test_parser_other_test_and_errors() -> None:
    pages = parse_expectations(SOURCE, "test_other")
    assert [(p.url, p.include) for p in pages] == [("https://example.org/c", ["Other test"])]
    with pytest.raises(ValueError, match="no function"):
        parse_expectations(SOURCE, "test_missing")
    with pytest.raises(ValueError, match="MOCK_PAGES"):
        parse_expectations("def test_extract():\n    pass\n")


def test_parser_never_executes_the_source() -> None:
    evil = SOURCE.replace("import os", "raise SystemExit('executed')")
    assert len(parse_expectations(evil)) == 2


def test_scoring_arithmetic() -> None:
    pages = [
        PageExpectations("u1", "f1", include=["alpha beta", "gamma"], exclude=["menu"]),
        PageExpectations("u2", "f2", include=["delta"], exclude=["login", "share  this"]),
        PageExpectations("u3", "f3", include=["epsilon"], exclude=[]),
    ]
    outputs = {"u1": "alpha\n  beta and more", "u2": "delta; share this\tpage", "u3": None}
    score = score_outputs(pages, outputs)
    assert score["include"] == 4 and score["exclude"] == 3
    assert score["found"] == 2  # "alpha beta" across a line break, "delta"
    assert score["leaked"] == 1  # "share this" with other whitespace
    assert score["recall"] == pytest.approx(0.5)
    assert score["leakage"] == pytest.approx(1 / 3)
    assert score["missed_snippets"] == [["f1", "gamma"], ["f3", "epsilon"]]
    assert score["leaked_snippets"] == [["f2", "share  this"]]
    empty = score_outputs([], {})
    assert empty["recall"] == 0.0 and empty["leakage"] == 0.0


def test_naive_dump_keeps_visible_text_one_block_per_line() -> None:
    html = (
        "<html><head><title>Head title</title><style>p {color: red}</style></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        "<script>var x = 'hidden';</script><noscript>enable js</noscript>"
        "<!-- a comment -->"
        "<h1>The headline</h1><p>First   <b>bold</b> paragraph,<br>second line.</p>"
        "<ul><li>one</li><li>two</li></ul><table><tr><td>cell a</td><td>cell b</td></tr></table>"
        "</body></html>"
    )
    lines = naive_dump(html).split("\n")
    assert lines == [
        "Home News",
        "The headline",
        "First bold paragraph,",
        "second line.",
        "one",
        "two",
        "cell a",
        "cell b",
    ]
    assert naive_dump("") == ""


def test_naive_dump_does_not_decode_a_decoded_page_twice() -> None:
    # the page was read as text already; its <meta charset> names the original bytes'
    # encoding and must not turn "Ü" into "Ã\x9c"
    html = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=iso-8859-1">'
        "</head><body><p>Überwachung der Zellen, grüße</p></body></html>"
    )
    assert naive_dump(html) == "Überwachung der Zellen, grüße"


def _tar_with(tmp_path: Path, names: dict[str, bytes]) -> Path:
    path = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in names.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_extract_members_only_wanted_and_safe(tmp_path: Path) -> None:
    archive = _tar_with(
        tmp_path,
        {
            "pkg-1.0/tests/cache/a.html": b"<p>a</p>",
            "pkg-1.0/tests/other.py": b"x = 1",
            "pkg-1.0/tests/realworld_tests.py": b"MOCK_PAGES = {}",
        },
    )
    out = tmp_path / "out"
    n = _extract_members(archive, ("tests/realworld_tests.py", "tests/cache/"), out)
    assert n == 2
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "tests/cache/a.html",
        "tests/realworld_tests.py",
    ]
    evil = _tar_with(tmp_path, {"pkg-1.0/../../escape.txt": b"x"})
    with pytest.raises(RegistryError, match="unsafe"):
        _extract_members(evil, ("tests/",), tmp_path / "out2")


def test_oracle_span_keeps_first_to_last_answer() -> None:
    page = PageExpectations("u", "f", include=["second  line", "fourth", "not there"])
    dump = "menu\nfirst\nsecond\nline here\nthird\nfourth\nfooter"
    assert oracle_span(page, dump) == "second line here third fourth"
    assert oracle_span(PageExpectations("u", "f", include=["absent"]), dump) == ""
    assert oracle_span(PageExpectations("u", "f"), dump) == ""


@pytest.mark.integration
def test_real_benchmark() -> None:
    result = run_benchmark()
    data = result["data"]
    assert 80 <= data["pages"] <= 85
    assert 190 <= data["must_include"] <= 200
    assert 180 <= data["must_exclude"] <= 195
    assert set(result["rows"]) >= {"clean-html", "clean-text", "trafilatura", "naive-dump"}
    # the answer-reading bound finds every snippet the dump holds
    assert result["rows"]["dump-oracle-span"]["found"] == result["rows"]["naive-dump"]["found"]
    for row in result["rows"].values():
        assert 0.0 <= row["recall"] <= 1.0
        assert 0.0 <= row["leakage"] <= 1.0
        assert row["pages_per_s"] > 0
    assert "| clean-html |" in format_table(result)
