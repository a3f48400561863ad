"""Tests of duplicate and near-duplicate grouping (toolkit.dedupe) on invented articles."""

from __future__ import annotations

import textwrap

from toolkit.dedupe import group_duplicates, group_members, jaccard, normalised_hash, shingles

# An invented article (about 170 words) and its variants.
ARTICLE = (
    "The harbour board voted on Monday to close the old ferry terminal at the end of the "
    "summer season, ending more than eighty years of crossings from the north quay. Board "
    "members said the wooden pier had become too costly to repair after two winters of "
    "storm damage, and that a new terminal on the south side of the bay would open next "
    "spring. Passenger numbers on the route have fallen by a third since the bridge opened, "
    "but islanders who rely on the early morning boat to reach the hospital said they had "
    "not been asked for their views. The board promised a shuttle bus between the two "
    "terminals during the works and said fares would stay the same for at least two years. "
    "A public meeting is planned for next month in the town hall, where engineers will "
    "present the designs for the new pier and answer questions about parking, access for "
    "wheelchairs and the timetable of the construction work on the southern shore."
)
SAME_TOPIC = (
    "Islanders packed the town hall on Thursday evening to protest against the closure of "
    "the ferry terminal on the north quay. Speakers said the harbour board had ignored "
    "patients who depend on the first boat of the day, and a petition with four thousand "
    "signatures was handed to the board's chair. The chair said the south side terminal "
    "would be quicker to reach by car and that the shuttle bus would run every twenty "
    "minutes, but admitted that the timetable for the new pier could still slip into the "
    "following summer if the steel piles arrive late from the foundry."
)


def test_exact_duplicates_share_a_group() -> None:
    groups = group_duplicates({"a": ARTICLE, "b": ARTICLE, "c": SAME_TOPIC})
    assert groups == {"a": "dup-a", "b": "dup-a", "c": None}


def test_rewrapped_and_respaced_copy_is_an_exact_duplicate() -> None:
    wrapped = textwrap.fill(ARTICLE.upper(), width=50)
    assert normalised_hash(wrapped) == normalised_hash(ARTICLE)
    groups = group_duplicates({"x": ARTICLE, "y": wrapped}, threshold=1.0)
    assert groups == {"x": "dup-x", "y": "dup-x"}


def test_same_article_with_another_footer_is_a_near_duplicate() -> None:
    a = ARTICLE + "\n\nShare this story on social media. Subscribe to our daily newsletter."
    b = ARTICLE + "\n\nCopyright the Coastal Gazette. All rights reserved. Follow us."
    assert jaccard(shingles(a), shingles(b)) >= 0.8
    assert group_duplicates({"one": a, "two": b}) == {"one": "dup-one", "two": "dup-one"}
    # only exact duplicates at threshold 1.0
    assert group_duplicates({"one": a, "two": b}, threshold=1.0) == {"one": None, "two": None}


def test_near_duplicate_with_a_changed_sentence() -> None:
    edited = ARTICLE.replace("on Monday", "on Tuesday morning")
    assert group_duplicates({"p": ARTICLE, "q": edited}) == {"p": "dup-p", "q": "dup-p"}


def test_same_topic_different_text_is_not_a_duplicate() -> None:
    assert jaccard(shingles(ARTICLE), shingles(SAME_TOPIC)) < 0.1
    assert group_duplicates({"a": ARTICLE, "b": SAME_TOPIC}) == {"a": None, "b": None}


def test_group_id_names_the_first_member_and_groups_are_transitive() -> None:
    first = ARTICLE
    second = ARTICLE + " Additional reporting by the news desk."
    third = second.replace("eighty years", "eighty-five years")
    texts = {"z": SAME_TOPIC, "m": first, "b": second, "k": third}
    groups = group_duplicates(texts)
    assert groups == {"z": None, "m": "dup-m", "b": "dup-m", "k": "dup-m"}
    assert group_members(groups) == {"dup-m": ["m", "b", "k"]}


def test_empty_and_short_texts() -> None:
    groups = group_duplicates({"e": "", "s1": "Short note.", "s2": "short NOTE", "s3": "Other"})
    assert groups == {"e": None, "s1": "dup-s1", "s2": "dup-s1", "s3": None}
    assert group_duplicates({}) == {}


def test_deterministic_for_many_texts() -> None:
    # 200 distinct invented texts (numbers spelt out differ), plus two copies
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    texts = {
        f"t{i}": " ".join(
            words[(i * 7 + j * 3) % len(words)] + str((i * j) % 97) for j in range(60)
        )
        for i in range(200)
    }
    texts["copy-1"] = texts["t5"]
    texts["copy-2"] = texts["t77"] + " and a footer"
    groups = group_duplicates(texts)
    assert groups == group_duplicates(texts)
    members = group_members(groups)
    assert members == {"dup-t5": ["t5", "copy-1"], "dup-t77": ["t77", "copy-2"]}


def test_the_streaming_index_groups_exactly_as_the_whole_folder_at_once() -> None:
    import random

    from toolkit.dedupe import DuplicateIndex

    rng = random.Random(20)
    vocab = [f"w{i}" for i in range(2000)]
    texts: dict[str, str] = {}
    for i in range(200):
        words = [rng.choice(vocab) for _ in range(150)]
        texts[f"a{i}"] = " ".join(words)
        if i % 9 == 0:  # a near-duplicate: one word changed
            words[rng.randrange(150)] = "changed"
            texts[f"a{i}-near"] = " ".join(words)
        if i % 13 == 0:  # an exact duplicate, re-cased
            texts[f"a{i}-copy"] = texts[f"a{i}"].upper()
        if i % 17 == 0:  # shares half its words with the original: not a duplicate
            texts[f"a{i}-half"] = " ".join(words[:75] + [rng.choice(vocab) for _ in range(75)])
    texts["empty"] = ""
    index = DuplicateIndex(0.8)
    for key, text in texts.items():
        index.add(key, text)
    fetched: list[str] = []

    def text_of(key: str) -> str:
        fetched.append(key)
        return texts[key]

    groups = index.groups(text_of)
    assert groups == group_duplicates(texts, 0.8)
    assert sum(g is not None for g in groups.values()) >= 2 * (200 // 9)
    # only candidates are read again, not the folder
    assert len(set(fetched)) < len(texts) // 2
    assert len(index) == len(texts)
