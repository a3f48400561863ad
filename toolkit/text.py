"""Text helpers shared by the summariser, the baselines and the metrics.

Sentence splitting by a few regular expressions (no model, no download), and a list of
English function words.
"""

from __future__ import annotations

import re

__all__ = ["STOP_WORDS", "split_sentences"]

#: English function words (lowercase).
STOP_WORDS = frozenset(
    """a about above after again against ago all almost along already also although always
    am among an and another any anyone anything are around as at be because been before being
    below between both but by can could did do does doing done down during each either else
    even ever every few for from further had has have having he her here hers herself him
    himself his how however i if in indeed instead into is it its itself just last least less
    let like many may maybe me meanwhile might mine more moreover most much must my myself
    neither never nevertheless next no nobody none nor not nothing now of off often on once one
    only onto or other others otherwise our ours ourselves out over own perhaps rather same
    several shall she should since so some someone something sometimes soon still such than
    that the their theirs them themselves then there thereby therefore these they this those
    though through thus to today together tomorrow tonight too toward towards under unless
    unlike until up upon us very via was we well were what whatever when whenever where whereas
    wherever whether which while who whoever whole whom whose why will with within without
    would yesterday yet you your yours yourself yourselves""".split()
)


#: Words that end in a period without ending a sentence (lowercase, without the period).
_ABBREVIATIONS = frozenset(
    """mr mrs ms mx dr prof st sr jr rev hon gen lt col capt cmdr cpl sgt maj adm gov sen rep
    pres supt insp det fr messrs mt ft no nos vol pp fig figs approx est vs etc al inc ltd co
    corp plc bros dept univ ave blvd rd jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri sat sun""".split()
)
#: Sentence-ending punctuation, optional closing quotes or brackets, then white space.
_BOUNDARY_RE = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*\s+")
_WIDE_BOUNDARY_RE = re.compile(r"(?<=[\u3002\uff01\uff1f])")  # 。！？ need no space after them
_LAST_WORD_RE = re.compile(r"(\S+?)[.!?\u2026]+[\"'\u201d\u2019)\]]*$")
_WINDOW = 120  # characters either side of a boundary that decide it
_FIRST_WORD_RE = re.compile(r"[\"'\u201c\u2018(\[]*([^\W_][\w'\u2019-]*)")


def _ends_sentence(before: str, after: str) -> bool:
    """Whether a candidate boundary between ``before`` and ``after`` ends a sentence."""
    first = _FIRST_WORD_RE.match(after)
    if not after or after[0].islower() or (first and first.group(1)[0].islower()):
        return False  # "the U.S. economy", "e.g. this": a sentence never starts lowercase
    last = _LAST_WORD_RE.search(before.rstrip())
    if last is None:
        return True
    word = last.group(1).lstrip("\"'\u201c\u2018([")
    if not before.rstrip().endswith("."):
        return True  # ! ? … always end a sentence
    is_abbrev = (
        word.lower() in _ABBREVIATIONS
        or (len(word) == 1 and word.isalpha())  # an initial: "J. K. Rowling"
        or re.fullmatch(r"(?:[^\W\d_]\.)+[^\W\d_]", word) is not None  # "U.S", "e.g"
    )
    if not is_abbrev:
        return True
    # After an abbreviation a sentence starts only with a function word: "... in the U.S. The"
    return first is not None and first.group(1).lower() in STOP_WORDS


def split_sentences(text: str) -> list[str]:
    """Split text into sentences with a few regular expressions (no model, no download).

    Line breaks always end a sentence. Otherwise a sentence ends at ``.``, ``!``, ``?`` or
    ``…`` (plus closing quotes or brackets) followed by white space and a word that does not
    start lowercase; after a period, not when the word before is a known abbreviation
    (``Mr.``, ``Dr.``, ``St.``, ``Jan.``), an initial (``J. K. Rowling``) or dotted
    (``U.S.``, ``e.g.``) — unless a function word (``The``, ``He``) follows. ``。！？`` end a
    sentence with no space after them.

    Returns:
        The sentences, stripped, empty ones dropped.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        for part in _WIDE_BOUNDARY_RE.split(line):
            start = 0
            for m in _BOUNDARY_RE.finditer(part):
                # the words either side decide; a window keeps long lines linear in time
                before = part[max(start, m.start() - _WINDOW) : m.end()]
                if _ends_sentence(before, part[m.end() : m.end() + _WINDOW]):
                    sentences.append(part[start : m.end()].strip())
                    start = m.end()
            sentences.append(part[start:].strip())
    return [s for s in sentences if s]
