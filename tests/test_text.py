"""Sentence splitting shared by the summariser, the baselines and the metrics."""

from __future__ import annotations

from toolkit.text import split_sentences


def test_split_sentences() -> None:
    text = (
        "Dr. Amara Osei led the study. It was done in the U.S. The results came in May. "
        'J. K. Rowling said "yes." Was it? Yes! The U.S. economy grew 2.5% in Jan. and Feb.\n'
        "A new line"
    )
    assert split_sentences(text) == [
        "Dr. Amara Osei led the study.",
        "It was done in the U.S.",
        "The results came in May.",
        'J. K. Rowling said "yes."',
        "Was it?",
        "Yes!",
        "The U.S. economy grew 2.5% in Jan. and Feb.",
        "A new line",
    ]
    assert split_sentences("北京下雨了。明天晴。") == ["北京下雨了。", "明天晴。"]
    assert split_sentences("  ") == []
