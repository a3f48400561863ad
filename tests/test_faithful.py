"""Faithfulness: constrained decoding, the summary check, the repairs, the guard in the
summariser; tiny random models and invented texts."""

from __future__ import annotations

import pytest
import torch

from tests.tiny_models import build_causal, per_prompt, tiny_tokenizer
from toolkit.faithful import (
    FAILURES,
    SourceConstraint,
    _pieces,
    check,
    content_support,
    drop_unsupported,
    language,
    meta_bad_words,
    partial_words,
    strip_meta,
)
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


INSTRUCTIONS = (
    "You are a careful news editor.\nWrite a one-sentence summary of this news article, at "
    "most 40 words. Use only facts from the article."
)

#: One crafted failing output per kind of failure.
FAILING = {
    "empty": "  ",
    "refusal": "I'm sorry, but I cannot help with that request about Harwick.",
    "meta": "This article discusses the council and the library in Harwick.",
    "echo": "Write a one-sentence summary of this news article: the council closes the library.",
    "language": "Le conseil de Harwick va fermer la bibliothèque de Victoria Road en mars.",
    "repetition": "The council voted to close the library, close the library, close the library.",
    "truncated": "The Harwick council voted on Tuesday to close the Victoria Road library in",
    "unsupported": "Mayor John Okafor said 5,000 people signed the petition.",
    "support": "Officials praised the wonderful weather and sunshine at the seaside.",
}


@pytest.mark.parametrize("kind", FAILURES)
def test_check_names_each_kind_of_failure(kind):
    verdict = check(FAILING[kind], ARTICLE, instructions=INSTRUCTIONS)
    assert not verdict.ok and kind in verdict.kinds, (kind, verdict)
    assert len(verdict.reasons) == len(verdict.kinds)


def test_check_catches_a_name_cut_off_and_a_run_of_symbols():
    cut = check("The library will close, the Harwi council said.", ARTICLE)
    assert cut.kinds == ["unsupported"] and "Harwi" in cut.unsupported
    assert partial_words("Harwick and Harwi and Vic and 300.", ARTICLE) == ["Harwi", "Vic"]
    garbage = check("The Harwick council voted to close the-[###*#**##**#", ARTICLE)
    assert "repetition" in garbage.kinds and "run of symbols" in " ".join(garbage.reasons)


def test_an_echo_does_not_count_the_articles_own_words():
    title = "Harwick council votes to close the Victoria Road library"
    source = f"{title}\n\n{ARTICLE}"
    said = f"Write a summary. {title}"  # the instructions, as rendered with the title
    copied = "Harwick council votes to close the Victoria Road library in March."
    assert check(copied, source, instructions=said).ok


def test_meta_bad_words_ban_the_noun_after_the_determiner():
    tok = tiny_tokenizer()
    banned = meta_bad_words(tok)
    the_article = tok(" the article", add_special_tokens=False)["input_ids"]
    assert the_article in banned and all(len(ids) > 1 for ids in banned)
    assert tok(" news piece", add_special_tokens=False)["input_ids"] in banned
    assert [tok("The", add_special_tokens=False)["input_ids"][0]] not in banned


def test_no_meta_passes_the_banned_phrases_to_generate(roomy_causal, monkeypatch):
    s = Summarizer(str(roomy_causal), options=SummaryOptions(max_new_tokens=4), device="cpu")
    seen: list[dict] = []
    real = s.model.generate

    def spy(**kwargs):
        seen.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(s.model, "generate", spy)
    s.generate(s.prompt(ARTICLE))
    assert seen[-1]["bad_words_ids"] == meta_bad_words(s.tokenizer)
    s.options.no_meta = False
    s.generate(s.prompt(ARTICLE))
    assert "bad_words_ids" not in seen[-1]


def test_check_names_other_meta_openings():
    for meta in [
        "This news story says the Harwick council voted to close the library in March.",
        "A recent article in the Harwick press says the council voted to close the library.",
        "The news report describes how the Harwick council voted to close the library.",
        "This report says the Harwick council voted to close the library in March.",
        # the genre as the subject, as SmolLM2 wrote it on news-standfirst once "the news
        # report" was banned
        "This news piece discusses the Harwick council's vote to close the library.",
        "The news piece: Harwick council votes to close the Victoria Road library.",
        "The story: the Harwick council voted to close the library in March.",
        "A story about the Harwick council and its library has been revealed.",
        "The story is about the Harwick council's vote to close the library in March.",
        "A heartwarming story about the Harwick library and the council's vote to close it.",
        "The report is about the Harwick council's vote to close the library in March.",
        "A news article about the Harwick library details the council's vote.",
        "The Harwick council's vote to close the library is a significant news story.",
        "Great job! The Harwick council voted to close the library in March.",
        # ... and once "news piece" was banned too
        "This news highlights the Harwick council's vote to close the library.",
        "The news is about the Harwick council's vote to close the library in March.",
        "This news release provides details of the Harwick council's vote on the library.",
        # ... and at c24cd0c: the title echoed, then a label
        "Harwick to close its library The story: the council voted to close it in March.",
        "This one-sentence summary covers the Harwick council's vote to close the library.",
    ]:
        assert "meta" in check(meta, ARTICLE).kinds, meta


def test_check_passes_plain_news_sentences_that_look_like_failures():
    fine = [
        "Harwick council will close the library; the text of its decision is public.",
        "About 300 people signed a petition to keep the library open.",
        "The council said repairs would cost 2 million pounds.",
        "The report said repairs to the library would cost 2 million pounds.",
        "The story of the library began when the Harwick council voted to close it.",
        "A fake news story said the Harwick council would close the library.",
        "This piece of the library's roof would cost 2 million pounds to repair.",
        "The council said its staff had done a good job keeping the library open.",
        "This year the Harwick council voted to close the library in March.",
        "The news agency said the Harwick council voted to close the library.",
        "This vote describes how the Harwick council will close the library in March.",
        "A report on the library's roof found repairs would cost 2 million pounds.",
        "A new report on the library's roof found repairs would cost 2 million pounds.",
        "Residents told the story: the council voted to close the library in March.",
    ]
    for summary in fine:
        verdict = check(summary, ARTICLE, instructions=INSTRUCTIONS)
        assert verdict.ok, (summary, verdict.reasons)
    # a headline need not end a sentence
    assert check("Harwick to close Victoria Road library", ARTICLE, complete=False).ok


def test_language_by_function_words_or_script():
    assert language(ARTICLE) == "en"
    assert language("Der Rat hat die Schließung der Bibliothek beschlossen, nicht mit uns.") == "de"
    assert language("Совет решил закрыть библиотеку") == "cyrillic"
    assert language("Harwick Victoria Road") is None  # no evidence either way


def test_strip_meta_cuts_an_opening_with_the_news_after_it():
    assert strip_meta("The article says that the council will close the library.") == (
        "The council will close the library."
    )
    assert strip_meta("The news is that the council will close the library.") == (
        "The council will close the library."
    )
    assert strip_meta("This article discusses libraries.") == "This article discusses libraries."


def test_drop_unsupported_keeps_the_supported_sentences():
    two = "Harwick council will close the library. Mayor John Okafor praised the decision."
    assert drop_unsupported(two, ARTICLE) == "Harwick council will close the library."
    bullets = "- The library will close in March.\n- Mayor John Okafor objected."
    assert drop_unsupported(bullets, ARTICLE) == "- The library will close in March."
    assert drop_unsupported("Mayor John Okafor objected.", ARTICLE) is None  # nothing left
    assert drop_unsupported("The library will close.", ARTICLE) is None  # nothing to drop


def test_content_support_counts_content_words_only():
    assert content_support("the council and the library", ARTICLE) == 1.0
    assert content_support("the council bought bananas", ARTICLE) == pytest.approx(1 / 3)
    assert content_support("and the of", ARTICLE) is None


def test_source_constraint_allows_words_with_capitals_or_digits_only_as_the_source_has_them():
    tok = tiny_tokenizer()
    c = SourceConstraint(tok, 'Angela Merkel met "Emmanuel Macron" in 2017, the (BBC) said.')
    for word in ["Merkel", "Mer", "Merkel's", "Macron,", "2017", "20", "BBC", "the", "bridge"]:
        assert c.allowed(word), word
    for word in ["Mironchik", "2013", "Merkels", "BBCs", "Kenyan-American"]:
        assert not c.allowed(word), word
    # capitalised common words are free, and so is spelling them out
    assert c.allowed("The") and c.allowed("Th") and c.allowed("Officials")


def test_source_constraint_lets_a_name_begin_but_not_end_part_way():
    tok = tiny_tokenizer()
    c = SourceConstraint(tok, "Port Aldwick raised the US-led toll to 1,200 pounds.")
    assert c.allowed("Aldwi") and not c.allowed("Aldwi", finished=True)
    assert c.allowed("Aldwick", finished=True) and c.allowed("US-led", finished=True)
    # a space after an unfinished name is banned: the model must finish it or not start it
    current = tok(" Port Aldwi", add_special_tokens=False)["input_ids"]
    space = tok(" raised", add_special_tokens=False)["input_ids"][0]
    scores = torch.zeros(1, len(tok))
    scores[0, space] = 10.0
    out = c(torch.tensor([current]), scores.clone())
    assert c._current_word(current) == "Aldwi"
    assert torch.isinf(out[0, space])


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
    """A summariser whose model says ``outputs`` (its beams); the extractive stage takes the
    lead sentences (no embedding model) unless told otherwise."""
    options = {"extractor": "lead", **options}
    s = Summarizer(str(model), options=SummaryOptions(**options), device="cpu")
    monkeypatch.setattr(s, "generate_many", per_prompt(lambda p, c, count: outputs[:count]))
    return s


def test_guard_falls_back_to_the_extractive_summary_and_says_why(roomy_causal, monkeypatch):
    s = guarded(roomy_causal, monkeypatch, ["A Kenyan-American rapper opened the library."])
    result = s.summarise(ARTICLE)
    lead = "The Harwick council voted on Tuesday to close the Victoria Road library in March."
    assert result.text == lead and result.guard == "fallback"
    assert any("'Kenyan-American'" in w and "extractive summary" in w for w in result.warnings)


def test_guard_cuts_a_meta_opening(roomy_causal, monkeypatch):
    said = ["The article says that the Victoria Road library will close in March."]
    result = guarded(roomy_causal, monkeypatch, said, retry=False).summarise(ARTICLE)
    assert result.text == "The Victoria Road library will close in March."
    assert result.guard == "repaired" and "meta opening was cut" in result.warnings[-1]


def test_guard_drops_the_unsupported_sentence(roomy_causal, monkeypatch):
    said = ["The Victoria Road library will close in March. Mayor John Okafor objected."]
    result = guarded(roomy_causal, monkeypatch, said, retry=False).summarise(ARTICLE)
    assert result.text == "The Victoria Road library will close in March."
    assert result.guard == "repaired" and "'Mayor John Okafor'" in result.warnings[-1]


def test_guard_regenerates_once_from_the_salient_sentences(roomy_causal, monkeypatch):
    s = Summarizer(str(roomy_causal), options=SummaryOptions(extractor="lead"), device="cpu")
    prompts: list[str] = []
    replies = iter(["I'm sorry, I cannot summarise this.", "Harwick will close its library."])

    def model(prompt, constraint, count):
        prompts.append(prompt)
        return [next(replies)]

    monkeypatch.setattr(s, "generate_many", per_prompt(model))
    longer = (
        ARTICLE
        + " "
        + " ".join(f"Speaker {i} praised the library at the meeting." for i in range(4))
    )
    result = s.summarise(longer)
    assert result.text == "Harwick will close its library." and result.guard == "regenerated"
    assert "a refusal" in result.warnings[0]
    # the second try saw the lead sentences only, not the whole article
    assert len(prompts) == 2 and "Victoria Road" in prompts[1] and "Speaker 3" not in prompts[1]
    assert "Speaker 3" in prompts[0]
    # an article of no more than those sentences is not tried again: same input, same output
    replies = iter(["I'm sorry, I cannot summarise this."])
    prompts.clear()
    assert s.summarise(ARTICLE).guard == "fallback" and len(prompts) == 1


def test_guard_takes_the_next_beam_that_passes(roomy_causal, monkeypatch):
    beams = ["That's a great summary!", "The Victoria Road library will close in March."]
    s = guarded(roomy_causal, monkeypatch, beams, num_beams=2)
    result = s.summarise(ARTICLE)
    assert result.text == beams[1] and result.guard == "repaired"
    assert "beam 2" in result.warnings[-1]


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
