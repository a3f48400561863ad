"""Faithfulness: constrained decoding, the summary check, the fallback, the guard in the
summariser; tiny random models and invented texts."""

from __future__ import annotations

import pytest
import torch

from tests.tiny_models import build_causal, tiny_tokenizer
from toolkit.faithful import SourceConstraint, _pieces, check, content_support, fallback
from toolkit.summarize import Summarizer, SummaryOptions

ARTICLE = (
    "The Harwick council voted on Tuesday to close the Victoria Road library in March. "
    "Repairs to its roof would cost 2 million pounds, the council said. About 300 people "
    "signed a petition to keep it open."
)


def test_check_passes_a_summary_that_keeps_to_the_article():
    verdict = check("Harwick council will close the Victoria Road library in March.", ARTICLE)
    assert verdict.ok and verdict.reasons == [] and verdict.unsupported == []
    assert verdict.support is not None and verdict.support >= 0.8


def test_check_names_an_invented_person_and_number():
    verdict = check("Mayor John Okafor said 5,000 people signed the petition.", ARTICLE)
    assert not verdict.ok
    assert verdict.unsupported == ["Mayor John Okafor", "5,000"]
    assert verdict.reasons[0] == "not in the article: 'Mayor John Okafor', '5,000'"


def test_check_rejects_meta_talk_and_empty_output():
    meta = check("That's a great summary! Let me know if you want anything else.", ARTICLE)
    assert not meta.ok and "words come from the article" in meta.reasons[-1]
    assert not check("   ", ARTICLE).ok


def test_content_support_counts_content_words_only():
    assert content_support("the council and the library", ARTICLE) == 1.0
    assert content_support("the council bought bananas", ARTICLE) == pytest.approx(1 / 3)
    assert content_support("and the of", ARTICLE) is None


def test_fallback_is_the_first_sentence_whole():
    assert fallback(ARTICLE) == (
        "The Harwick council voted on Tuesday to close the Victoria Road library in March."
    )
    assert fallback("  ") == ""


def test_source_constraint_allows_words_with_capitals_or_digits_only_as_the_source_has_them():
    tok = tiny_tokenizer()
    c = SourceConstraint(tok, 'Angela Merkel met "Emmanuel Macron" in 2017, the (BBC) said.')
    for word in ["Merkel", "Mer", "Merkel's", "Macron,", "2017", "20", "BBC", "the", "bridge"]:
        assert c.allowed(word), word
    for word in ["Mironchik", "2013", "Merkels", "BBCs", "Kenyan-American"]:
        assert not c.allowed(word), word
    # capitalised common words are free, and so is spelling them out
    assert c.allowed("The") and c.allowed("Th") and c.allowed("Officials")


def test_source_constraint_bans_the_best_tokens_until_an_allowed_one_leads():
    tok = tiny_tokenizer()
    c = SourceConstraint(tok, "the council voted to build a new bridge.", keep=1)
    pieces = _pieces(tok)
    risky = [
        i
        for i, p in enumerate(pieces)
        if i not in tok.all_special_ids and p.strip() and not c.allowed(p.strip())
    ]
    assert len(risky) >= 5
    assert all(any(ch.isupper() or ch.isdigit() for ch in pieces[i]) for i in risky)
    plain = tok(" bridge", add_special_tokens=False)["input_ids"][0]
    scores = torch.zeros(1, len(tok))
    scores[0, risky[:5]] = torch.tensor([10.0, 9.0, 8.0, 7.0, 6.0])
    scores[0, plain] = 5.0
    out = c(torch.zeros(1, 0, dtype=torch.long), scores.clone())
    assert torch.isinf(out[0, risky[:5]]).all()  # none of them is a word of the source
    assert out[0].argmax().item() == plain


def test_constrained_generation_writes_no_name_the_source_lacks(tiny_causal):
    s = Summarizer(
        str(tiny_causal),
        options=SummaryOptions(max_new_tokens=30, no_repeat_ngram_size=0),
        device="cpu",
    )
    source = "the council voted to build a new bridge over the river."
    pieces = _pieces(s.tokenizer)
    risky = [i for i, p in enumerate(pieces) if any(ch.isupper() or ch.isdigit() for ch in p)]
    # make the random model prefer the tokens that write names and numbers
    bias = torch.zeros(len(s.tokenizer))
    bias[risky] = 30.0
    hook = s.model.get_output_embeddings().register_forward_hook(lambda m, i, out: out + bias)
    try:
        free = s._candidates(s.prompt(source), None, 1)[0]
        held = s._candidates(s.prompt(source), source, 1)[0]
    finally:
        hook.remove()
    check_words = SourceConstraint(s.tokenizer, source)
    assert not all(check_words.allowed(w) for w in free.split()), free
    assert held.strip() and all(check_words.allowed(w) for w in held.split()), held


@pytest.fixture(scope="module")
def roomy_causal(tmp_path_factory: pytest.TempPathFactory):
    """The tiny chat model with a context long enough for ARTICLE in one piece."""
    return build_causal(tmp_path_factory.mktemp("models") / "causal-2k", context=2048)


def guarded(model, monkeypatch, outputs: list[str], **options) -> Summarizer:
    s = Summarizer(str(model), options=SummaryOptions(**options), device="cpu")
    monkeypatch.setattr(s, "_candidates", lambda prompt, constraint, count: outputs[:count])
    return s


def test_guard_falls_back_to_the_first_sentence_and_says_why(roomy_causal, monkeypatch):
    s = guarded(roomy_causal, monkeypatch, ["A Kenyan-American rapper opened the library."])
    result = s.summarise(ARTICLE)
    assert result.text == fallback(ARTICLE) and result.guard == "fallback"
    assert any("'Kenyan-American'" in w and "first sentence" in w for w in result.warnings)


def test_guard_takes_the_next_beam_that_passes(roomy_causal, monkeypatch):
    beams = ["That's a great summary!", "The Victoria Road library will close in March."]
    s = guarded(roomy_causal, monkeypatch, beams, num_beams=2)
    result = s.summarise(ARTICLE)
    assert result.text == beams[1] and result.guard == "passed"


def test_guard_warn_keeps_the_summary_and_off_does_not_check(roomy_causal, monkeypatch):
    invented = ["Mayor John Okafor closed the library."]
    warned = guarded(roomy_causal, monkeypatch, invented, guard="warn").summarise(ARTICLE)
    assert warned.text == invented[0] and warned.guard == "failed"
    assert any("John Okafor" in w for w in warned.warnings)
    off = guarded(roomy_causal, monkeypatch, invented, guard="off").summarise(ARTICLE)
    assert off.text == invented[0] and off.guard is None and off.warnings == []


def test_an_unknown_guard_is_refused():
    with pytest.raises(ValueError, match="guard must be one of"):
        SummaryOptions(guard="maybe")
