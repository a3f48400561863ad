"""Cleaning stage: strip scraped-article boilerplate and pull out its metadata.

Scraped articles arrive with cookie banners, "related news" lists, share prompts, view
counters and menus around the real text. :func:`clean` turns one article into a
:class:`CleanedArticle`: the body (paragraphs separated by one blank line, headings kept as
paragraphs of their own), the title, byline, date and body language, whether the body was
cut off mid-sentence, and every removed piece with a short reason.

HTML goes through trafilatura first (main content and metadata), and what it extracts goes
through the same plain-text cleaner as text and Markdown input. The plain-text cleaner
classifies paragraphs with general signals rather than site-specific phrases:

* multilingual vocabularies (cookie/consent banners, "related"/"latest news"/"read more" list
  headers, share/follow/subscribe prompts, navigation, advertising and copyright lines),
* shapes (view and read counters, "Name - date" lines, lone list markers, menus, link lists,
  short repeated lines, bylines and datelines),
* stop-word density in the body's language (guessed from justext's stop-word lists), a
  language mismatch with the body, and position: boilerplate clusters before the first and
  after the last prose paragraph, so short lines there take the class of their neighbours.

:func:`clean` is pure (no I/O besides reading the packaged stop-word lists once) and never
raises on odd input, but for input beyond its size budget (:data:`MAX_UNITS` lines).
:func:`toolkit.core.clean_folder` (``toolkit clean``) cleans a whole folder, groups
duplicate articles (:mod:`toolkit.dedupe`) and writes ``cleaned.jsonl`` and ``texts/``.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "REASONS",
    "CleanOptions",
    "CleanedArticle",
    "Segment",
    "clean",
    "detect_language",
    "find_date",
]

#: Every reason a removed :class:`Segment` can carry.
REASONS: tuple[str, ...] = (
    "consent-banner",  # cookie / consent / privacy-policy banner and its buttons
    "related-list",  # "related news", "you may also like", "latest news" header and its list
    "read-more",  # a single "Read also: <title>" line
    "link-list",  # lines that are nothing but links
    "view-count",  # "58 views", "12 comments", "Name - date 58 Views"
    "read-time",  # "4 min read"
    "share-prompt",  # share / follow-us prompts and rows of social networks
    "subscribe-prompt",  # newsletter / subscribe / download-the-app prompts
    "comment-form",  # "Leave a reply", "Your email address will not be published", pingbacks
    "navigation",  # menus, breadcrumbs, "skip to content", "load more"
    "empty-list-marker",  # lone "-", "|", "•"
    "advertisement",  # "Advertisement", "Anzeige", "Publicidad"
    "copyright",  # "© 2025 ...", "All rights reserved"
    "tags",  # "Tags: a, b"
    "photo-credit",  # "Photo: Agency"
    "byline",  # "By Jane Doe" (kept as metadata)
    "dateline",  # "Published March 3, 2025" (kept as metadata)
    "title",  # the title line (kept as metadata)
    "image",  # Markdown images
    "front-matter",  # Markdown YAML front matter (its title/author/date are kept)
    "repeated-line",  # short lines repeated across the page
    "foreign-language",  # a paragraph at the edges in another language than the body
    "boilerplate-cluster",  # short lines outside the main text
    "outside-main-text",  # prose standing apart from the article's text (teasers, bios)
    "duplicate",  # a paragraph repeated verbatim
    "html-boilerplate",  # page text that the HTML extractor left out
)


# --------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------


@dataclass
class Segment:
    """One removed piece of the input and why it was removed."""

    text: str
    reason: str


@dataclass
class CleanOptions:
    """Options of :func:`clean` (all have sensible defaults).

    Attributes:
        favor_precision: trafilatura (HTML): prefer less text but less noise.
        favor_recall: trafilatura (HTML): when unsure, keep more text.
        include_tables: trafilatura (HTML): keep the text of ``<table>`` elements.
        include_comments: trafilatura (HTML): keep reader comments.
        min_paragraph_words: words a paragraph needs to count as body prose on its own.
        min_stopword_density: share of stop words (in the body's language) a paragraph needs
            to count as body prose.
        extract_title: take the title line out of the body (into ``title``).
        extract_byline: take "By ..." and dateline lines out of the body (into metadata).
        unwrap_lines: join hard-wrapped lines of plain text back into paragraphs.
    """

    favor_precision: bool = False
    favor_recall: bool = False
    include_tables: bool = True
    include_comments: bool = False
    min_paragraph_words: int = 10
    min_stopword_density: float = 0.2
    extract_title: bool = True
    extract_byline: bool = True
    unwrap_lines: bool = True


@dataclass
class CleanedArticle:
    """The result of :func:`clean`.

    Attributes:
        text: the cleaned body; paragraphs separated by one blank line, headings kept as
            paragraphs of their own.
        title: the given title, else one found in the input.
        byline: the author's name (without "By").
        date: ISO date (``YYYY-MM-DD``) when one was found.
        language: ISO 639-1 guess of the body's language.
        truncated: the body ends mid-sentence.
        removed: every removed piece: markup first (HTML blocks, front matter, images),
            then the removed lines and paragraphs in input order.
        headings: the headings kept in ``text``.
        chars_in: length of the input.
    """

    text: str
    title: str | None = None
    byline: str | None = None
    date: str | None = None
    language: str | None = None
    truncated: bool = False
    removed: list[Segment] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    chars_in: int = 0

    @property
    def paragraphs(self) -> list[str]:
        """The body's paragraphs (headings included)."""
        return [p for p in self.text.split("\n\n") if p]

    def report(self, max_chars: int = 200) -> dict[str, Any]:
        """A JSON-serialisable summary of the cleaning (removed text cut to ``max_chars``)."""
        return {
            "title": self.title,
            "byline": self.byline,
            "date": self.date,
            "language": self.language,
            "truncated": self.truncated,
            "removed": [
                {"text": _shorten(s.text, max_chars), "reason": s.reason} for s in self.removed
            ],
            "chars_in": self.chars_in,
            "chars_out": len(self.text),
        }


# --------------------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------------------

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_ENDS_SENTENCE_RE = re.compile(r"[.!?…。！？](?:[\"'”’»)\]*_]|\s)*$")
_ENDS_STATEMENT_RE = re.compile(r"[.!…。！](?:[\"'”’»)\]*_]|\s)*$")
_SENTENCE_MARK_RE = re.compile(r"(?<=[^\W\d_]{3})[.!?…]\s+[\"“'‘(]?[^\W\d_]")
_ENDS_PHRASE_RE = re.compile(r"[.!…,;]\W*$")
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES_RE = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "‐": "-", "’": "'", "‘": "'"})


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if limit <= 0 or len(text) <= limit:
        return text
    return text[: max(limit - 1, 1)].rstrip() + "…"


def _fold(text: str) -> str:
    """Lower-case, accent-free, dash/apostrophe-normalised form used for keyword matching."""
    text = text.lower().translate(_DASHES)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _normalize(content: object) -> str:
    """Input as a clean ``str``: one newline style, no invisible or control characters."""
    if content is None:
        return ""
    if isinstance(content, (bytes, bytearray)):
        content = bytes(content).decode("utf-8", errors="replace")
    if not isinstance(content, str):
        content = str(content)
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _INVISIBLE_RE.sub("", text)
    text = _CONTROL_RE.sub("", text)
    text = unicodedata.normalize("NFC", text)
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(lines).strip("\n")


def _tokens(text: str) -> list[str]:
    """Lower-cased word tokens (letters only)."""
    return [t.lower().replace("’", "'") for t in _WORD_RE.findall(text)]


def _ends_sentence(text: str) -> bool:
    """Whether ``text`` ends with sentence-final punctuation (closing quotes allowed)."""
    return bool(_ENDS_SENTENCE_RE.search(text))


# --------------------------------------------------------------------------------------
# Language guess from justext's stop-word lists
# --------------------------------------------------------------------------------------


def _phrases(text: str) -> list[str]:
    """The phrases of a vocabulary string separated by ``|`` or newlines."""
    return [p.strip() for p in re.split(r"[|\n]", text) if p.strip()]


def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of a vocabulary string."""
    return frozenset(text.split())


# justext list name -> ISO 639-1. Regional variants without a 639-1 code (Asturian,
# Neapolitan, Low Saxon, ...) and constructed languages are left out: they share most stop
# words with a larger neighbour and only add noise.
_JUSTEXT_ISO: dict[str, str] = dict(
    pair.split(":", 1)
    for pair in _words(
        "Afrikaans:af Albanian:sq Arabic:ar Armenian:hy Azerbaijani:az Basque:eu "
        "Belarusian:be Bengali:bn Bosnian:bs Breton:br Bulgarian:bg Catalan:ca Croatian:hr "
        "Czech:cs Danish:da Dutch:nl English:en Simple_English:en Estonian:et Finnish:fi "
        "French:fr Galician:gl Georgian:ka German:de Greek:el Gujarati:gu Hebrew:he Hindi:hi "
        "Hungarian:hu Icelandic:is Indonesian:id Irish:ga Italian:it Kannada:kn Kazakh:kk "
        "Korean:ko Latvian:lv Lithuanian:lt Luxembourgish:lb Macedonian:mk Malay:ms "
        "Malayalam:ml Maltese:mt Marathi:mr Nepali:ne Norwegian_Bokmal:nb "
        "Norwegian_Nynorsk:nn Persian:fa Polish:pl Portuguese:pt Romanian:ro Russian:ru "
        "Serbian:sr Slovak:sk Slovenian:sl Spanish:es Swahili:sw Swedish:sv Tagalog:tl "
        "Tamil:ta Telugu:te Turkish:tr Ukrainian:uk Urdu:ur Vietnamese:vi Welsh:cy"
    )
)

# Used when justext's lists cannot be found: the commonest words of a few languages.
_FALLBACK_STOPWORDS: dict[str, str] = {
    "en": "the of and to a in is that for it on was with as by at be this are from or an "
    "have has not but they he she his her their which were been will would said who its",
    "es": "de la que el en y a los se del las un por con no una su para es al lo como mas "
    "pero sus le ya o este fue ha si porque esta son entre cuando muy sin sobre ser",
    "fr": "de la le et les des en un du une que est pour qui dans a par plus pas au sur ne "
    "se il elle ce sont ont avec son sa ses leur nous vous aux mais ou",
    "de": "der die und in den von zu das mit sich des auf fur ist im dem nicht ein eine als "
    "auch es an er hat aus bei sie nach wird um noch wie einem uber einen so zum",
    "it": "di e il la che in a per un del non una le si con i da al sono della gli lo nel "
    "alla anche ha come ma piu se dei delle",
    "pt": "de a o que e do da em um para com nao uma os no se na por mais as dos como mas "
    "ao ele das seu sua ou ser quando muito nos ja esta",
    "nl": "de het een en van in is dat op te zijn met voor niet aan er die om ook als dan "
    "maar bij of uit nog wordt door naar heeft",
    "pl": "i w na z do nie sie to ze jest o jak a po co tak za od przez dla jego ale czy "
    "juz tylko lub oraz przy",
}


def _script_of(text: str) -> str:
    """Name of the dominant Unicode script of ``text`` ("LATIN", "CYRILLIC", ...)."""
    counts: Counter[str] = Counter()
    for ch in text[:400]:
        if ch.isalpha():
            counts[_char_script(ch)] += 1
    return counts.most_common(1)[0][0] if counts else ""


@lru_cache(maxsize=4096)
def _char_script(ch: str) -> str:
    """First word of the character's Unicode name, e.g. "LATIN" or "CYRILLIC"."""
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return ""


def _justext_stoplist_dir() -> Path | None:
    """Folder of justext's stop-word lists, found without importing justext (which needs
    lxml's optional html-clean module at import time)."""
    try:
        spec = importlib.util.find_spec("justext")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "stoplists"
    return folder if folder.is_dir() else None


@lru_cache(maxsize=1)
def _raw_stoplists() -> dict[str, tuple[str, str]]:
    """ISO code -> (script, raw stop words), read once: justext's lists when installed,
    else a small built-in fallback."""
    raw: dict[str, list[str]] = {}
    folder = _justext_stoplist_dir()
    if folder is not None:
        for name, iso in _JUSTEXT_ISO.items():
            try:
                raw.setdefault(iso, []).append((folder / f"{name}.txt").read_text(encoding="utf-8"))
            except OSError:
                continue
    joined = {iso: "\n".join(parts) for iso, parts in raw.items() if parts}
    if not joined:
        joined = dict(_FALLBACK_STOPWORDS)
    return {iso: (_script_of(text[:400]), text) for iso, text in joined.items()}


@lru_cache(maxsize=128)
def _stopwords(iso: str | None) -> frozenset[str]:
    """The lower-cased stop words of language ``iso`` (empty when unknown)."""
    entry = _raw_stoplists().get(iso or "")
    if entry is None:
        return frozenset()
    return frozenset(w.lower().replace("’", "'") for w in entry[1].split())


def _guess_language(tokens: Sequence[str], max_tokens: int = 800) -> tuple[str | None, float]:
    """Best language for ``tokens`` (only languages written in the tokens' script compete)
    and the share of tokens its stop words cover."""
    if len(tokens) > max_tokens:
        step = len(tokens) / max_tokens
        tokens = [tokens[int(i * step)] for i in range(max_tokens)]
    if len(tokens) < 3:
        return None, 0.0
    script = _script_of(" ".join(tokens[:80]))
    best, best_cov = None, 0.0
    for iso, (lang_script, _) in _raw_stoplists().items():
        if script and lang_script != script:
            continue
        stop = _stopwords(iso)
        cov = sum(1 for t in tokens if t in stop) / len(tokens)
        if cov > best_cov:
            best, best_cov = iso, cov
    if best is None or best_cov < 0.12:
        return None, best_cov
    return best, best_cov


def detect_language(text: str) -> str | None:
    """ISO 639-1 guess of ``text``'s language from stop-word coverage (None if unsure)."""
    return _guess_language(_tokens(text))[0]


def _density(tokens: Sequence[str], stopwords: frozenset[str]) -> float:
    """Share of ``tokens`` that are stop words."""
    if not tokens:
        return 0.0
    return sum(1 for t in tokens if t in stopwords) / len(tokens)


# --------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------

_MONTH_NAMES = (
    "january jan enero ene janvier janv januar janner gennaio gen janeiro januari",
    "february feb febrero fevrier fevr februar febbraio fevereiro fev februari",
    "march mar marzo mars marz maerz marco maart",
    "april apr abril abr avril avr aprile",
    "may mayo mai maggio mag maio mei",
    "june jun junio juin juni giugno giu junho",
    "july jul julio juillet juil juli luglio lug julho",
    "august aug agosto ago aout augustus",
    "september sep sept septiembre setiembre septembre settembre set setembro",
    "october oct octubre octobre oktober okt ottobre ott outubro out",
    "november nov noviembre novembre novembro",
    "december dec diciembre dic decembre dezember dez dicembre dezembro",
)
# folded month name or abbreviation (en, es, fr, de, it, pt, nl) -> month number
_MONTHS: dict[str, int] = {
    name: num for num, names in enumerate(_MONTH_NAMES, start=1) for name in names.split()
}

_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_YEAR = r"((?:19|20)\d\d)"
_DATE_ISO_RE = re.compile(r"\b" + _YEAR + r"-(\d{1,2})-(\d{1,2})(?!\d)")
_DATE_MDY_RE = re.compile(
    rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b", re.IGNORECASE
)
_DATE_DMY_RE = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th|er|o|º)?\.?\s+(?:de\s+)?({_MONTH_ALT})\.?,?\s+(?:de\s+)?{_YEAR}\b",
    re.IGNORECASE,
)
_DATE_DOTTED_RE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.((?:19|20)\d\d)\b")
_DATE_YMD_SLASH_RE = re.compile(r"\b" + _YEAR + r"/(\d{1,2})/(\d{1,2})\b")


def _iso(year: int, month: int, day: int) -> str | None:
    """``YYYY-MM-DD`` for a valid date, else None."""
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _find_date_span(text: str) -> tuple[str, int, int] | None:
    """First unambiguous date in ``text`` as (ISO date, start, end)."""
    folded = _fold(text)
    found: list[tuple[int, int, str]] = []
    for m in _DATE_ISO_RE.finditer(folded):
        iso = _iso(int(m[1]), int(m[2]), int(m[3]))
        if iso:
            found.append((m.start(), m.end(), iso))
    for m in _DATE_MDY_RE.finditer(folded):
        iso = _iso(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
        if iso:
            found.append((m.start(), m.end(), iso))
    for m in _DATE_DMY_RE.finditer(folded):
        iso = _iso(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
        if iso:
            found.append((m.start(), m.end(), iso))
    for m in _DATE_DOTTED_RE.finditer(folded):
        iso = _iso(int(m[3]), int(m[2]), int(m[1]))
        if iso:
            found.append((m.start(), m.end(), iso))
    for m in _DATE_YMD_SLASH_RE.finditer(folded):
        iso = _iso(int(m[1]), int(m[2]), int(m[3]))
        if iso:
            found.append((m.start(), m.end(), iso))
    if not found:
        return None
    start, end, iso = min(found)
    return iso, start, end


def find_date(text: str) -> str | None:
    """The first unambiguous date written in ``text``, as ``YYYY-MM-DD`` (None if none)."""
    span = _find_date_span(text)
    return span[0] if span else None


# --------------------------------------------------------------------------------------
# Vocabularies (matched on folded text: lower case, no accents)
# --------------------------------------------------------------------------------------


# Consent banners: the topic (cookies, consent, privacy policy, tracking) ...
_CONSENT_TOPIC_RE = re.compile(
    r"\b(?:"
    + (
        r"cookies?|consent\w*|consentimiento|consient\w*|consentement|einwilligung\w*|"
        r"zustimmung|consenso|consentimento|toestemming|zgod[aey]|gdpr|rgpd|dsgvo|"
        r"privacy[- ]?(?:policy|notice|statement|settings)|politica de privacidad|"
        r"politica de privacidade|politica de cookies|politique de confidentialite|"
        r"donnees personnelles|datenschutz\w*|informativa (?:sulla )?privacy|privacybeleid|"
        r"privacyverklaring|polityk\w* prywatnosci|tracking|traceurs?|third[- ]party|"
        r"de terceros|de terceiros|drittanbieter\w*|terze parti|"
        r"personali[sz]ed (?:ads|advertising|content)|anuncios personalizados|"
        r"publicites? personnalisees?|personalisierte werbung|pubblicita personalizzata"
    )
    + r")\b"
)
# ... addressed to the visitor by the site ("we use", "our website", "your experience") ...
_CONSENT_ADDRESS_RE = re.compile(
    r"\b(?:"
    + (
        r"we use|we and our partners|our (?:web ?)?(?:site|page|partners|services?)|"
        r"this (?:web ?)?site|your (?:browsing )?experience|"
        r"your (?:consent|preferences|choices?|device|browser|data)|"
        r"you (?:agree|consent|accept)|by (?:continuing|using|clicking|browsing|visiting)|"
        r"utiliza(?:mos)?|usamos|nuestr[oa] (?:sitio|web|pagina)|(?:este|nuestro) sitio|"
        r"(?:esta|nuestra) (?:web|pagina)|(?:su|tu) experiencia|usted|"
        r"al (?:usar|utilizar|navegar|continuar|hacer clic)|nous utilisons|(?:notre|ce) site|"
        r"votre (?:experience|navigation|consentement|choix)|vous (?:acceptez|consentez)|"
        r"en (?:poursuivant|continuant|cliquant|utilisant)|wir (?:verwenden|nutzen|setzen)|"
        r"(?:unsere|diese) (?:website|webseite|seite|internetseite)|"
        r"ihr(?:e|en)? (?:nutzererlebnis|erfahrung|zustimmung|einwilligung|einstellungen)|"
        r"sie (?:stimmen|akzeptieren|erklaren)|(?:durch die|mit der|bei der) nutzung|"
        r"utilizziamo|usiamo|(?:il nostro|questo) sito|(?:la tua|la sua) esperienza|"
        r"continuando|acconsenti\w*|utilizamos|(?:nosso|este) site|(?:sua|tua) experiencia|"
        r"voce (?:concorda|aceita)|ao (?:continuar|utilizar|usar|navegar|clicar)|wij gebruiken|"
        r"we gebruiken|(?:onze|deze) (?:website|site)|uw (?:ervaring|toestemming|voorkeuren)|"
        r"u gaat akkoord|uzywamy|korzystamy|nasz(?:a|ej) (?:strona|stronie|witryn\w*)|"
        r"(?:ta|tej) stron\w*|korzystajac z"
    )
    + r")\b"
)
# ... and its buttons.
_CONSENT_ACTION_RE = re.compile(
    r"\b(?:"
    + (
        r"click\w*|clic|cliquez|klick\w*|clicca\w*|clique|klik\w*|button|boton|bouton|"
        r"schaltflache|pulsante|botao|knop|przycisk\w*|accept(?: all)?|"
        r"aceptar(?: todo| todas)?|accepter|tout accepter|(?:alle )?akzeptieren|"
        r"accetta(?: tutti)?|aceitar(?: todos)?|(?:alles )?accepteren|akceptuj\w*|"
        r"reject(?: all)?|rechazar|refuser|ablehnen|rifiuta|rejeitar|weigeren|odrzuc\w*|"
        r"(?:manage|cookie) (?:settings|preferences|options)|configuracion|parametres|"
        r"einstellungen|impostazioni|configuracoes|instellingen|ustawienia|learn more|"
        r"mas informacion|en savoir plus|mehr erfahren|scopri di piu|saiba mais|"
        r"meer informatie|dowiedz sie wiecej|got it"
    )
    + r")\b"
)
# Lines that are nothing but consent buttons.
_CONSENT_BUTTON_RE = re.compile(
    r"^(?:"
    + (
        r"ok|okay|got it|i agree|agree|accept|accept all|accept cookies|allow all|"
        r"allow cookies|reject|reject all|decline|deny|"
        r"manage (?:cookies|settings|preferences|options)|"
        r"cookie (?:settings|preferences|policy)|(?:more )?options|settings|preferences|"
        r"customi[sz]e|aceptar|aceptar todo|aceptar todas|acepto|rechazar|rechazar todo|"
        r"configurar|configuracion|accepter|tout accepter|j'accepte|refuser|tout refuser|"
        r"parametrer|personnaliser|akzeptieren|alle akzeptieren|ablehnen|alle ablehnen|"
        r"einstellungen|zustimmen|accetta|accetta tutti|accetto|rifiuta|rifiuta tutti|"
        r"impostazioni|personalizza|aceitar|aceitar todos|aceito|rejeitar|configuracoes|"
        r"accepteren|alles accepteren|weigeren|instellingen|akceptuje|akceptuj|odrzuc|"
        r"ustawienia"
    )
    + r")$"
)

# "Related"/"latest"/"read more" list headers (whole line, folded, punctuation stripped).
_LIST_HEADERS: frozenset[str] = frozenset(
    _phrases(
        """
    related|related news|related articles|related stories|related posts|related content
    related topics|related coverage|related reading|related links|related videos
    you may also like|you might also like|you may like|you might like|you may also enjoy
    you may also be interested in|you might also be interested in|you may be interested in
    also read|read also|read more|read next|more to read|further reading|see also
    more stories|more news|more articles|more headlines|more like this|more for you
    latest|latest news|latest stories|latest articles|latest posts|latest headlines
    latest updates|latest videos|recent posts|recent news|recent articles|recent stories
    recommended|recommended for you|recommended stories|recommended articles|recommended reading
    trending|trending now|trending stories|trending news|trending articles
    popular|popular posts|popular stories|popular news|popular articles|popular now
    most popular|most read|most viewed|most shared|most recent|top stories|top news
    don't miss|dont miss|up next|what to read next|editor's picks|editors picks|editor picks
    in case you missed it|more on this story|around the web|from the web|sponsored stories
    promoted stories|other news|other stories|similar articles|similar stories|keep reading
    noticias relacionadas|articulos relacionados|contenido relacionado|relacionados
    relacionadas|te puede interesar|tambien te puede interesar|te podria interesar
    puede interesarte|le puede interesar|tambien le puede interesar|lo mas leido|lo mas visto
    mas leidas|mas leidos|mas vistas|mas vistos|ultimas noticias|mas noticias|lee tambien
    leer mas|lea tambien|lee mas|te recomendamos|recomendados|tendencias|no te lo pierdas
    otras noticias|noticias recientes|tambien te puede gustar|te puede gustar
    a lire aussi|lire aussi|a lire egalement|lire egalement|lire la suite|a voir aussi
    a voir egalement|voir aussi|articles similaires|articles lies|articles connexes
    sur le meme sujet|sur le meme theme|vous aimerez aussi|vous aimerez peut-etre aussi
    vous pourriez aussi aimer|les plus lus|les plus lues|les plus populaires
    dernieres nouvelles|dernieres actualites|derniers articles|plus d'actualites|en continu
    recommande pour vous|tendances|a ne pas manquer|autres articles|articles recents
    ahnliche beitrage|verwandte beitrage|weitere beitrage|neueste beitrage|letzte beitrage
    beliebte beitrage|weiterfuhrende links|weiterfuhrender link|weiterfuhrende artikel
    das konnte sie auch interessieren|das konnte dich auch interessieren|auch interessant
    mehr zum thema|weitere artikel|weitere nachrichten|weitere meldungen|ahnliche artikel
    verwandte artikel|verwandte themen|meistgelesen|meistgelesene artikel|am meisten gelesen
    neueste artikel|neueste nachrichten|aktuelle nachrichten|lesen sie auch|lesen sie mehr
    mehr lesen|weiterlesen|empfohlene artikel|unsere empfehlungen|top-themen|top themen
    beliebte artikel|zum thema|mehr nachrichten|auch lesenswert
    potrebbe interessarti|ti potrebbe interessare|potrebbe interessarti anche
    articoli correlati|notizie correlate|leggi anche|leggi di piu|ultime notizie|i piu letti
    piu letti|piu lette|altre notizie|da non perdere|consigliati per te|articoli consigliati
    noticias relacionadas|artigos relacionados|materias relacionadas|leia tambem|leia mais
    veja tambem|voce tambem pode gostar|voce pode gostar|ultimas noticias|mais lidas
    mais lidos|mais vistas|mais noticias|recomendados para voce|outras noticias
    lees ook|lees meer|lees verder|gerelateerde artikelen|gerelateerd|meest gelezen
    laatste nieuws|meer nieuws|ook interessant|aanbevolen|populair|meer lezen
    zobacz tez|zobacz takze|czytaj takze|czytaj tez|czytaj wiecej|przeczytaj takze
    przeczytaj rowniez|najnowsze|najnowsze wiadomosci|powiazane artykuly|powiazane
    najczesciej czytane|polecane|popularne|najpopularniejsze
    """
    )
)
# Header prefixes followed by a section or site name ("More from Reuters", "Mehr zu Berlin").
_LIST_HEADER_PREFIX_RE = re.compile(
    r"^(?:more (?:from|on|in|about)|other (?:news|stories) (?:from|in|on)|mas (?:sobre|de)"
    r"|plus (?:de|sur)|mehr (?:zu|aus|von|uber)|altro su|altre notizie (?:da|su)|mais sobre"
    r"|meer over|wiecej o)\s+\S"
)
# "Read also: <title>" on one line.
_READ_MORE_LINE_RE = re.compile(
    r"^(?:read (?:more|also|next)|also read|see also|related|more|lea tambien|lee tambien"
    r"|leer mas|lea mas|lee mas|le puede interesar|te puede interesar|lire aussi"
    r"|a lire aussi|voir aussi|lesen sie auch|lesen sie mehr|mehr zum thema|auch interessant"
    r"|leggi anche|leia tambem|leia mais|veja tambem|lees ook|czytaj takze|czytaj tez"
    r"|zobacz tez|zobacz takze)\s*(?::|\||>|»|›|-)\s*\S"
)

_COUNT_RE = re.compile(
    r"\b\d[\d.,  ]*\s*[km]?\+?\s*(?:views?|reads?|visits?|visitas|vistas|lecturas"
    r"|visualizaciones|vues|lectures|aufrufe|ansichten|mal gelesen|visualizzazioni|letture"
    r"|visualizacoes|leituras|weergaven|keer bekeken|wyswietle\w*|ods[lł]on\w*"
    r"|comments?|comentarios|commentaires|kommentare|commenti|reacties|komentarz\w*"
    r"|shares?|likes?|me gusta|j'aime|gefallt mir|mi piace|curtidas)\b"
)
_READ_TIME_RE = re.compile(
    r"(?:\b\d+\s*-?\s*(?:min(?:ute)?s?|mins?|minutos?|minuten|minuti|minut)\.?"
    r"\s*(?:read|de lectura|de lecture|lesezeit|lesedauer|di lettura|de leitura|leestijd"
    r"|czytania)\b|\b(?:reading time|tiempo de lectura|temps de lecture|lesezeit|lesedauer"
    r"|tempo di lettura|tempo de leitura|leestijd|czas czytania)\s*:?\s*\d)"
)

_SOCIAL = _words(
    "facebook twitter x whatsapp linkedin telegram email e-mail mail pinterest reddit print "
    "messenger instagram tiktok youtube threads bluesky flipboard tumblr copy link url sms "
    "imprimir imprimer drucken stampa copiar copier kopieren copia"
)
_SHARE_RE = re.compile(
    r"^(?:(?:share|compartir|comparte|compartilhe|compartilhar|partager|partagez|partage"
    r"|teilen|teile|condividi|condividere|partilhar|partilhe|delen|deel|udostepnij)"
    r"(?: (?:(?:this|the|este|esta|cet|cette|ce|diesen|dieses|diese|den|questo|questa|dit|deze"
    r"|ten|te) )?(?:article|story|post|page|link|video|articulo|noticia|nota|artigo|materia"
    r"|artikel|beitrag|articolo|notizia|pagina|bericht|artykul|wpis|l'article|l'articolo))?"
    r"(?: (?:on|via|with|en|por|sur|par|auf|per|uber|su|tramite|no|na|pelo|op|w) \S+(?: \S+)?)?"
    r"|(?:artikel|beitrag|diesen artikel|(?:diese|die) geschichte|diesen beitrag) teilen"
    r"|deel dit(?: artikel| bericht)?)$"
)
# The comment form and feedback prompts of blog and CMS templates (WordPress and the like),
# anywhere in a line of at most 40 words (folded; "post a comment" only at the start) ...
_COMMENT_FORM_RE = re.compile(
    r"\b(?:"
    + (
        r"leave a (?:reply|comment)|cancel reply|^(?:post|add|write|submit) (?:a |your )?comment"
        r"|your e-?mail address will not be published|required fields are marked"
        r"|notify me (?:of|when) (?:new|follow-up)|save my name,? e-?mail"
        r"|akismet|pingbacks?|trackbacks?"
        r"|(?:log|sign) ?in to (?:comment|reply)"
        # a comment's header line: "Jane says:", "Max sagt:", "Marie dit :"
        r"|^[\w .'-]{1,40} (?:says|said|wrote|commented|replied|sagt|schreibt|meint|dit|ecrit"
        r"|dice|escribio|scrive|diz|zegt|schreef) ?:(?=$)"
        r"|kommentar (?:schreiben|hinzufugen|verfassen|abschicken|absenden)"
        r"|(?:schreibe|hinterlasse|verfasse)(?:n sie)? einen kommentar|antwort abbrechen"
        r"|(?:deine|ihre) e-?mail-?adresse wird nicht veroffentlicht"
        r"|erforderliche felder sind (?:mit \S+ )?markiert|benachrichtige mich uber"
        r"|laisser un commentaire|laissez un commentaire|annuler la reponse"
        r"|votre adresse (?:e-?mail|de messagerie) ne sera pas publiee"
        r"|les champs obligatoires sont indiques|deja un comentario|deja una respuesta"
        r"|cancelar respuesta|tu direccion de correo electronico no sera publicada"
        r"|los campos obligatorios estan marcados|lascia un commento|annulla risposta"
        r"|il tuo indirizzo email non sara pubblicato|i campi obbligatori sono contrassegnati"
        r"|deixe (?:um comentario|uma resposta)|o seu endereco de e-?mail nao sera publicado"
        r"|laat een reactie achter|je e-?mailadres wordt niet gepubliceerd"
        r"|was this (?:article|page|post|story|information) (?:helpful|useful)"
        r"|(?:war|ist) dieser (?:artikel|beitrag) hilfreich"
        r"|fanden sie diesen (?:artikel|beitrag) (?:nutzlich|hilfreich)"
    )
    + r")(?:\b|(?<=:))"
)
# ... and comment buttons and headers on a line of their own (bare).
_COMMENT_BUTTON_RE = re.compile(
    r"^(?:reply|comment|comments|\d+ comments?|no comments|kommentieren|kommentare|kommentar"
    r"|antworten|keine kommentare|commenter|commentaires|repondre|comentar|comentarios"
    r"|responder|commenta|commenti|rispondi|reageren|reacties)(?: \w)?$"
)
_FOLLOW_RE = re.compile(
    r"^(?:follow us|follow (?:the )?[\w.@ ]{1,30} on\b|like us on|find us on|join us on"
    r"|siguenos|sigue(?:nos)? en|suivez[- ]nous|retrouvez-nous|folgen sie uns|folge uns"
    r"|seguici|seguinos|siga[- ]nos|sigam-nos|volg ons|obserwuj nas)\b"
)
_SUBSCRIBE_RE = re.compile(
    # unambiguous "subscribe" imperatives ...
    r"^(?:subscribe|suscri?bete|suscribase|abonnez-vous|s'abonner|abonnieren sie"
    r"|jetzt abonnieren|iscriviti|abbonati|assine|inscreva-se|abonneer|zapisz sie|subskrybuj"
    r"|zasubskrybuj)\b"
    # ... generic calls to action about a newsletter, an app or alerts ...
    r"|^(?:sign up|join|get|register|download|never miss|don't miss|receive|recibe|registrate"
    r"|descarga|inscrivez-vous|recevez|telechargez|melden sie sich|holen sie sich|laden sie"
    r"|ricevi|scarica|receba|baixe|cadastre-se|meld je aan|schrijf je in)\b.*"
    r"\b(?:newsletters?|inbox|updates|alerts|app|channel|notifications|boletin|nieuwsbrief"
    r"|podcast|whatsapp|telegram|briefing|digest|mailing list)\b"
    # ... and "our newsletter" anywhere.
    r"|\b(?:our|nuestro|nuestra|notre|unseren?|la nostra|nossa|onze|nasz)"
    r" (?:free |daily |weekly )?(?:newsletter|boletin|nieuwsbrief|app|podcast)\b"
)
_NAV_WORDS: frozenset[str] = frozenset(
    _phrases(
        """
    home|homepage|home page|menu|main menu|search|skip to content|skip to main content
    skip to navigation|back to top|back to home|go to top|toggle navigation|open menu|close menu
    close|sign in|log in|login|log out|register|my account|next|previous|next article
    previous article|next post|previous post|next story|previous story|more|see more|show more
    load more|view all|see all|view more|show all|continue reading|print|top|contact|contact us
    about|about us|terms of use|terms of service|terms and conditions|privacy policy|privacy
    cookie policy|accessibility|sitemap|site map|careers|faq|help
    inicio|portada|buscar|menu principal|iniciar sesion|entrar|siguiente|anterior|ver mas
    cargar mas|ver todo|ver todos|contacto|aviso legal|politica de privacidad|volver arriba
    accueil|rechercher|recherche|se connecter|connexion|suivant|precedent|voir plus|charger plus
    voir tout|mentions legales|politique de confidentialite|haut de page|retour en haut
    startseite|suche|anmelden|einloggen|weiter|zuruck|mehr anzeigen|mehr laden|alle anzeigen
    impressum|datenschutz|datenschutzerklarung|kontakt|nach oben|zum inhalt springen
    pagina iniziale|cerca|accedi|successivo|precedente|mostra altro|carica altro|vedi tutti
    contatti|torna su|note legali
    pagina inicial|pesquisar|buscar|entrar|proximo|ver mais|carregar mais|ver todos|voltar ao topo
    zoeken|inloggen|volgende|vorige|meer laden|bekijk alles|terug naar boven
    strona glowna|szukaj|zaloguj|zaloguj sie|dalej|wstecz|zobacz wiecej|pokaz wiecej|kontakt
    """
    )
)
_BREADCRUMB_RE = re.compile(
    r"^(?:home|homepage|inicio|portada|accueil|startseite|home page|pagina iniziale"
    r"|pagina inicial|strona glowna)\s*(?:>|»|›|/|\||::|-|→)\s*\S"
)
_MENU_SPLIT_RE = re.compile(r"\s+(?:\||•|·|»|›|/|::|→)\s+|\s*[|•·»›→]\s*")
_ADVERT_RE = re.compile(
    r"^(?:advertisement|advertising|advert|ad|ads|sponsored|sponsored content|paid content"
    r"|promoted|partner content|scroll to continue|scroll to continue with content"
    r"|continue reading below|story continues below(?: advertisement)?"
    r"|article continues below(?: advertisement)?|publicidad|anuncio|contenido patrocinado"
    r"|publicite|contenu sponsorise|anzeige|werbung|gesponsert|pubblicita|contenuto sponsorizzato"
    r"|publicidade|conteudo patrocinado|advertentie|gesponsord|reklama|material sponsorowany)$"
)
_COPYRIGHT_RE = re.compile(
    r"^(?:©|\(c\)|copyright\b)|\b(?:all rights reserved|todos los derechos reservados"
    r"|tous droits reserves|alle rechte vorbehalten|tutti i diritti riservati"
    r"|todos os direitos reservados|alle rechten voorbehouden|wszelkie prawa zastrzezone)\b"
)
_TAGS_RE = re.compile(
    r"^(?:tags?|tagged(?: with)?|topics|filed under|categories|category|themen|schlagworte"
    r"|schlagworter|getaggt(?: mit)?|verschlagwortet(?: mit)?|kategorien?|etiquetas|temas"
    r"|mots[- ]cles|sujets|argomenti|assuntos|onderwerpen|tagi)\s*:\s*\S"
    # "This entry was posted in <categories> and tagged <tags>" (blog templates)
    r"|^(?:this (?:entry|post) was posted in|posted in .{1,80} tagged"
    r"|dieser (?:beitrag|eintrag) wurde .{0,40}veroffentlicht"
    r"|cet article a ete publie dans|esta entrada fue publicada en"
    r"|questo articolo e stato pubblicato in)\b"
)
_PHOTO_CREDIT_RE = re.compile(
    r"^\(?(?:photo|photos|image|images|picture|pictures|foto|fotos|bild|bilder|imagen"
    r"|imagenes|credit|credits|image credit|photo credit|photograph|source|fuente|quelle"
    r"|credito)\s*(?::|by|de|von|par|di)\s+\S"
)
_FIELD_SEP_RE = re.compile(r"\s[-|·•]\s|·|•|\|")
_LONE_MARK_RE = re.compile(r"^[\W_]{1,4}$")
_ONLY_URLS_RE = re.compile(r"^(?:(?:https?://|www\.)\S+[\s,;|•·-]*)+$")
_DATELINE_WORDS = _words(
    """
    published updated posted last modified on at am pm by
    publicado actualizado el a las de hace
    publie mis a jour le a h
    veroffentlicht aktualisiert zuletzt am um uhr
    pubblicato aggiornato il alle ore
    atualizado em as
    gepubliceerd bijgewerkt op om
    opublikowano zaktualizowano dnia o
    gmt utc cet cest est edt pst pdt bst ist
    monday tuesday wednesday thursday friday saturday sunday
    mon tue tues wed thu thur thurs fri sat sun
    lunes martes miercoles jueves viernes sabado domingo
    lundi mardi mercredi jeudi vendredi samedi dimanche
    montag dienstag mittwoch donnerstag freitag samstag sonntag
    lunedi martedi mercoledi giovedi venerdi sabato domenica
    segunda terca quarta quinta sexta feira
    maandag dinsdag woensdag donderdag vrijdag zaterdag zondag
    """
)

_BYLINE_PREFIX_RE = re.compile(
    r"^(?:by|written by|words by|reporting by|reported by|story by|text by|posted by"
    r"|published by|por|escrito por|redactado por|von|text von|par|ecrit par|écrit par|di"
    r"|a cura di|door|geschreven door|autor|autora|author|auteur|autore|autrice|texto|texte"
    r"|text)\s*:?\s+(?=\S)",
    re.IGNORECASE,
)
_NAME_PARTICLES = _words(
    "de da del della dei di do dos das du van von der den ten ter la le bin ibn al el y e "
    "and und et en i &"
)
_BYLINE_SEP_RE = re.compile(r"\s*(?:,|;|\||•|·|/|\s-\s|\s–\s|\s—\s|–|—)\s*")


# --------------------------------------------------------------------------------------
# Units (paragraph-level pieces of the input)
# --------------------------------------------------------------------------------------


@dataclass
class _Unit:
    """One line or paragraph of the input with its features and its verdict."""

    text: str
    heading: int = 0  # Markdown heading level (0 = not a Markdown heading)
    item: bool = False  # list item
    bullet: str = ""  # the list item's marker ("-", "1.")
    link_only: bool = False  # nothing but links / URLs
    table: bool = False  # a Markdown table (rows joined by newlines)
    folded: str = ""
    bare: str = ""  # folded, punctuation stripped, single spaces
    tokens: list[str] = field(default_factory=list)
    words: int = 0
    density: float = 0.0
    ends: bool = False
    prose: bool = False
    consent: tuple[int, int, int] = (0, 0, 0)
    label: str = ""  # "" undecided, "good" body prose, "keep", "bad"
    reason: str = ""
    header: bool = False  # a related-list header
    date: str | None = None  # date carried by a byline / dateline
    byline: str | None = None


_BARE_RE = re.compile(r"[^\w'&+-]+")


def _make_unit(
    text: str, *, heading: int = 0, bullet: str = "", link_only: bool = False, table: bool = False
) -> _Unit:
    """A unit with its text features computed."""
    folded = _fold(text)
    bare = " ".join(_BARE_RE.sub(" ", folded).split()).strip("-' ")
    toks = _tokens(text)
    return _Unit(
        text=text,
        heading=heading,
        item=bool(bullet),
        bullet=bullet,
        link_only=link_only,
        table=table,
        folded=folded,
        bare=bare,
        tokens=toks,
        words=len(text.split()),
        ends=_ends_sentence(text),
    )


_MD_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_SETEXT_RE = re.compile(r"^\s{0,3}(={2,}|-{2,})\s*$")
_MD_RULE_RE = re.compile(r"^\s{0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
_MD_LIST_RE = re.compile(r"^\s{0,3}([-*+•]|\d{1,3}[.)])\s+(\S.*)$")
_TEXT_LIST_RE = re.compile(r"^([-*•▪●◦‣]|\d{1,3}[.)])\s+(\S.*)$")
_MD_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_MD_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_MD_AUTOLINK_RE = re.compile(r"<((?:https?://|www\.)[^>\s]+)>")
_MD_REFDEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_MD_STRONG_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_EM_RE = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![\w*])")
_MD_CODE_RE = re.compile(r"`([^`]*)`")
_MD_TABLE_ROW_RE = re.compile(r"^\|.*\|$")
_MD_TABLE_SEP_RE = re.compile(r"^[|:\-\s]+$")
_TABLE = -1  # pseudo heading level of a table while splitting Markdown
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][^<>]{0,300}>")


def _strip_inline_markdown(text: str, removed: list[Segment]) -> tuple[str, bool]:
    """Markdown inline markup removed: (plain text, whether it was nothing but links)."""
    for m in _MD_IMAGE_RE.finditer(text):
        removed.append(Segment(m.group(0), "image"))
    text = _MD_IMAGE_RE.sub("", text)
    text = _MD_AUTOLINK_RE.sub(r"\1", text)
    link_text = "".join(m.group(1) for m in _MD_LINK_RE.finditer(text))
    text = _MD_LINK_RE.sub(r"\1", text)
    text = _HTML_TAG_RE.sub("", text)
    text = _MD_CODE_RE.sub(r"\1", text)
    text = _MD_STRONG_RE.sub(r"\2", text)
    text = _MD_EM_RE.sub(r"\2", text)
    text = text.replace("\\", "") if "\\" in text else text
    text = " ".join(text.split())
    letters = sum(1 for c in text if c.isalnum())
    link_letters = sum(1 for c in link_text if c.isalnum())
    link_only = bool(letters) and link_letters >= 0.8 * letters
    return text, link_only or bool(text and _ONLY_URLS_RE.match(text))


def _split_markdown(text: str, removed: list[Segment], *, join_lines: bool) -> list[_Unit]:
    """Units of Markdown: headings, list items and paragraphs (inline markup stripped)."""
    raw: list[tuple[str, int, str]] = []  # (text, heading level, list bullet)
    para: list[str] = []

    def flush() -> None:
        if para:
            raw.append((" ".join(para), 0, ""))
            para.clear()

    for line in text.split("\n"):
        s = line.strip()
        if not s:
            flush()
            continue
        if _MD_REFDEF_RE.match(line):
            flush()
            removed.append(Segment(s, "link-list"))
            continue
        setext = _MD_SETEXT_RE.match(line)
        if setext and para and len(para) == 1:
            raw.append((para[0], 1 if setext.group(1)[0] == "=" else 2, ""))
            para.clear()
            continue
        if _MD_RULE_RE.match(line):
            flush()
            continue
        if _MD_TABLE_ROW_RE.match(s):
            flush()
            if not _MD_TABLE_SEP_RE.match(s):
                if raw and raw[-1][1] == _TABLE:
                    raw[-1] = (raw[-1][0] + "\n" + s, _TABLE, "")
                else:
                    raw.append((s, _TABLE, ""))
            continue
        m = _MD_HEADING_RE.match(line)
        if m:
            flush()
            if m.group(2):
                raw.append((m.group(2), len(m.group(1)), ""))
            continue
        m = _MD_LIST_RE.match(line)
        if m:
            flush()
            raw.append((m.group(2), 0, _bullet(m.group(1))))
            continue
        if s.startswith(">"):
            s = s.lstrip("> ").strip()
            if not s:
                continue
        if _LONE_MARK_RE.match(s):
            flush()
            raw.append((s, 0, ""))
            continue
        if line[:1].isspace() and raw and raw[-1][2] and not para:
            prev_text, level, bullet = raw[-1]
            raw[-1] = (prev_text + " " + s, level, bullet)
            continue
        para.append(s)
        if not join_lines:
            flush()
    flush()

    units = []
    for chunk, level, bullet in raw:
        if level == _TABLE:
            rows = [_strip_inline_markdown(row, removed)[0] for row in chunk.split("\n")]
            units.append(_make_unit("\n".join(rows), table=True))
            continue
        plain, link_only = _strip_inline_markdown(chunk, removed)
        if plain:
            units.append(_make_unit(plain, heading=level, bullet=bullet, link_only=link_only))
    return units


def _wrap_width(lines: Sequence[str], blocks: int) -> int:
    """The hard-wrap width of plain text, or 0 when its lines are not hard-wrapped."""
    lens = [len(x) for x in lines if len(x) >= 20]
    if blocks < 2 or len(lens) < 4:
        return 0
    widest = max(lens)
    if widest > 120:
        return 0
    near = sum(1 for n in lens if n >= 0.75 * widest)
    return widest if near >= 0.5 * len(lens) else 0


def _split_text(text: str, *, unwrap: bool) -> list[_Unit]:
    """Units of plain text: each line, or each blank-line block when hard-wrapped."""
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    lines = [x for x in text.split("\n") if x.strip()]
    width = _wrap_width(lines, len(blocks)) if unwrap else 0
    units: list[_Unit] = []
    for block in blocks:
        current: list[str] = []
        for line in (x.strip() for x in block.split("\n") if x.strip()):
            item = _TEXT_LIST_RE.match(line)
            if current and (
                not width or item or _LONE_MARK_RE.match(line) or len(current[-1]) < 0.6 * width
            ):
                units.append(_text_unit(" ".join(current)))
                current = []
            current.append(line)
        if current:
            units.append(_text_unit(" ".join(current)))
    return units


def _bullet(marker: str) -> str:
    """Output marker of a list item: numbers are kept, symbols become "-"."""
    return marker if marker[0].isdigit() else "-"


def _text_unit(line: str) -> _Unit:
    """A plain-text unit; bullets become list items, bare URLs count as links."""
    m = _TEXT_LIST_RE.match(line)
    if m:
        text = m.group(2)
        return _make_unit(
            text, bullet=_bullet(m.group(1)), link_only=bool(_ONLY_URLS_RE.match(text))
        )
    return _make_unit(line, link_only=bool(_ONLY_URLS_RE.match(line)))


# --------------------------------------------------------------------------------------
# Rules for single units
# --------------------------------------------------------------------------------------


def _consent_scores(u: _Unit) -> tuple[int, int, int]:
    """(topic, addressing, action) keyword hits of a possible consent banner."""
    topic = len(_CONSENT_TOPIC_RE.findall(u.folded))
    if not topic:
        return 0, 0, 0
    return (
        topic,
        len(_CONSENT_ADDRESS_RE.findall(u.folded)),
        len(_CONSENT_ACTION_RE.findall(u.folded)),
    )


def _is_consent_banner(u: _Unit, edge: bool, foreign: bool) -> bool:
    """A cookie/consent banner: consent topic *addressed to the visitor*, short or dense,
    and at the page's edges or in another language (a paragraph about cookie law is not)."""
    topic, address, action = u.consent
    if not topic or not (address or action) or u.words > 250:
        return False
    hits = topic + address + action
    if u.words <= 6:  # "Cookie settings", "We use cookies. OK"
        return edge or foreign
    if not address:
        return False
    if u.words <= 20:  # "This site uses cookies. Accept"
        return edge or foreign
    if edge or foreign:
        return hits >= 3
    return topic >= 2 and address >= 2 and hits >= 5 and hits / max(u.words, 1) >= 0.08


def _within_one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by at most one insertion, deletion or substitution."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


@lru_cache(maxsize=1)
def _header_index() -> dict[int, list[tuple[str, ...]]]:
    """List headers grouped by word count (for typo-tolerant matching)."""
    index: dict[int, list[tuple[str, ...]]] = {}
    for h in _LIST_HEADERS:
        words = tuple(h.replace("-", " ").replace("'", " ").split())
        index.setdefault(len(words), []).append(words)
    return index


def _is_list_header(u: _Unit) -> bool:
    """A "related news" / "you may also like" / "read more" style list header (typos of one
    letter in words of five letters or more are tolerated: "Lastest news")."""
    if u.words > 8 or not u.bare or (u.ends and not u.text.rstrip().endswith((":", "…"))):
        return False
    bare = u.bare
    if bare in _LIST_HEADERS or (_LIST_HEADER_PREFIX_RE.match(bare) and u.words <= 6):
        return True
    return _near_header(tuple(bare.replace("-", " ").replace("'", " ").split()))


@lru_cache(maxsize=8192)
def _near_header(words: tuple[str, ...]) -> bool:
    """Whether ``words`` are a list header's, each word of five letters or more allowed one
    typo (cached: scraped pages repeat their short lines)."""
    for cand in _header_index().get(len(words), ()):
        if all(
            w == c or (len(c) >= 5 and _within_one_edit(w, c))
            for w, c in zip(words, cand, strict=True)
        ):
            return True
    return False


def _is_share(u: _Unit) -> bool:
    """A share or follow-us prompt, or a row of social-network names."""
    if u.words > 12:
        return False
    bare = u.bare
    if _SHARE_RE.match(bare) or _FOLLOW_RE.match(bare):
        return True
    toks = bare.split()
    social = sum(1 for t in toks if t in _SOCIAL)
    return social >= 2 and social >= 0.6 * len(toks)


def _is_navigation(u: _Unit) -> bool:
    """Menu rows, breadcrumbs and UI words ("Skip to content", "Load more")."""
    if u.words > 15:
        return False
    if u.bare in _NAV_WORDS or _BREADCRUMB_RE.match(u.folded):
        return True
    if u.ends:
        return False
    parts = [p for p in _MENU_SPLIT_RE.split(u.text) if p.strip()]
    return len(parts) >= 3 and all(len(p.split()) <= 3 for p in parts)


def _is_dateline(u: _Unit) -> str | None:
    """ISO date of a line that is nothing but a (labelled) date, else None."""
    if u.words > 12:
        return None
    span = _find_date_span(u.text)
    if not span:
        return None
    iso, start, end = span
    rest = _fold(u.text)
    rest = rest[:start] + " " + rest[end:]
    rest = re.sub(r"\b\d{1,2}[:.h]\d\d\b|\b\d{1,2}\s?[ap]\.?m\.?\b", " ", rest)
    leftover = [t for t in _WORD_RE.findall(rest) if t not in _DATELINE_WORDS]
    return iso if not leftover else None


def _is_name_dateline(u: _Unit) -> bool:
    """A "Name | date time" line (comment and author headers): a name, a field separator,
    then nothing but a date and words of datelines."""
    if u.words > 12 or u.ends:
        return False
    parts = _FIELD_SEP_RE.split(u.text, maxsplit=1)
    if len(parts) != 2 or not _parse_name(parts[0]):
        return False
    return _is_dateline(_make_unit(parts[1].strip())) is not None


def _parse_name(text: str) -> str | None:
    """``text`` when it looks like a person's (or agency's) name: up to seven capitalised
    words, particles ("de", "van") and joiners ("and", "y") allowed."""
    text = text.strip(" .,:;|-")
    words = text.split()
    if not 1 <= len(words) <= 7:
        return None
    capitalised = 0
    for i, w in enumerate(words):
        core = w.strip(".,'’()")
        if not core:
            return None
        if core[0].isupper() and core.replace(".", "").replace("-", "").replace("'", "").isalpha():
            capitalised += 1
        elif i == 0 or core.lower() not in _NAME_PARTICLES:
            return None
    if words[-1].lower() in _NAME_PARTICLES:
        return None
    if len(words) == 1 and (_fold(text) in _MONTHS or _fold(text) in _DATELINE_WORDS):
        return None
    return text if capitalised else None


def _parse_byline(u: _Unit) -> tuple[str, str | None] | None:
    """(name, ISO date or None) of a "By Jane Doe", "Por Ana Ruiz | 3 March 2025" or
    "Jane Doe - Nov 12, 2025" line."""
    if u.words > 16 or _COUNT_RE.search(u.folded):
        return None
    text = u.text.strip()
    m = _BYLINE_PREFIX_RE.match(text)
    if m:
        rest = text[m.end() :]
        parts = _BYLINE_SEP_RE.split(rest, maxsplit=1)
        name = _parse_name(parts[0])
        tail = parts[1] if len(parts) > 1 else ""
        if name is None:
            # "By Jane Doe and John Roe" splits nowhere; "By Jane Doe 3 March 2025" needs the
            # date cut off first.
            span = _find_date_span(rest)
            if span and span[1] > 0:
                name = _parse_name(rest[: span[1]])
                tail = rest[span[1] :]
        if name is None or len(tail.split()) > 10:
            return None
        return name, find_date(tail) if tail else None
    # "Jane Doe - Nov 12, 2025": a name, a separator and a date, nothing else.
    parts = _BYLINE_SEP_RE.split(text, maxsplit=1)
    if len(parts) != 2:
        return None
    name = _parse_name(parts[0])
    if not name or not 2 <= len(name.split()) <= 4:
        return None
    tail_unit = _make_unit(parts[1])
    date = _is_dateline(tail_unit)
    return (name, date) if date else None


def _rule_reason(u: _Unit, *, edge: bool, foreign: bool) -> str | None:
    """Reason to drop ``u`` judged on its own (None: not boilerplate by itself)."""
    if _LONE_MARK_RE.match(u.text):
        return "empty-list-marker"
    if u.consent[0] and _is_consent_banner(u, edge, foreign):
        return "consent-banner"
    if _is_list_header(u):
        u.header = True
        return "related-list"
    if u.words > 40:
        return None
    if u.words <= 30 and _READ_MORE_LINE_RE.match(u.folded):
        return "read-more"
    if u.words <= 15 and (not u.ends or _FIELD_SEP_RE.search(u.text)):
        if _COUNT_RE.search(u.folded):
            return "view-count"
        if _READ_TIME_RE.search(u.folded):
            return "read-time"
    if _is_share(u):
        return "share-prompt"
    if _COMMENT_FORM_RE.search(u.folded) or _COMMENT_BUTTON_RE.match(u.bare):
        return "comment-form"
    if _SUBSCRIBE_RE.search(u.bare) and (edge or (u.words <= 15 and not u.prose)):
        return "subscribe-prompt"
    if _ADVERT_RE.match(u.bare):
        return "advertisement"
    if _is_navigation(u):
        return "navigation"
    if u.words <= 25 and _COPYRIGHT_RE.search(u.folded):
        return "copyright"
    if _TAGS_RE.match(u.folded):
        return "tags"
    if u.words <= 15 and _PHOTO_CREDIT_RE.match(u.folded) and not u.ends:
        return "photo-credit"
    if u.words <= 12 and "©" in u.text and not u.ends:
        return "photo-credit"
    return None


# --------------------------------------------------------------------------------------
# Document-level classification
# --------------------------------------------------------------------------------------


def _is_prose(u: _Unit, options: CleanOptions, has_lang: bool) -> bool:
    """Body prose on its own: long enough, made of sentences (a closing full stop, a sentence
    break inside, or 25 words and more) and, when the language is known, dense in its stop
    words (titles, menus and lists of names are not)."""
    if u.words < options.min_paragraph_words or u.link_only:
        return False
    sentence = (
        u.words >= 25
        or _ENDS_STATEMENT_RE.search(u.text) is not None
        or _SENTENCE_MARK_RE.search(u.text) is not None
    )
    if not sentence:
        return False
    return u.density >= options.min_stopword_density if has_lang else True


def _is_proseish(u: _Unit, has_lang: bool) -> bool:
    """A short paragraph that still reads as a sentence (a closing full stop, and stop words
    when it has more than two words)."""
    if u.link_only or not u.tokens:
        return False
    if not has_lang or u.words < 3:
        return u.ends
    return (u.ends and u.density >= 0.15) or (u.words >= 5 and u.density >= 0.3)


def _is_heading_like(u: _Unit) -> bool:
    """Short line without closing punctuation (a heading or a title)."""
    if u.heading:
        return True
    if u.item or u.link_only or u.table or not 1 <= u.words <= 20 or not u.tokens:
        return False
    return not _ENDS_PHRASE_RE.search(u.text)


def _similar(a: str, b: str) -> bool:
    """Whether two titles are the same up to case, punctuation and a site suffix."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return False
    if ta == tb:
        return True
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    if len(short) >= 3 and long_[: len(short)] == short:
        return True
    common = len(set(ta) & set(tb))
    return common >= 0.8 * max(len(set(ta)), len(set(tb)))


def _mark(u: _Unit, reason: str) -> None:
    """Label ``u`` as boilerplate (the first reason sticks)."""
    if u.label != "bad":
        u.label, u.reason = "bad", reason


@dataclass
class _Body:
    """What the plain-text cleaner found."""

    units: list[_Unit]
    language: str | None
    title: str | None = None
    byline: str | None = None
    date: str | None = None


@dataclass
class _Doc:
    """Units of one document with the document-level facts the rules need."""

    units: list[_Unit]
    lang: str | None
    has_lang: bool
    first: int  # index of the first prose unit (len(units) when none)
    last: int  # index of the last prose unit (-1 when none)
    lead_end: int  # end of the lead (title, standfirst, byline, date): the second prose unit

    def outside(self, i: int) -> bool:
        """Before the first or after the last prose unit."""
        return i < self.first or i > self.last

    def edge(self, i: int) -> bool:
        """In the boilerplate zones: outside the prose, or among the first/last two units."""
        return self.outside(i) or i < 2 or i >= len(self.units) - 2

    def foreign(self, u: _Unit) -> bool:
        """A paragraph clearly written in another language than the body."""
        if not self.lang or len(u.tokens) < 8 or u.density >= 0.15:
            return False
        other, cov = _guess_language(u.tokens)
        return other is not None and other != self.lang and cov >= 0.25


def _prepare(units: list[_Unit], options: CleanOptions) -> _Doc:
    """Consent scores, body language, stop-word densities and prose flags of ``units``."""
    sample: list[str] = []
    for u in units:
        u.consent = _consent_scores(u)
        if not (u.consent[0] and u.consent[1]) and not u.link_only and len(sample) < 3000:
            sample.extend(u.tokens)
    lang, _ = _guess_language(sample)
    stop = _stopwords(lang)
    for u in units:
        u.density = _density(u.tokens, stop)
        u.prose = _is_prose(u, options, bool(stop)) and not (u.consent[0] and u.consent[1])
    prose = [i for i, u in enumerate(units) if u.prose]
    n = len(units)
    first = prose[0] if prose else n
    long_ = [i for i in prose if units[i].words >= 30]
    lead_end = max(first, min(prose[1] if len(prose) > 1 else n, long_[0] if long_ else n))
    return _Doc(units, lang, bool(stop), first, prose[-1] if prose else -1, lead_end)


def _apply_rules(doc: _Doc, options: CleanOptions) -> None:
    """Label units that are boilerplate on their own; bylines and datelines at the edges."""
    n = len(doc.units)
    for i, u in enumerate(doc.units):
        if u.table:
            continue
        in_lead = i < doc.lead_end and i < 8
        near_edge = options.extract_byline and (in_lead or i > doc.last or i >= n - 3)
        parsed = _parse_byline(u) if near_edge and u.tokens else None
        if parsed:
            _mark(u, "byline")
            u.byline, u.date = parsed
            continue
        edge = doc.edge(i)
        reason = _rule_reason(u, edge=edge, foreign=edge and doc.foreign(u))
        if reason:
            _mark(u, reason)
        elif near_edge and (in_lead or i > doc.last) and _is_dateline(u):
            u.date = _is_dateline(u)
            _mark(u, "dateline")
        elif not u.prose and (_is_dateline(u) or _is_name_dateline(u)):
            _mark(u, "dateline")  # a timestamp inside the page: removed, not metadata


def _mark_consent_buttons(units: list[_Unit]) -> None:
    """Button lines ("Accept all", "Rechazar") next to a consent banner."""
    for i, u in enumerate(units):
        if (
            u.label != "bad"
            and u.words <= 5
            and _CONSENT_BUTTON_RE.match(u.bare)
            and any(v.reason == "consent-banner" for v in units[max(0, i - 3) : i + 4])
        ):
            _mark(u, "consent-banner")


def _mark_related_lists(units: list[_Unit]) -> None:
    """A list header with no prose after it (or only a few teaser sentences near the end)
    takes everything after it; elsewhere it takes the short, non-sentence lines after it."""
    n = len(units)
    prose_after = [0] * (n + 1)  # prose words after index i (suffix sums)
    chars_after = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        prose_after[i] = prose_after[i + 1] + (units[i].words if units[i].prose else 0)
        chars_after[i] = chars_after[i + 1] + len(units[i].text)
    for h, u in enumerate(units):
        if not u.header:
            continue
        prose, chars = prose_after[h + 1], chars_after[h + 1]
        if not prose or (prose < 50 and chars < 0.35 * chars_after[0]):
            for v in units[h + 1 :]:
                if v.reason in ("byline", "dateline"):  # a name in a related list is no byline
                    v.label, v.reason, v.byline, v.date = "", "", None, None
                _mark(v, "related-list")
            return
        for j in range(h + 1, n):
            v = units[j]
            if v.prose or v.heading or v.words > 25 or v.ends or v.label == "bad":
                break
            if j == h + 1 and j + 1 < n and units[j + 1].prose and _is_heading_like(v):
                break  # the header stands alone above a section heading
            _mark(v, "related-list")


def _mark_link_runs(doc: _Doc) -> None:
    """Runs of two or more link-only lines, and single link lines at the edges."""
    units, i, n = doc.units, 0, len(doc.units)
    while i < n:
        j = i
        while j < n and units[j].link_only:
            j += 1
        if j - i >= 2 or (j - i == 1 and doc.edge(i)):
            for v in units[i:j]:
                _mark(v, "link-list")
        i = max(j, i + 1)


def _mark_repeats(units: list[_Unit]) -> None:
    """Short non-sentence lines seen more than once (menus, "Advertisement" slots), unless
    they head a paragraph."""
    counts = Counter(u.bare for u in units if u.words <= 8 and u.bare and not u.table)
    for i, u in enumerate(units):
        if u.label == "bad" or u.table or u.words > 8 or u.ends or counts.get(u.bare, 0) < 2:
            continue
        if not (i + 1 < len(units) and units[i + 1].prose):
            _mark(u, "repeated-line")


def _mark_foreign(doc: _Doc) -> None:
    """Paragraphs outside the prose written in another language than the body."""
    for i, u in enumerate(doc.units):
        if u.label != "bad" and doc.outside(i) and doc.foreign(u):
            _mark(u, "foreign-language")


def _take_title(units: list[_Unit], first_good: int, title: str | None) -> str | None:
    """Remove the title line from the lead (the given title's copy, else the first Markdown
    h1 or heading-like line before the body) and return the title found."""
    lead = [i for i in range(first_good) if units[i].label != "bad"][:6]
    if title:
        for i in lead:
            if _similar(units[i].text, title):
                _mark(units[i], "title")
                break
        return None
    h1 = [i for i in lead if units[i].heading == 1]
    heads = [i for i in lead if _is_heading_like(units[i]) and not units[i].item]
    cands = (
        h1 or [i for i in heads if units[i].words >= 4] or [i for i in heads if units[i].words >= 2]
    )
    if not cands:
        return None
    _mark(units[cands[0]], "title")
    return units[cands[0]].text.strip()


def _mark_kickers(units: list[_Unit], first_good: int) -> None:
    """One- to three-word labels before the body ("World", "Health desk") are section
    kickers, not headings."""
    for u in units[:first_good]:
        if not u.label and not u.heading and u.words <= 3 and _is_heading_like(u):
            _mark(u, "navigation")


def _mark_duplicates(units: list[_Unit]) -> None:
    """Verbatim repeats of a kept paragraph."""
    seen: set[str] = set()
    for u in units:
        if u.label in ("good", "keep") and u.words >= 6:
            if u.bare in seen:
                _mark(u, "duplicate")
            seen.add(u.bare)


def _classify(
    units: list[_Unit], title: str | None, options: CleanOptions, *, extracted: bool = False
) -> _Body:
    """Label every unit "good"/"keep" (body) or "bad" (boilerplate, with a reason).

    Args:
        units: the document's units.
        title: a title already known.
        options: cleaning options.
        extracted: the units are a main-content extractor's output (HTML path): only rules
            that judge a unit on its own apply; position and neighbourhood guesses (short
            lines among boilerplate, repeated lines, kickers) are left to the extractor,
            which saw the page's structure.
    """
    doc = _prepare(units, options)
    _apply_rules(doc, options)
    _mark_consent_buttons(units)
    _mark_related_lists(units)
    _mark_link_runs(doc)
    if not extracted:
        _mark_repeats(units)
    _mark_foreign(doc)
    for u in units:
        if u.prose and u.label != "bad":
            u.label = "good"
    goods = [i for i, u in enumerate(units) if u.label == "good"]
    first_good = goods[0] if goods else len(units)

    body = _Body(units, doc.lang)
    if options.extract_title and (goods or title):
        body.title = _take_title(units, first_good, title)
    if goods and not extracted:
        _mark_kickers(units, first_good)
        _revise(units, doc.has_lang)
    else:  # extractor output, or no prose to compare with: keep what no rule removed
        for u in units:
            u.label = u.label or "keep"
    _mark_duplicates(units)
    for u in units:
        if u.reason == "byline" and u.byline and body.byline is None:
            body.byline = u.byline
        if u.reason in ("byline", "dateline") and u.date and body.date is None:
            body.date = u.date
    return body


# Main-text smoothing: a three-state Viterbi pass (before the text, in it, after it) over
# per-unit evidence. Staying in the text through a short line costs that line's (negative)
# evidence; coming back into the text after leaving it costs _REENTRY. So short lines between
# paragraphs stay, one text block wins over teasers, author boxes and promos standing apart
# from it, and a second block comes back only with enough prose to pay for it.
_REENTRY = 8.0  # at most; small documents: a share of their evidence
_MIN_REENTRY, _REENTRY_SHARE = 2.0, 0.3
_SKIP_COST = 0.25
_EVIDENCE = {
    "rule": -1.5,  # a unit a rule removed: boilerplate around it (it stays removed)
    "inline": -0.6,  # removed by a rule for things found inside articles too (captions, ads)
    "link": -1.0,  # a line of links
    "proseish": 0.3,  # a short sentence
    "subheading": 0.3,  # a heading-like line over a paragraph
    "list-after-prose": 0.1,  # list items right after a paragraph
    "item": -0.2,  # a list item or a table
    "short": -0.15,  # any other short line
}
_INLINE_REASONS = frozenset(
    "byline dateline photo-credit advertisement share-prompt title read-time "
    "empty-list-marker".split()
)
_PROSE_BASE, _PROSE_PER_WORD, _PROSE_CAP = 1.0, 0.04, 400


def _evidence(units: Sequence[_Unit], has_lang: bool) -> list[float]:
    """Log-odds-like evidence, per unit, that it belongs to the article's text."""
    out: list[float] = []
    for i, u in enumerate(units):
        nxt = units[i + 1] if i + 1 < len(units) else None
        if u.label == "bad":
            e = _EVIDENCE["inline" if u.reason in _INLINE_REASONS else "rule"]
        elif u.label == "good":
            e = _PROSE_BASE + min(u.words, _PROSE_CAP) * _PROSE_PER_WORD
        elif u.link_only:
            e = _EVIDENCE["link"]
        elif _is_proseish(u, has_lang):
            e = _EVIDENCE["proseish"]
        elif _is_heading_like(u) and nxt is not None and nxt.label == "good" and i and out[-1] > 0:
            e = _EVIDENCE["subheading"]  # between paragraphs (a menu's last item is not)
        elif u.item and i and (units[i - 1].label == "good" or (units[i - 1].item and out[-1] > 0)):
            e = _EVIDENCE["list-after-prose"]  # a list the paragraph before leads into
        elif u.item or u.table:
            e = _EVIDENCE["item"]
        else:
            e = _EVIDENCE["short"]
        out.append(e)
    return out


def _main_text_states(
    evidence: Sequence[float], reentry: float = _REENTRY, skip_cost: float = _SKIP_COST
) -> list[int]:
    """Best state per unit: 0 before the text, 1 in it, 2 after it (or between blocks).

    Args:
        evidence: per-unit evidence (positive: text).
        reentry: cost of coming back into the text after leaving it.
        skip_cost: share of the positive evidence lost by leaving a unit before the text
            (the text is the first block of prose that pays for itself, not a longer block
            later on, such as a comment thread).
    """
    neg = float("-inf")
    score = [0.0, neg, neg]
    back: list[tuple[int, int, int]] = []
    for e in evidence:
        to_text = max((score[0], 0), (score[1], 1), (score[2] - reentry, 2), key=lambda t: t[0])
        out = max((score[1], 1), (score[2], 2), key=lambda t: t[0])
        back.append((0, to_text[1], out[1]))
        score = [score[0] - skip_cost * max(e, 0.0), to_text[0] + e, out[0]]
    state = max(range(3), key=lambda k: score[k])
    states = [0] * len(evidence)
    for i in range(len(evidence) - 1, -1, -1):
        states[i] = state
        state = back[i][state]
    return states


def _revise(units: list[_Unit], has_lang: bool) -> None:
    """Decide every unit by the main-text pass: undecided lines in the text are kept,
    prose outside it is removed ("outside-main-text"), rule verdicts stand."""
    evidence = _evidence(units, has_lang)
    positive = sum(e for e in evidence if e > 0)
    reentry = min(_REENTRY, max(_MIN_REENTRY, _REENTRY_SHARE * positive))
    for u, state in zip(units, _main_text_states(evidence, reentry), strict=True):
        if u.label == "bad":
            continue
        if state == 1:
            u.label = u.label or "keep"
        elif u.label == "good":
            _mark(u, "outside-main-text")
        else:
            _mark(u, "boilerplate-cluster")


# --------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------


def _assemble(
    body: _Body, *, title: str | None, chars_in: int, removed: list[Segment]
) -> CleanedArticle:
    """The :class:`CleanedArticle` of classified units."""
    kept = [u for u in body.units if u.label in ("good", "keep")]
    paragraphs = [f"{u.bullet} {u.text}" if u.item else u.text for u in kept]
    text = "\n\n".join(paragraphs)
    is_heading = [
        bool(u.heading)
        or (
            u.label == "keep" and _is_heading_like(u) and i + 1 < len(kept) and not kept[i + 1].item
        )
        for i, u in enumerate(kept)
    ]
    headings = [u.text for u, h in zip(kept, is_heading, strict=True) if h]
    removed = removed + [Segment(u.text, u.reason) for u in body.units if u.label == "bad"]
    text_units = [u for u, h in zip(kept, is_heading, strict=True) if not (h or u.table)]
    last = text_units[-1] if text_units else None
    truncated = last is not None and not last.ends
    language = body.language
    if kept:
        language = _guess_language(_tokens(text))[0] or language
    return CleanedArticle(
        text=text,
        title=title or body.title,
        byline=body.byline,
        date=body.date,
        language=language,
        truncated=truncated,
        removed=removed,
        headings=headings,
        chars_in=chars_in,
    )


_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def _front_matter(text: str) -> tuple[str, dict[str, str]]:
    """Markdown without its YAML front matter, and the front matter's simple fields."""
    m = _FRONT_MATTER_RE.match(text)
    if not m or m.group(1).count("\n") > 60:
        return text, {}
    meta: dict[str, str] = {}
    for line in m.group(1).split("\n"):
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key[:1].isspace() and not key.startswith("-"):
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return (text[m.end() :], meta) if meta else (text, {})


def _clean_plain(
    text: str,
    *,
    markdown: bool,
    title: str | None,
    options: CleanOptions,
    chars_in: int,
    join_lines: bool = True,
    extracted: bool = False,
) -> CleanedArticle:
    """Clean plain text or Markdown (``extracted``: see :func:`_classify`)."""
    removed: list[Segment] = []
    meta: dict[str, str] = {}
    lines = text.count("\n")
    if lines > 5 * MAX_UNITS:  # splitting alone would take long: refuse before it
        raise ValueError(
            f"too many lines for one article ({lines:,}; the cleaner takes at most "
            f"{MAX_UNITS:,} paragraphs and lines)"
        )
    if markdown:
        body_text, meta = _front_matter(text)
        if meta:
            removed.append(Segment(text[: len(text) - len(body_text)].strip(), "front-matter"))
            title = title or meta.get("title") or None
        units = _split_markdown(body_text, removed, join_lines=join_lines)
    else:
        units = _split_text(text, unwrap=options.unwrap_lines)
    if len(units) > MAX_UNITS:
        raise ValueError(
            f"too many lines for one article ({len(units):,} paragraphs and lines; the "
            f"cleaner takes at most {MAX_UNITS:,})"
        )
    body = _classify(units, title, options, extracted=extracted)
    result = _assemble(body, title=title, chars_in=chars_in, removed=removed)
    author = meta.get("author") or meta.get("authors") or meta.get("byline")
    result.byline = result.byline or (author.strip("[]'\" ") if author else None)
    result.date = result.date or (find_date(meta["date"]) if meta.get("date") else None)
    return result


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------

_BLOCK_TAGS = _words(
    "p div li h1 h2 h3 h4 h5 h6 td th dt dd blockquote pre figcaption caption section "
    "article aside header footer nav button label summary address form ul ol table"
)
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "head")
_BOILER_ATTR_RE = re.compile(
    r"cookie|consent|gdpr|banner|related|share|social|newsletter|subscribe|promo|advert|\bads?\b"
    r"|sponsor|sidebar|menu|navbar|breadcrumb|footer|comment|popup|modal|recommend|trending",
    re.IGNORECASE,
)


def _parse_html(content: str) -> Any:
    """An lxml tree of ``content`` (None when lxml is missing or the page cannot be parsed)."""
    try:
        from lxml import html as lxml_html
    except ImportError:  # pragma: no cover - lxml comes with trafilatura
        return None
    try:
        return lxml_html.document_fromstring(content)
    except ValueError:  # a str with an XML encoding declaration: parse the bytes, as UTF-8
        try:  # (not as a <meta charset> of the original bytes says: the str is decoded)
            parser = lxml_html.HTMLParser(encoding="utf-8")
            return lxml_html.document_fromstring(content.encode("utf-8"), parser=parser)
        except Exception:  # noqa: BLE001 - any unparsable page gives no tree
            return None
    except Exception:  # noqa: BLE001 - any unparsable page gives no tree
        return None


def _html_blocks(content: str) -> tuple[list[tuple[str, str]], dict[str, str | None]]:
    """(tag, text) of the page's innermost text blocks, and basic metadata from <head>."""
    meta: dict[str, str | None] = {"title": None, "author": None, "date": None}
    tree = _parse_html(content)
    if tree is None:
        return [], meta
    head_title = tree.findtext(".//title")
    meta["title"] = " ".join(head_title.split()) if head_title else None
    for el in tree.iter("meta"):
        key = (el.get("name") or el.get("property") or "").lower()
        value = el.get("content")
        if not value:
            continue
        if key in ("author", "article:author", "dc.creator") and not meta["author"]:
            meta["author"] = value.strip()
        elif key in ("article:published_time", "date", "dc.date", "pubdate") and not meta["date"]:
            meta["date"] = find_date(value)
        elif key in ("og:title",) and value.strip():
            meta["title"] = value.strip()
    for bad in tree.xpath("|".join(f"//{t}" for t in _DROP_TAGS)):
        bad.drop_tree()
    blocks: list[tuple[str, str]] = []
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag not in _BLOCK_TAGS:
            continue
        if any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in el.iterdescendants()):
            own = " ".join((el.text or "").split())
            if own:
                blocks.append((el.tag, own))
            continue
        text = " ".join(el.text_content().split())
        if text:
            blocks.append((el.tag, text))
    return blocks, meta


def _fallback_html_text(content: str) -> tuple[str, dict[str, str | None]]:
    """Markdown-ish main text of a page without trafilatura: drop nav/header/footer/aside
    and elements whose class or id names boilerplate, keep headings, paragraphs and lists."""
    _, meta = _html_blocks(content)
    tree = _parse_html(content)
    if tree is None:  # no lxml or an unparsable page: strip the tags
        return _normalize(_HTML_TAG_RE.sub("\n", content)), meta
    for el in tree.xpath("//script|//style|//noscript|//template|//nav|//footer|//aside|//form"):
        el.drop_tree()
    for el in list(tree.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        attrs = " ".join(filter(None, (el.get("class"), el.get("id"), el.get("role"))))
        if attrs and _BOILER_ATTR_RE.search(attrs) and el.tag not in ("html", "body", "article"):
            el.drop_tree()
    root = next(
        (el for el in map(tree.find, (".//article", ".//main", ".//body")) if el is not None),
        tree,
    )
    lines: list[str] = []
    for el in root.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote"):
        text = " ".join(el.text_content().split())
        if not text:
            continue
        if el.tag[0] == "h":
            lines.append("#" * int(el.tag[1]) + " " + text)
        elif el.tag == "li":
            lines.append("- " + text)
        else:
            lines.append(text)
    return "\n\n".join(lines), meta


def _extract_html(content: str, url: str | None, options: CleanOptions) -> tuple[str, dict]:
    """Main text (Markdown-ish) and metadata of a page, by trafilatura; the simple extractor
    only when trafilatura finds no main text on the page. A broken trafilatura install raises
    (it is a core dependency), rather than quietly giving worse extraction."""
    import trafilatura

    try:
        doc: Any = trafilatura.bare_extraction(
            content,
            url=url,
            with_metadata=True,
            include_formatting=True,
            include_comments=options.include_comments,
            include_tables=options.include_tables,
            include_images=False,
            include_links=False,
            favor_precision=options.favor_precision,
            favor_recall=options.favor_recall,
            # no guessing from copyright years or "today": only dates the page states
            date_extraction_params={"extensive_search": False, "original_date": True},
            output_format="python",
        )
    except Exception:  # noqa: BLE001 - trafilatura raising is a failed extraction
        doc = None
    if doc is not None and (getattr(doc, "text", None) or "").strip():
        meta = {
            "title": getattr(doc, "title", None),
            "author": getattr(doc, "author", None),
            "date": getattr(doc, "date", None),
            "extracted": "trafilatura",
        }
        if options.include_comments:  # trafilatura keeps them apart, and so do we
            meta["comments"] = (getattr(doc, "comments", None) or "").strip() or None
        return str(doc.text), meta
    return _fallback_html_text(content)


def _html_block_reason(tag: str, u: _Unit, in_list: bool, banner: bool) -> str | None:
    """Reason for a page block the extractor left out (None: no rule applies)."""
    reason = _rule_reason(u, edge=True, foreign=False)
    if reason:
        return reason
    if banner and u.words <= 5 and _CONSENT_BUTTON_RE.match(u.bare):
        return "consent-banner"
    if in_list and tag in ("li", "a", "h3", "h4", "p", "div"):
        return "related-list"
    if _parse_byline(u):
        return "byline"
    if _is_dateline(u):
        return "dateline"
    if tag in ("nav", "li", "a") and u.words <= 6:
        return "navigation"
    return None


def _html_removed(content: str, kept_text: str, title: str | None) -> list[Segment]:
    """Page text blocks the extractor left out, each with the reason the rules give it."""
    blocks, _ = _html_blocks(content)
    kept = " " + " ".join(_BARE_RE.sub(" ", _fold(kept_text)).split()) + " "
    folded_title = " ".join(_BARE_RE.sub(" ", _fold(title)).split()) if title else ""
    out: list[Segment] = []
    seen: set[str] = set()
    in_list = banner = False
    for tag, text in blocks:
        folded = " ".join(_BARE_RE.sub(" ", _fold(text)).split())
        if not folded or folded in seen or f" {folded} " in kept or folded == folded_title:
            in_list = in_list and tag == "li"
            continue
        seen.add(folded)
        u = _make_unit(text)
        u.consent = _consent_scores(u)
        reason = _html_block_reason(tag, u, in_list, banner)
        in_list = u.header or (in_list and tag == "li")
        banner = banner or reason == "consent-banner"
        out.append(Segment(text, reason or "html-boilerplate"))
    return out


def _strip_site_name(title: str | None) -> str | None:
    """A page title without a trailing " | Site Name" (or " - Site Name")."""
    if not title:
        return None
    title = " ".join(str(title).split())
    for sep in (" | ", " – ", " — ", " - ", " :: ", " · "):
        head, found, tail = title.rpartition(sep)
        if found and len(tail.split()) <= 4 and len(head.split()) >= 3:
            return head
    return title


def _clean_html(
    content: str, *, title: str | None, url: str | None, options: CleanOptions
) -> CleanedArticle:
    """Clean an HTML page: trafilatura, then the plain-text cleaner on its output."""
    if not content.strip():
        return CleanedArticle(text="", title=title, chars_in=len(content))
    extracted, meta = _extract_html(content, url, options)
    known_title = title or _strip_site_name(meta.get("title"))
    result = _clean_plain(
        _normalize(extracted),
        markdown=True,
        title=known_title,
        options=options,
        chars_in=len(content),
        join_lines=False,
        extracted=meta.get("extracted") == "trafilatura",
    )
    author = meta.get("author")
    if author:
        result.byline = author.strip()
    date = meta.get("date")
    if date:
        result.date = find_date(str(date)) or result.date
    comments = meta.get("comments")
    if comments:
        # readers' comments as trafilatura found them, after the body: the body rules
        # (position, language of the body) do not apply to them
        result.text = f"{result.text}\n\n{_normalize(comments)}".strip()
    result.removed = _html_removed(content, result.text, known_title) + result.removed
    return result


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------

_FORMATS = {
    "text": "text",
    "txt": "text",
    "plain": "text",
    "markdown": "markdown",
    "md": "markdown",
    "html": "html",
    "htm": "html",
}
#: The most paragraphs and lines the plain-text cleaner takes from one article: far more
#: than any article has (a long one has a few hundred), so a file of a million short lines
#: is that file's error rather than minutes of work.
MAX_UNITS = 20_000
_HTML_SNIFF_RE = re.compile(r"^\s*(?:<!doctype html|<html\b|<head\b|<body\b)", re.IGNORECASE)


def clean(
    content: str,
    fmt: str = "text",
    *,
    title: str | None = None,
    url: str | None = None,
    options: CleanOptions | None = None,
) -> CleanedArticle:
    """Clean one scraped article.

    Args:
        content: the article as read ("text", "markdown" or "html").
        fmt: "text", "markdown" or "html" ("auto" sniffs HTML; unknown values mean text).
        title: a title already known (e.g. from a JSON record); it wins over one found.
        url: the article's URL (helps trafilatura with HTML).
        options: cleaning options (defaults when None).

    Returns:
        The cleaned article; empty input gives an empty body.

    Raises:
        ValueError: the text has more than :data:`MAX_UNITS` paragraphs and lines (no
            article has; the work would take minutes).
    """
    options = options or CleanOptions()
    title = " ".join(title.split()) if isinstance(title, str) and title.strip() else None
    raw = content if isinstance(content, str) else _normalize(content)
    kind = _FORMATS.get(str(fmt).lower().strip(". "), "auto" if fmt == "auto" else "text")
    if kind == "auto":
        kind = "html" if _HTML_SNIFF_RE.match(raw[:500]) else "text"
    if kind == "html":
        return _clean_html(raw, title=title, url=url, options=options)
    return _clean_plain(
        _normalize(raw),
        markdown=kind == "markdown",
        title=title,
        options=options,
        chars_in=len(raw),
    )
