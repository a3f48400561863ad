"""Tests of the cleaning stage (toolkit.clean): seeds, crafted boilerplate, metadata, HTML."""

from __future__ import annotations

import dataclasses
import json
import textwrap
import time
from pathlib import Path

import pytest

from toolkit import clean as clean_module
from toolkit.clean import CleanedArticle, CleanOptions, Segment, clean, detect_language, find_date

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "articles"

# An invented English article body used by many tests.
BODY = [
    "The regional water authority approved a plan on Tuesday to replace more than 40 "
    "kilometres of ageing pipes in the old town, a project expected to take four years.",
    "Engineers say about a fifth of the treated water is lost through leaks before it reaches "
    "homes, and that the oldest cast-iron mains date from the early years of the last century.",
    "Residents will see road works on several streets from the autumn. The authority said it "
    "would publish a timetable for each district and keep at least one lane open wherever "
    "possible.",
    "The work will be paid for by a low-interest loan from the national infrastructure bank "
    "and a small rise in water charges, which the board approved by seven votes to two.",
]
BODY_WITH_HEADING = [*BODY[:2], "Disruption for drivers", *BODY[2:]]


def _text(*blocks: str) -> str:
    return "\n\n".join(blocks)


def _reasons(result: CleanedArticle) -> list[str]:
    return [s.reason for s in result.removed]


def _removed_with(result: CleanedArticle, reason: str) -> list[str]:
    return [s.text for s in result.removed if s.reason == reason]


# --------------------------------------------------------------------------------------
# The two real seeds (read from ../shared/seeds; their text is never copied here)
# --------------------------------------------------------------------------------------


def _seed_lines(prefix: str) -> list[str]:
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is absent")
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not matches:
        pytest.skip(f"no seed {prefix}_*.txt in {SEEDS}")
    text = matches[0].read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_seed_banner_title_byline_and_trailer_removed_body_intact() -> None:
    lines = _seed_lines("000")
    # Shape: banner, title, body paragraphs (one heading among them), byline, list header.
    result = clean("\n\n".join(lines), "text")
    assert result.paragraphs == lines[2:-2]
    assert result.title == lines[1]
    assert result.byline == lines[-2].split(" ", 1)[1]
    assert [(s.text, s.reason) for s in result.removed] == [
        (lines[0], "consent-banner"),
        (lines[1], "title"),
        (lines[-2], "byline"),
        (lines[-1], "related-list"),
    ]
    assert result.language == "en"
    assert result.truncated is False
    # the mid-article heading is kept as a paragraph of its own
    assert len(result.headings) == 1 and result.headings[0] in lines[2:-2]


def test_seed_raw_file_same_as_normalised() -> None:
    lines = _seed_lines("000")
    raw = sorted(SEEDS.glob("000_*.txt"))[0].read_text(encoding="utf-8")
    assert clean(raw).paragraphs == lines[2:-2]


def test_seed_truncated_body_and_related_list_removed() -> None:
    lines = _seed_lines("001")
    raw = sorted(SEEDS.glob("001_*.txt"))[0].read_text(encoding="utf-8")
    # Shape: body lines (with headings), then a list header, lone dashes and a related list.
    end = lines.index("-") - 1
    result = clean(raw, "text")
    assert result.paragraphs == lines[:end]
    assert [s.text for s in result.removed] == lines[end:]
    assert result.truncated is True
    assert result.language == "en"
    assert result.byline is None  # names inside the related list are not the byline
    reasons = _reasons(result)
    assert set(reasons) == {"related-list", "empty-list-marker", "view-count"}
    assert all(s.reason == "view-count" for s in result.removed if "views" in s.text.lower())
    assert all(s.reason == "empty-list-marker" for s in result.removed if s.text == "-")
    assert len(result.headings) == 4


# --------------------------------------------------------------------------------------
# Consent banners
# --------------------------------------------------------------------------------------

BANNERS = {
    "es": "Utilizamos cookies propias y de terceros para mejorar su experiencia y mostrarle "
    "publicidad. Si continúa navegando, consideramos que acepta su uso. Puede cambiar la "
    "configuración u obtener más información en nuestra política de cookies.",
    "fr": "Nous utilisons des cookies pour vous offrir la meilleure expérience sur notre site. "
    "En continuant à naviguer, vous acceptez leur utilisation. Consultez notre politique de "
    "confidentialité pour en savoir plus.",
    "de": "Wir verwenden Cookies, um Ihnen das beste Nutzererlebnis zu bieten. Wenn Sie diese "
    "Website weiter nutzen, stimmen Sie der Verwendung zu. Weitere Informationen finden Sie in "
    "unserer Datenschutzerklärung.",
    "it": "Questo sito utilizza cookie tecnici e di profilazione, anche di terze parti, per "
    "migliorare la tua esperienza. Continuando la navigazione acconsenti all'uso dei cookie. "
    "Leggi l'informativa sulla privacy.",
    "pt": "Utilizamos cookies para melhorar a sua experiência no nosso site. Ao continuar a "
    "navegar, você concorda com a nossa política de privacidade.",
    "nl": "Wij gebruiken cookies om uw ervaring op onze website te verbeteren. Door verder te "
    "gaan gaat u akkoord met ons privacybeleid.",
    "pl": "Używamy plików cookies, aby zapewnić najlepszą jakość korzystania z naszej strony. "
    "Korzystając z tej strony, wyrażasz zgodę na ich użycie zgodnie z polityką prywatności.",
    "en": "We use cookies to personalise content and ads and to analyse our traffic. By "
    "continuing to use this site you consent to our use of cookies. Read our privacy policy.",
}


@pytest.mark.parametrize("lang", sorted(BANNERS))
def test_consent_banner_at_top_removed(lang: str) -> None:
    result = clean(_text(BANNERS[lang], *BODY_WITH_HEADING))
    assert result.paragraphs == BODY_WITH_HEADING
    assert _removed_with(result, "consent-banner") == [BANNERS[lang]]
    assert result.language == "en"


@pytest.mark.parametrize("lang", ["es", "de", "en"])
def test_consent_banner_at_bottom_removed(lang: str) -> None:
    result = clean(_text(*BODY, BANNERS[lang]))
    assert result.paragraphs == BODY
    assert _reasons(result) == ["consent-banner"]


def test_consent_buttons_next_to_banner_removed() -> None:
    result = clean(_text(BANNERS["es"], "Aceptar", "Rechazar", "Configurar", *BODY))
    assert result.paragraphs == BODY
    assert _reasons(result) == ["consent-banner"] * 4


def test_short_cookie_notice_line_removed() -> None:
    result = clean(_text("This site uses cookies. Accept", *BODY))
    assert result.paragraphs == BODY
    assert _reasons(result) == ["consent-banner"]


# --------------------------------------------------------------------------------------
# Related lists, read-more lines
# --------------------------------------------------------------------------------------

RELATED = {
    "en": ["You might also like", "Council Votes On New Bus Lanes", "Storm Warning For Coast"],
    "de": [
        "Das könnte Sie auch interessieren",
        "Neue Radwege Für Die Innenstadt",
        "Stadtrat Streitet Über Parkgebühren",
    ],
    "es": [
        "Noticias relacionadas",
        "El Ayuntamiento Aprueba Nuevos Carriles Bus",
        "Alerta Por Temporal En La Costa",
    ],
    "fr": ["À lire aussi", "Le Conseil Vote Les Voies De Bus", "Alerte Tempête Sur La Côte"],
    "typo": ["Lastest Stories", "Council Votes On New Bus Lanes", "Storm Warning For Coast"],
}


@pytest.mark.parametrize("lang", sorted(RELATED))
def test_related_list_at_end_removed(lang: str) -> None:
    block = RELATED[lang]
    result = clean(_text(*BODY_WITH_HEADING, *block))
    assert result.paragraphs == BODY_WITH_HEADING
    assert _removed_with(result, "related-list") == block


def test_related_list_single_newlines_with_markers_and_counts() -> None:
    lines = [
        *BODY,
        "Latest News",
        "-",
        "Related News",
        "Council Votes On New Bus Lanes",
        "Maria Stone - Mar 2, 2025 1,204 Views -",
        "Related News",
        "Storm Warning For Coast",
        "Maria Stone - Feb 27, 2025 87 Views",
    ]
    result = clean("\n".join(lines))
    assert result.paragraphs == BODY
    assert _removed_with(result, "view-count") == [lines[8], lines[11]]
    assert _removed_with(result, "empty-list-marker") == ["-"]
    assert result.byline is None


def test_inline_read_more_line_removed_mid_article() -> None:
    for line in (
        "Read also: Why the city's pipes keep bursting",
        "Lesen Sie auch: Wasser wird teurer",
    ):
        result = clean(_text(*BODY[:2], line, *BODY[2:]))
        assert result.paragraphs == BODY
        assert _reasons(result) == ["read-more"]


def test_mid_article_related_header_takes_only_its_list() -> None:
    block = ["Related stories", "Council Votes On New Bus Lanes", "Storm Warning For Coast"]
    result = clean(_text(*BODY[:2], *block, *BODY[2:]))
    assert result.paragraphs == BODY
    assert _removed_with(result, "related-list") == block


def test_lone_related_header_mid_article_keeps_short_paragraphs_after_it() -> None:
    short = [
        "Officials said the first streets would be dug up in September, starting near the port.",
        "Shops on the affected streets will get help with their business rates for a year.",
        "The authority will hold a public meeting about the plan in the town hall next month.",
    ]
    result = clean(_text(BODY[0], BODY[1], "Related", *short))
    assert result.paragraphs == [BODY[0], BODY[1], *short]
    assert _reasons(result) == ["related-list"]


def test_related_teasers_with_summaries_at_end_removed() -> None:
    teasers = [
        "More from the region",
        "Bridge Tolls To Rise",
        "Drivers will pay more to cross from April.",
        "Ferry Timetable Changes",
        "Two evening sailings are being cut.",
    ]
    result = clean(_text(*BODY_WITH_HEADING, *teasers))
    assert result.paragraphs == BODY_WITH_HEADING
    assert _removed_with(result, "related-list") == teasers


# --------------------------------------------------------------------------------------
# Counters, share / subscribe prompts, navigation, ads
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1.2K views", "view-count"),
        ("345 Aufrufe", "view-count"),
        ("12 comentarios", "view-count"),
        ("Maria Stone · Jan 5, 2025 · 1,024 views", "view-count"),
        ("5 min read", "read-time"),
        ("Lesezeit: 4 Minuten", "read-time"),
        ("Share this story", "share-prompt"),
        ("Compartir en Facebook", "share-prompt"),
        ("Partager sur Twitter", "share-prompt"),
        ("Artikel teilen", "share-prompt"),
        ("Facebook Twitter WhatsApp Email", "share-prompt"),
        ("Follow us on Instagram", "share-prompt"),
        ("Síguenos en Twitter", "share-prompt"),
        ("Sign up for our newsletter", "subscribe-prompt"),
        ("Suscríbete a nuestro boletín", "subscribe-prompt"),
        ("Home | World | Business | Sport | Culture", "navigation"),
        ("Home > News > Europe", "navigation"),
        ("Skip to content", "navigation"),
        ("•", "empty-list-marker"),
        ("Advertisement", "advertisement"),
        ("Anzeige", "advertisement"),
        ("© 2025 Example Media Group. All rights reserved.", "copyright"),
        ("Tags: water, infrastructure, city council", "tags"),
    ],
)
def test_boilerplate_line_at_edges_removed(line: str, reason: str) -> None:
    for blocks in ((line, *BODY), (*BODY, line)):
        result = clean(_text(*blocks))
        assert result.paragraphs == BODY, (line, result.removed)
        assert _reasons(result) == [reason]


def test_advertisement_slot_mid_article_removed() -> None:
    result = clean(_text(*BODY[:2], "ADVERTISEMENT", *BODY[2:]))
    assert result.paragraphs == BODY
    assert _reasons(result) == ["advertisement"]


def test_headings_that_look_like_prompts_are_kept() -> None:
    body = [BODY[0], "Share prices fall", BODY[1], "Follow the money", BODY[2], BODY[3]]
    result = clean(_text(*body))
    assert result.paragraphs == body
    assert result.removed == []
    assert result.headings == ["Share prices fall", "Follow the money"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Don't miss the final on Saturday, the coach told reporters after training.",
        "The clip had 300 views.",
        "Join the queue early, officials advised.",
        "Share prices in the water company rose 3 per cent on the news.",
    ],
)
def test_short_sentences_resembling_prompts_kept(sentence: str) -> None:
    article = [*BODY[:2], sentence, *BODY[2:]]
    assert clean(_text(*article)).paragraphs == article


def test_list_items_keep_their_markers() -> None:
    items = ["1. Northern district: from September", "2. Harbour district: from January"]
    bullets = ["• Cast-iron mains", "• Lead service pipes"]
    article = [*BODY[:2], *items, *bullets, *BODY[2:]]
    result = clean("\n".join(article))
    assert result.paragraphs == [
        *BODY[:2],
        *items,
        "- Cast-iron mains",
        "- Lead service pipes",
        *BODY[2:],
    ]


def test_sentence_with_view_count_kept() -> None:
    sentence = (
        "The council's video explaining the works has been watched 120,000 times, and it "
        "has 3,000 comments from residents."
    )
    result = clean(_text(*BODY[:2], sentence, *BODY[2:]))
    assert sentence in result.paragraphs
    assert result.removed == []


# --------------------------------------------------------------------------------------
# No false positives
# --------------------------------------------------------------------------------------

COOKIE_LAW_ARTICLE = [
    "Spain's data protection agency fined three news websites on Tuesday for placing "
    "advertising cookies on readers' browsers before they had clicked to accept them, the "
    "first penalties under its revised consent guidance.",
    "The agency said the sites showed a cookie banner but loaded tracking cookies from "
    "third-party advertisers as soon as the page opened, which breaks the rule that consent "
    "must come first.",
    "Publishers argued that the privacy policy on each site explained the practice. The "
    "regulator replied that a privacy policy cannot replace a clear choice, and that "
    "rejecting cookies must be as easy as accepting them.",
    'Consumer groups welcomed the fines. "For years readers have been nudged into clicking '
    'accept," one campaigner said. The publishers have a month to appeal.',
]

PRIVACY_LAW_ARTICLE = [
    "Parliament passed a new data privacy law on Thursday that gives people the right to see "
    "and delete the personal information that companies hold about them.",
    "Firms that collect data will have to explain in plain language how they use it, obtain "
    "consent before sharing it with third parties and report serious breaches within three "
    "days.",
    "Fines for breaking the rules can reach four per cent of a company's annual turnover.",
    "Privacy campaigners said the law was a step forward but criticised exemptions for "
    "security services.",
]


@pytest.mark.parametrize(
    "article", [BODY, BODY_WITH_HEADING, COOKIE_LAW_ARTICLE, PRIVACY_LAW_ARTICLE]
)
def test_clean_article_left_untouched(article: list[str]) -> None:
    result = clean(_text(*article))
    assert result.paragraphs == article
    assert result.removed == []
    assert result.truncated is False


def test_short_lead_about_cookie_banners_is_kept() -> None:
    lead = (
        "If you have ever clicked accept all on a cookie banner, you are not alone, a survey says."
    )
    article = [lead, *COOKIE_LAW_ARTICLE[1:]]
    result = clean(_text(*article))
    assert result.paragraphs == article


def test_article_quoting_a_banner_mid_text_is_kept() -> None:
    quote = (
        'The banner on one site read: "We use cookies to improve your experience." '
        "Regulators said that wording told readers too little about advertising partners."
    )
    article = [*COOKIE_LAW_ARTICLE[:2], quote, *COOKIE_LAW_ARTICLE[2:]]
    result = clean(_text(*article))
    assert result.paragraphs == article


def test_short_paragraphs_and_quotes_survive() -> None:
    article = [BODY[0], "He declined to comment.", BODY[1], '"We are ready," she said.', BODY[2]]
    result = clean(_text(*article))
    assert result.paragraphs == article


def test_by_contrast_sentence_is_not_a_byline() -> None:
    line = "By contrast, the northern districts already replaced most of their pipes."
    result = clean(_text(*BODY, line))
    assert result.paragraphs[-1] == line
    assert result.byline is None


# --------------------------------------------------------------------------------------
# Metadata: title, byline, date, language
# --------------------------------------------------------------------------------------


def test_title_taken_from_first_heading_line() -> None:
    title = "Old town to get new water pipes"
    result = clean(_text(title, *BODY))
    assert result.title == title
    assert result.paragraphs == BODY
    assert _reasons(result) == ["title"]


def test_given_title_wins_and_its_copy_is_removed() -> None:
    result = clean(
        _text("Old Town To Get New Water Pipes", *BODY), title="Old town to get new water pipes"
    )
    assert result.title == "Old town to get new water pipes"
    assert result.paragraphs == BODY
    assert _reasons(result) == ["title"]


def test_given_title_keeps_a_different_first_line() -> None:
    result = clean(_text(*BODY_WITH_HEADING), title="Something else entirely")
    assert result.title == "Something else entirely"
    assert result.paragraphs == BODY_WITH_HEADING


def test_kicker_above_title_is_not_the_title() -> None:
    result = clean(_text("World News", "Old town to get new water pipes", *BODY))
    assert result.title == "Old town to get new water pipes"
    assert result.paragraphs == BODY


@pytest.mark.parametrize(
    ("line", "name", "date"),
    [
        ("By Jane Doe", "Jane Doe", None),
        ("Written by Jane Doe and John Roe", "Jane Doe and John Roe", None),
        ("Por Ana María López", "Ana María López", None),
        ("Von Klaus Meyer | 3. März 2025", "Klaus Meyer", "2025-03-03"),
        ("Par Claire Dubois, 12 janvier 2025", "Claire Dubois", "2025-01-12"),
        ("By JANE DOE, Staff Writer", "JANE DOE", None),
        ("Jane Doe - March 3, 2025", "Jane Doe", "2025-03-03"),
        ("By Jane Doe | March 3, 2025 | 5 min read", "Jane Doe", "2025-03-03"),
        ("Reporting by Jane Doe; Editing by John Roe", "Jane Doe", None),
    ],
)
def test_byline_at_top_or_bottom(line: str, name: str, date: str | None) -> None:
    title = "Old town to get new water pipes"
    for blocks in ((title, line, *BODY), (title, *BODY, line)):
        result = clean(_text(*blocks))
        assert result.byline == name
        assert result.date == date
        assert result.paragraphs == BODY
        assert _removed_with(result, "byline") == [line]


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("Published: 12 January 2025", "2025-01-12"),
        ("Updated March 3, 2025 at 10:45 am", "2025-03-03"),
        ("2025-02-28", "2025-02-28"),
        ("Actualizado el 5 de mayo de 2024", "2024-05-05"),
        ("Mardi 4 mars 2025", "2025-03-04"),
    ],
)
def test_dateline_becomes_date(line: str, iso: str) -> None:
    result = clean(_text("Old town to get new water pipes", line, *BODY))
    assert result.date == iso
    assert result.paragraphs == BODY
    assert _removed_with(result, "dateline") == [line]


def test_lead_with_standfirst_photo_credit_byline_and_dateline() -> None:
    standfirst = "Residents face four years of road works as the authority replaces leaking mains."
    text = _text(
        "Old town to get new water pipes",
        standfirst,
        "Photo: Example Agency",
        "By Jane Doe",
        "Published 4 March 2025",
        *BODY,
    )
    result = clean(text)
    assert result.paragraphs == [standfirst, *BODY]
    assert (result.title, result.byline, result.date) == (
        "Old town to get new water pipes",
        "Jane Doe",
        "2025-03-04",
    )
    assert _reasons(result) == ["title", "photo-credit", "byline", "dateline"]


SPANISH_PAGE = """Utilizamos cookies propias y de terceros para mejorar nuestros servicios. \
Si continúa navegando, consideramos que acepta su uso.

Aceptar

El Gobierno aprueba la reforma de las pensiones

Por María García | 14 de marzo de 2025

El Consejo de Ministros aprobó este martes la reforma del sistema de pensiones, que eleva de forma \
gradual las cotizaciones de los salarios más altos a partir del próximo año.

La ministra defendió que la medida garantiza la sostenibilidad del sistema sin recortar las \
prestaciones actuales, mientras que la oposición anunció que recurrirá la norma.

Los sindicatos valoraron positivamente el acuerdo, aunque pidieron más medidas para los jóvenes.

Te puede interesar

La inflación baja al 2,8% en febrero

El paro registra su mejor febrero en una década"""

GERMAN_PAGE = """Startseite > Politik > Deutschland

Bundestag beschließt neues Heizungsgesetz

Von Klaus Meyer

Der Bundestag hat am Freitag nach monatelangem Streit das neue Heizungsgesetz beschlossen. \
Die Regelung soll ab dem kommenden Jahr schrittweise gelten.

Kritiker bemängeln, dass die Förderung für Hausbesitzer mit geringem Einkommen nicht ausreiche. \
Die Regierung verweist auf zusätzliche Zuschüsse.

Anzeige

Die Opposition kündigte an, das Gesetz vor dem Verfassungsgericht prüfen zu lassen.

Artikel teilen

Mehr zum Thema

Was das Gesetz für Mieter bedeutet

Wärmepumpen: Die wichtigsten Fragen"""


def test_spanish_page_with_spanish_boilerplate() -> None:
    result = clean(SPANISH_PAGE)
    assert result.language == "es"
    assert (result.title, result.byline, result.date) == (
        "El Gobierno aprueba la reforma de las pensiones",
        "María García",
        "2025-03-14",
    )
    assert len(result.paragraphs) == 3
    assert result.paragraphs[0].startswith("El Consejo de Ministros")
    assert (
        _reasons(result)
        == ["consent-banner", "consent-banner", "title", "byline"] + ["related-list"] * 3
    )


def test_german_page_with_german_boilerplate() -> None:
    result = clean(GERMAN_PAGE)
    assert result.language == "de"
    assert (result.title, result.byline) == (
        "Bundestag beschließt neues Heizungsgesetz",
        "Klaus Meyer",
    )
    assert [p[:20] for p in result.paragraphs] == [
        "Der Bundestag hat am",
        "Kritiker bemängeln, ",
        "Die Opposition kündi",
    ]
    assert _reasons(result) == [
        "navigation",
        "title",
        "byline",
        "advertisement",
        "share-prompt",
        "related-list",
        "related-list",
        "related-list",
    ]


def test_markdown_front_matter_gives_metadata() -> None:
    text = "---\ntitle: Pipes plan approved\nauthor: Jane Doe\ndate: 2025-03-04\n---\n\n" + _text(
        *BODY
    )
    result = clean(text, "markdown")
    assert (result.title, result.byline, result.date) == (
        "Pipes plan approved",
        "Jane Doe",
        "2025-03-04",
    )
    assert result.paragraphs == BODY
    assert _reasons(result) == ["front-matter"]


def test_find_date_formats() -> None:
    assert find_date("Nov 12, 2025") == "2025-11-12"
    assert find_date("12.11.2025") == "2025-11-12"
    assert find_date("2025/11/12") == "2025-11-12"
    assert find_date("31 February 2025") is None
    assert find_date("no date here") is None


@pytest.mark.parametrize(
    ("lang", "paragraph"),
    [
        (
            "es",
            "El ayuntamiento aprobó el martes un nuevo presupuesto después de meses de debate "
            "sobre cuánto se debe gastar en carreteras y en las escuelas de la ciudad.",
        ),
        (
            "fr",
            "Le conseil municipal a approuvé mardi un nouveau budget après des mois de débat sur "
            "les sommes à consacrer aux routes et aux écoles de la ville.",
        ),
        (
            "de",
            "Der Stadtrat hat am Dienstag nach monatelanger Debatte einen neuen Haushalt "
            "beschlossen, der mehr Geld für die Straßen und die Schulen der Stadt vorsieht.",
        ),
        (
            "it",
            "Il consiglio comunale ha approvato martedì un nuovo bilancio dopo mesi di dibattito "
            "su quanto spendere per le strade e per le scuole della città.",
        ),
        (
            "nl",
            "De gemeenteraad heeft dinsdag een nieuwe begroting goedgekeurd na maanden van debat "
            "over hoeveel er aan de wegen en de scholen van de stad moet worden uitgegeven.",
        ),
        (
            "ru",
            "Городской совет во вторник утвердил новый бюджет после нескольких месяцев споров о "
            "том, сколько следует потратить на дороги и школы города.",
        ),
    ],
)
def test_language_of_body(lang: str, paragraph: str) -> None:
    assert detect_language(paragraph) == lang
    result = clean(_text(BANNERS["en"], paragraph, paragraph.replace("martes", "jueves")))
    assert result.language == lang


def test_english_banner_on_spanish_article_removed() -> None:
    body = [
        "El ayuntamiento aprobó el martes un nuevo presupuesto después de meses de debate sobre "
        "cuánto se debe gastar en carreteras y en las escuelas de la ciudad.",
        "La oposición votó en contra y criticó que el plan no incluya más dinero para el "
        "transporte público, que ha subido de precio dos veces en los últimos años.",
    ]
    result = clean(_text(BANNERS["en"], *body))
    assert result.paragraphs == body
    assert result.language == "es"
    assert _reasons(result) == ["consent-banner"]


def test_language_none_for_gibberish() -> None:
    assert detect_language("zxq vbnm qwrt plkj") is None
    assert detect_language("") is None


# --------------------------------------------------------------------------------------
# Truncation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "truncated"),
    [
        ("The board will meet again in May to review the", True),
        ("The board will meet again in May, officials said:", True),
        ('"We will be ready," the director said.', False),
        ("Will the money be enough?", False),
        ("The board will meet again in May…", False),
        ("The board will meet again (in May).", False),
        ("The board meets again in May.”", False),
    ],
)
def test_truncation_flag(last: str, truncated: bool) -> None:
    result = clean(_text(*BODY, last))
    assert result.paragraphs[-1] == last
    assert result.truncated is truncated


def test_trailing_heading_does_not_count_for_truncation() -> None:
    result = clean(_text(*BODY_WITH_HEADING))
    assert result.truncated is False


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------

MARKDOWN = """# Old town to get new water pipes

![Workers at a trench](https://example.org/img/trench.jpg)

The regional water authority approved a plan on **Tuesday** to replace more than 40 kilometres
of ageing pipes in the old town, a project expected to take [four years](https://example.org/plan).

## Disruption for drivers

Residents will see road works on several streets from the autumn. The authority said it would
publish a timetable for each district and keep *at least one lane* open wherever possible.

- Northern district: from September
- Harbour district: from January

Share this article

**Read more:**

- [Why pipes burst in winter](https://example.org/a)
- [The new water charges explained](https://example.org/b)
"""


def test_markdown_cleaned() -> None:
    result = clean(MARKDOWN, "markdown")
    assert result.title == "Old town to get new water pipes"
    assert result.paragraphs == [
        "The regional water authority approved a plan on Tuesday to replace more than 40 "
        "kilometres of ageing pipes in the old town, a project expected to take four years.",
        "Disruption for drivers",
        "Residents will see road works on several streets from the autumn. The authority said "
        "it would publish a timetable for each district and keep at least one lane open "
        "wherever possible.",
        "- Northern district: from September",
        "- Harbour district: from January",
    ]
    assert result.headings == ["Disruption for drivers"]
    reasons = _reasons(result)
    assert reasons[0] == "image"
    assert reasons.count("related-list") == 3
    assert "share-prompt" in reasons and "title" in reasons
    assert "](" not in result.text and "**" not in result.text


def test_markdown_link_list_in_text_removed() -> None:
    links = "\n".join(f"- [Story number {i}](https://example.org/{i})" for i in range(3))
    result = clean("\n\n".join([*BODY, links]), "markdown")
    assert result.paragraphs == BODY
    assert _reasons(result) == ["link-list"] * 3


# --------------------------------------------------------------------------------------
# Plain-text layout
# --------------------------------------------------------------------------------------


def test_hard_wrapped_text_is_unwrapped() -> None:
    import textwrap

    wrapped = "\n\n".join(textwrap.fill(p, 70) for p in BODY)
    assert clean(wrapped).paragraphs == BODY
    assert clean(wrapped, options=CleanOptions(unwrap_lines=False)).paragraphs != BODY


def test_windows_newlines_and_odd_spaces() -> None:
    text = "\ufeff" + "\r\n\r\n".join(p.replace(" ", "\u00a0", 1) for p in BODY) + "\r\n"
    assert clean(text).paragraphs == BODY


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------

HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<title>Old town to get new water pipes | The Example Courier</title>
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2025-03-04T09:30:00Z">
</head><body>
<div id="cookie-consent"><p>We use cookies to improve your experience on our site. By continuing
you agree to our use of cookies.</p><button>Accept all</button></div>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li></ul></nav>
<article>
<h1>Old town to get new water pipes</h1>
<p>{}</p>
<p>{}</p>
<div class="advert">Advertisement</div>
<h2>Disruption for drivers</h2>
<p>{}</p>
<p>{}</p>
</article>
<aside><h3>Related stories</h3><ul><li><a href="/a">Why pipes burst in winter</a></li>
<li><a href="/b">The new water charges explained</a></li></ul></aside>
<footer><p>© 2025 The Example Courier. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a> · <a href="/terms">Terms of use</a></p></footer>
</body></html>""".format(*BODY)


def test_html_page_cleaned_with_metadata() -> None:
    result = clean(HTML_PAGE, "html", url="https://example.org/news/pipes")
    assert result.paragraphs == BODY_WITH_HEADING
    assert result.title == "Old town to get new water pipes"
    assert result.byline == "Jane Doe"
    assert result.date == "2025-03-04"
    assert result.language == "en"
    reasons = dict((s.text, s.reason) for s in result.removed)
    assert reasons["Accept all"] == "consent-banner"
    assert reasons["Advertisement"] == "advertisement"
    assert reasons["Related stories"] == "related-list"
    assert reasons["Why pipes burst in winter"] == "related-list"
    assert reasons["© 2025 The Example Courier. All rights reserved."] == "copyright"
    assert any(r == "consent-banner" and t.startswith("We use cookies") for t, r in reasons.items())
    for word in ("Home", "cookies", "Related", "©", "Privacy"):
        assert word not in result.text


def test_html_table_kept_as_one_block() -> None:
    page = (
        "<html><body><article><h1>Vote count</h1>"
        f"<p>{BODY[0]}</p>"
        "<table><tr><th>Party</th><th>Votes</th><th>Seats</th></tr>"
        "<tr><td>Green</td><td>5</td><td>3</td></tr></table>"
        f"<p>{BODY[1]}</p></article></body></html>"
    )
    result = clean(page, "html")
    assert result.paragraphs == [BODY[0], "| Party | Votes | Seats |\n| Green | 5 | 3 |", BODY[1]]
    assert result.truncated is False


def test_html_date_not_guessed_from_copyright_year() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in BODY)
    page = (
        "<html><head><title>Pipes plan | Courier</title></head><body><article>"
        f"<h1>Pipes plan</h1>{paragraphs}</article>"
        "<footer>© 2023 Courier. All rights reserved.</footer></body></html>"
    )
    for content in (page, '<?xml version="1.0" encoding="utf-8"?>\n' + page):
        result = clean(content, "html")
        assert result.date is None
        assert result.paragraphs == BODY
        assert result.title == "Pipes plan"
        assert "copyright" in _reasons(result)


def test_html_given_title_wins() -> None:
    result = clean(HTML_PAGE, "html", title="My own title")
    assert result.title == "My own title"


@pytest.mark.parametrize("precision", [True, False])
def test_html_options_are_passed_to_trafilatura(precision: bool) -> None:
    opts = CleanOptions(favor_precision=precision, favor_recall=not precision)
    result = clean(HTML_PAGE, "html", options=opts)
    assert result.paragraphs[0] == BODY[0]


def test_html_fallback_when_trafilatura_finds_no_main_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import trafilatura

    monkeypatch.setattr(trafilatura, "bare_extraction", lambda *a, **k: None)
    result = clean(HTML_PAGE, "html")
    assert result.paragraphs == BODY_WITH_HEADING
    assert result.title == "Old town to get new water pipes"
    assert result.byline == "Jane Doe"
    assert result.date == "2025-03-04"


def test_auto_format_sniffs_html() -> None:
    assert clean(HTML_PAGE, "auto").paragraphs == BODY_WITH_HEADING


# --------------------------------------------------------------------------------------
# Robustness, report, options, speed
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        ("", "text"),
        ("   \n\n  ", "text"),
        ("", "html"),
        ("", "markdown"),
        ("<html></html>", "html"),
        ("<p>unclosed <b>tag", "html"),
        ("\x00\x01\x02", "text"),
        ("-\n-\n-", "text"),
        ("#", "markdown"),
        ("[](", "markdown"),
        ("x" * 20000, "text"),
        ("word " * 3000, "text"),
        ("Hello", "weird-format"),
    ],
)
def test_never_raises(content: str, fmt: str) -> None:
    result = clean(content, fmt)
    assert isinstance(result, CleanedArticle)
    assert isinstance(result.text, str)
    json.dumps(result.report())


def test_empty_gives_empty() -> None:
    result = clean("")
    assert result.text == "" and result.removed == [] and result.truncated is False


def test_short_text_without_prose_is_kept() -> None:
    assert clean("Hello world").text == "Hello world"


def test_report_is_json_and_shortened() -> None:
    long_banner = BANNERS["en"] + " " + BANNERS["en"]
    result = clean(_text(long_banner, *BODY))
    report = json.loads(json.dumps(result.report()))
    assert set(report) == {
        "title",
        "byline",
        "date",
        "language",
        "truncated",
        "removed",
        "chars_in",
        "chars_out",
    }
    assert report["removed"][0]["reason"] == "consent-banner"
    assert len(report["removed"][0]["text"]) <= 200
    assert report["chars_in"] == len(_text(long_banner, *BODY))
    assert report["chars_out"] == len(result.text)


def test_dataclasses_are_plain() -> None:
    assert dataclasses.asdict(CleanOptions())["min_paragraph_words"] == 10
    assert Segment("x", "navigation") == Segment(text="x", reason="navigation")
    assert set(clean_module.__all__) >= {"clean", "CleanedArticle", "Segment", "CleanOptions"}


def test_every_reason_is_declared() -> None:
    texts = [
        _text(BANNERS["es"], "Aceptar", "Home | World | Business | Sport", *BODY, "By Jane Doe"),
        "\n".join([*BODY, "Latest News", "-", "Some Title Here", "Ann Lee - May 2, 2025 5 Views"]),
        MARKDOWN,
    ]
    for text in texts:
        for fmt in ("text", "markdown"):
            for segment in clean(text, fmt).removed:
                assert segment.reason in clean_module.REASONS


def test_long_article_is_fast() -> None:
    paragraphs = [f"{p} Section {i} adds detail number {i}." for i in range(35) for p in BODY]
    text = _text("Old town to get new water pipes", *paragraphs[:-1], "Share this story")
    assert 4500 < len(text.split()) < 6500
    clean(text)  # warm-up (stop-word lists are read once)
    start = time.perf_counter()
    result = clean(text)
    elapsed = time.perf_counter() - start
    assert len(result.paragraphs) == len(paragraphs) - 1
    assert elapsed < 0.5, elapsed


# --------------------------------------------------------------------------------------
# The example folder
# --------------------------------------------------------------------------------------


def _example(name: str) -> str:
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path.read_text(encoding="utf-8")


def test_example_harbour_bridge() -> None:
    result = clean(_example("harbour-bridge.txt"))
    assert _reasons(result) == [
        "consent-banner",
        "consent-banner",
        "title",
        "byline",
        "related-list",
    ]
    assert result.byline and result.title and result.language == "en"
    assert len(result.headings) == 1


def test_example_coastal_rail() -> None:
    result = clean(_example("coastal-rail.txt"))
    assert result.truncated is True
    assert {"related-list", "view-count", "empty-list-marker"} == set(_reasons(result))
    assert len(result.headings) == 2


def test_example_vaccine_trial_markdown() -> None:
    result = clean(_example("vaccine-trial.md"), "markdown")
    assert result.title and "share-prompt" in _reasons(result)
    assert len(result.headings) == 2
    assert "http" not in result.text


def test_example_city_budget_html() -> None:
    result = clean(_example("city-budget.html"), "html")
    assert result.title and result.byline and result.date
    assert len(result.headings) == 2
    assert "cookies" not in result.text and "©" not in result.text


def test_example_wire_records() -> None:
    records = [json.loads(line) for line in _example("wire.jsonl").splitlines() if line.strip()]
    assert len(records) == 2
    for rec in records:
        assert set(rec) >= {"id", "title", "url", "text"}
        result = clean(rec["text"], title=rec["title"], url=rec["url"])
        assert result.title == rec["title"]
        assert result.removed and result.language == "en" and not result.truncated


def test_example_legacy_latin1_is_cp1252() -> None:
    path = EXAMPLES / "legacy-latin1.txt"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    result = clean(raw.decode("cp1252"))
    assert "Zürich" in result.title and "São Paulo" in result.text and "naïve" in result.text


def test_examples_are_small() -> None:
    if not EXAMPLES.is_dir():
        pytest.skip("no examples")
    for path in EXAMPLES.iterdir():
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix == ".jsonl":
            texts = [json.loads(line)["text"] for line in text.splitlines() if line.strip()]
        else:
            texts = [text]
        for t in texts:
            words = len(clean(t, "html" if path.suffix == ".html" else "text").text.split())
            assert 200 <= words <= 450, (path.name, words)


# --------------------------------------------------------------------------------------
# toolkit clean (folder runs)
# --------------------------------------------------------------------------------------


def test_cli_clean_writes_records_texts_and_reports_bad_files(tmp_path: Path, capsys) -> None:
    from toolkit.cli import main

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    article = _text(BANNERS["en"], "Pipes To Be Replaced", *BODY, "By Jane Doe")
    (src / "a.txt").write_text(article, encoding="utf-8")
    rewrapped = "\n\n".join(textwrap.fill(block, 60) for block in BODY)
    (src / "sub" / "b copy.txt").write_text(rewrapped, encoding="utf-8")
    (src / "c.jsonl").write_text(
        json.dumps({"id": "other", "title": "Library", "text": _text(*BODY[2:])[::-1]})
        + "\n{broken\n",
        encoding="utf-8",
    )
    (src / "empty.md").write_text("", encoding="utf-8")
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    out = tmp_path / "out"

    assert main(["clean", str(src), "-o", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "error: c.jsonl#2: invalid JSON" in err
    assert "error: empty.md: empty file" in err
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before

    records = [json.loads(line) for line in (out / "cleaned.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in records}
    assert set(by_id) == {"a.txt", "sub/b copy.txt", "other"}
    a = by_id["a.txt"]
    assert list(a)[-1] == "text"
    assert a["title"] == "Pipes To Be Replaced" and a["byline"] == "Jane Doe"
    assert a["language"] == "en" and a["truncated"] is False
    assert {"consent-banner", "byline"} <= {s["reason"] for s in a["removed"]}
    assert a["text"] == _text(*BODY)
    # the re-wrapped copy is in a's duplicate group; the other article is not
    assert a["duplicate_group"] == by_id["sub/b copy.txt"]["duplicate_group"] == "dup-a.txt"
    assert a["duplicates"] == ["sub/b copy.txt"]
    assert by_id["other"]["duplicate_group"] is None and by_id["other"]["duplicates"] == []
    for rec in records:
        assert (out / rec["text_file"]).read_text(encoding="utf-8").strip() == rec["text"]
    names = sorted(p.name for p in (out / "texts").iterdir())
    assert "a.txt.txt" in names and "other.txt" in names
    assert all(" " not in n and "/" not in n for n in names)


def test_cli_clean_exit_zero_and_missing_input(tmp_path: Path) -> None:
    from toolkit.cli import main

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.html").write_text(
        "<html><body><nav>Home News</nav><article><h1>Pipes</h1>"
        + "".join(f"<p>{p}</p>" for p in BODY)
        + "</article></body></html>",
        encoding="utf-8",
    )
    assert main(["clean", str(src), "-o", str(tmp_path / "o"), "--no-progress"]) == 0
    rec = json.loads((tmp_path / "o" / "cleaned.jsonl").read_text())
    assert BODY[0] in rec["text"] and "Home News" not in rec["text"]
    # a missing input is a one-line error and exit status 2, not a traceback
    assert main(["clean", str(tmp_path / "missing"), "-o", str(tmp_path / "o2")]) == 2
    assert not (tmp_path / "o2").exists()


def test_safe_name_is_unique_and_safe() -> None:
    from toolkit.core import safe_name

    assert safe_name("a.txt") == "a.txt"
    assert safe_name("x/y.txt") != safe_name("x_y.txt")
    assert safe_name("../../etc/passwd").startswith("etc_passwd~")
    assert safe_name("").startswith("article~")
    assert safe_name("A.txt") != safe_name("a.txt").upper()  # no clash ignoring case
    assert safe_name("A.txt").casefold() != safe_name("a.txt").casefold()


def test_html_include_comments_keeps_reader_comments() -> None:
    comment = (
        "I live on one of those streets and I am glad the council finally decided to act, "
        "because the pipes burst twice last winter and flooded the whole cellar."
    )
    page = (
        "<html><body><article><h1>Pipes</h1>"
        + "".join(f"<p>{p}</p>" for p in BODY)
        + "</article><div id='comments' class='comments'><h3>Comments</h3>"
        + f"<div class='comment'><p>{comment}</p></div></div></body></html>"
    )
    assert comment not in clean(page, "html").text
    assert comment in clean(page, "html", options=CleanOptions(include_comments=True)).text


def test_html_comments_in_another_language_are_kept_after_the_body() -> None:
    # readers write in any language; the body's foreign-language rule must not drop them
    comment = "Great article, I have been following this debate from London for months."
    paragraphs = [
        "Der Bundestag hat am Freitag nach monatelangem Streit das neue Heizungsgesetz "
        "beschlossen, und die Regelung soll ab dem kommenden Jahr schrittweise gelten.",
        "Kritiker bemängeln, dass die Förderung für Hausbesitzer mit geringem Einkommen nicht "
        "ausreiche, und die Regierung verweist auf zusätzliche Zuschüsse für diese Gruppe.",
        "Die Opposition kündigte an, das Gesetz vor dem Verfassungsgericht prüfen zu lassen, "
        "weil sie die Beratungen im Ausschuss für überstürzt und unvollständig hält.",
    ]
    page = (
        "<html><body><article><h1>Heizungsgesetz beschlossen</h1>"
        + "".join(f"<p>{p}</p>" for p in paragraphs)
        + "</article><div id='comments' class='comments'><h3>Kommentare</h3>"
        + f"<div class='comment'><p>{comment}</p></div></div></body></html>"
    )
    result = clean(page, "html", options=CleanOptions(include_comments=True))
    assert result.language == "de"
    assert result.text.index(paragraphs[-1]) < result.text.index(comment)
    assert comment not in clean(page, "html").text


# --------------------------------------------------------------------------------------
# General rules added for scraped whole-page dumps (invented lines)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Leave a Reply Cancel reply", "comment-form"),
        ("Your email address will not be published. Required fields are marked *", "comment-form"),
        ("Notify me of new comments via email.", "comment-form"),
        ("Ihre E-Mail-Adresse wird nicht veröffentlicht.", "comment-form"),
        ("Laisser un commentaire", "comment-form"),
        ("Pingback: A list of links | some blog", "comment-form"),
        ("Was this article helpful?", "comment-form"),
        ("Kommentieren", "comment-form"),
        ("Diesen Beitrag teilen", "share-prompt"),
        ("Ähnliche Beiträge", "related-list"),
        ("This entry was posted in Travel, Food and tagged coast, harbour.", "tags"),
        ("Getaggt mit: Hafen, Fähre", "tags"),
        ("Harbour at dusk © J. Smith / Agency", "photo-credit"),
    ],
)
def test_page_dump_boilerplate_lines_removed(line: str, reason: str) -> None:
    result = clean(_text(*BODY[:2], line, *BODY[2:]))
    assert result.paragraphs == BODY
    assert [(s.text, s.reason) for s in result.removed] == [(line, reason)]


def test_timestamp_lines_inside_the_page_removed_without_metadata() -> None:
    extra = [
        "Some residents asked whether the loan would be repaid before the next election, and "
        "the treasurer said the first instalment was due in three years.",
        "The board will meet again in June to choose the contractors for the first district, "
        "after a tender that is open to firms from the whole region.",
    ]
    body = [*BODY, *extra]
    result = clean(_text(*body[:3], "Jane Doe | 12.03.2024 um 14:26", *body[3:]))
    assert result.paragraphs == body
    assert _reasons(result) == ["dateline"]
    assert result.date is None


def test_html_path_keeps_short_lines_the_extractor_kept() -> None:
    page = (
        "<html><body><article><h1>Pipes</h1>"
        + "".join(f"<p>{p}</p>" for p in BODY)
        + "<p>See you at the meeting!</p><p>Anna</p></article></body></html>"
    )
    text = clean(page, "html").text
    assert "See you at the meeting!" in text and text.endswith("Anna")


# --------------------------------------------------------------------------------------
# The main-text pass (plain text): one block of text wins over prose standing apart
# --------------------------------------------------------------------------------------

MENU = ["Home", "World", "Business", "Sport", "Culture", "Weather", "Contact us", "Jobs"]
AUTHOR_BOX = (
    "Jane Porter has covered local government and infrastructure for the paper since 2011, "
    "and before that she reported on courts and crime for a regional radio station."
)
TEASER = (
    "Our summer offer: read every story on any device for a whole year and get the weekend "
    "print edition delivered to your door at half the usual price, if you act now."
)


def test_prose_standing_apart_after_the_article_is_removed() -> None:
    result = clean(_text(*BODY, *MENU, AUTHOR_BOX, "Terms of use", "Privacy"))
    assert result.paragraphs == BODY
    assert ("outside-main-text", AUTHOR_BOX) in [(s.reason, s.text) for s in result.removed]


def test_prose_standing_apart_before_the_article_is_removed() -> None:
    result = clean(_text(TEASER, *MENU, *BODY))
    assert result.paragraphs == BODY
    assert "outside-main-text" in _reasons(result)


def test_short_lines_inside_the_article_stay() -> None:
    # a table of numbers between two paragraphs is part of the text, not a menu
    table = ["Route", "Trains per day", "North line", "42", "Coast line", "17"]
    result = clean(_text(*BODY[:2], *table, *BODY[2:], *MENU))
    kept = result.paragraphs
    assert kept[:2] == BODY[:2] and kept[-2:] == BODY[2:]
    assert all(line in kept for line in table)
    assert not any(item in kept for item in MENU)


def test_the_article_is_the_first_block_not_a_longer_comment_thread() -> None:
    comments = [
        line
        for n in range(6)
        for line in (
            f"Reader{n} says:",
            f"March {n + 3}, 2025 at 10:1{n} am",
            f"I have lived in the old town for {n + 10} years and the pipes have burst in our "
            f"street {n + 2} times, so the council should have acted much earlier, and I hope "
            "the new works will be finished before the next winter comes round.",
            "Reply",
        )
    ]
    result = clean(_text(*MENU, *BODY[:2], "6 comments", "Log in to comment", *comments))
    assert result.paragraphs == BODY[:2]


def test_main_text_states_bridge_short_gaps_and_pay_to_come_back() -> None:
    from toolkit.clean import _main_text_states

    # a weak gap inside the text is bridged: staying costs 1.0, leaving and coming back 3.0
    assert _main_text_states([-1, 5, -0.5, -0.5, 5, -1], reentry=3.0) == [0, 1, 1, 1, 1, 2]
    # a long gap is cheaper to leave; a small block after it does not pay for coming back
    states = _main_text_states([5, -2, -2, -2, 2, -1], reentry=3.0)
    assert states == [1, 2, 2, 2, 2, 2]
    # a big enough block after it does
    states = _main_text_states([5, -2, -2, -2, 6, -1], reentry=3.0)
    assert states == [1, 2, 2, 2, 1, 2]
