"""The pipeline's stages: cleaning ahead of the model, in this process or in workers."""

from __future__ import annotations

from toolkit.limits import ArticleTimeout
from toolkit.pipeline import Cleaned, clean_stage, clean_stream
from toolkit.read import Document, ReadFailure

ARTICLE = (
    "The new harbour bridge opened on Monday after four years of work. The mayor said "
    "traffic in the old town would fall by a third.\n\nEngineers tested the deck with forty "
    "loaded lorries before the opening."
)


LATER = (
    "The city council will decide next spring whether a second bridge should be built "
    "further up the river, where the ferry still carries two thousand people a day."
)
LIMIT = len(ARTICLE) + 20  # the article fits, the article with LATER does not


def doc(name: str, text: str) -> Document:
    return Document(id=name, source=name, content=text, fmt="text")


def items() -> list[Document | ReadFailure]:
    return [
        doc("a.txt", ARTICLE),
        ReadFailure("bad.bin", "binary file"),
        doc("empty.txt", "   \n\n "),
        doc("long.txt", ARTICLE + "\n\n" + LATER),
        doc("b.txt", ARTICLE.replace("forty", "fifty")),
    ]


def summary(stream) -> list[tuple[str, str]]:
    out = []
    for item, result in stream:
        if isinstance(result, Cleaned):
            out.append((item.source, result.article.text))
        else:
            out.append((item.source, type(result).__name__ + ": " + str(result)))
    return out


def test_cleaning_in_workers_gives_what_cleaning_here_gives_in_order():
    here = summary(clean_stream(items(), None, LIMIT))
    there = summary(clean_stream(items(), None, LIMIT, workers=1, ahead=2))
    assert here == there
    assert [s for s, _ in here] == ["a.txt", "bad.bin", "empty.txt", "long.txt", "b.txt"]
    reasons = dict(here)
    assert reasons["bad.bin"] == "NoneType: None"  # read failures pass through
    assert "no article text left" in reasons["empty.txt"]
    assert "too long" in reasons["long.txt"] and "--max-chars" in reasons["long.txt"]
    assert reasons["b.txt"].startswith("The new harbour bridge")


def test_a_worker_past_its_deadline_is_replaced_and_the_rest_go_on():
    # a budget no cleaning can meet: every article times out, the stream still ends, in order
    stream = list(clean_stream(items()[:1] * 2, None, LIMIT, timeout=1e-4, workers=1))
    assert [type(r) for _, r in stream] == [ArticleTimeout, ArticleTimeout]
    assert "--article-timeout" in str(stream[0][1])


def test_clean_stage_is_the_one_cleaning_rule():
    cleaned = clean_stage(doc("a.txt", ARTICLE), None, LIMIT)
    assert cleaned.article.text.startswith("The new harbour") and cleaned.seconds >= 0
