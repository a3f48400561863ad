"""Duplicate and near-duplicate articles across a folder.

Exact duplicates share the hash of their normalised text (case-folded words only, so
re-wrapped lines, changed spacing or punctuation do not matter). Near-duplicates (the same
article with another footer, a changed sentence) are pairs whose sets of 5-word shingles have
a Jaccard similarity of at least the threshold (0.8 by default). Candidate pairs come from
MinHash signatures with locality-sensitive banding (numpy, 128 hashes in 32 bands of 4 rows:
pairs at Jaccard 0.8 become candidates with probability > 0.999), and every candidate is then
checked with the exact Jaccard of its shingle sets, so the answer does not depend on hash
luck beyond that. Groups are the connected components of the duplicate pairs.

The functions are pure and deterministic (hashes are blake2b, the permutations come from a
fixed seed).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "DuplicateIndex",
    "group_duplicates",
    "group_members",
    "jaccard",
    "normalised_hash",
    "shingles",
]

SHINGLE_WORDS = 5
NUM_HASHES = 128
BANDS = 32
_PRIME = 4_294_967_311  # smallest prime above 2**32
_WORD_RE = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    """Case-folded, NFKC-normalised word tokens of ``text``."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def normalised_hash(text: str) -> str:
    """Hash of ``text``'s words (case, spacing, line breaks and punctuation ignored).

    Args:
        text: an article's text.

    Returns:
        A hex digest; equal for texts that differ only in wrapping, case or punctuation.
    """
    return hashlib.blake2b(" ".join(_words(text)).encode("utf-8"), digest_size=16).hexdigest()


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[str]:
    """The set of ``size``-word shingles of ``text`` (one shingle when it is shorter).

    Args:
        text: an article's text.
        size: words per shingle.

    Returns:
        The shingles, each its words joined by one space; empty for a text without words.
    """
    words = _words(text)
    if not words:
        return frozenset()
    if len(words) <= size:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two sets (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def _permutations(num: int = NUM_HASHES, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Fixed random coefficients ``a`` (< 2**31, non-zero) and ``b`` of the hash family."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**31, size=num, dtype=np.uint64)
    b = rng.integers(0, 2**32, size=num, dtype=np.uint64)
    return a, b


def _signature(items: frozenset[str], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signature of a non-empty shingle set."""
    hashes = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=4).digest(), "little")
            for s in items
        ),
        dtype=np.uint64,
        count=len(items),
    )
    # a < 2**31 and hash < 2**32: a * hash + b < 2**64, no overflow in uint64
    values = (hashes[:, None] * a[None, :] + b[None, :]) % np.uint64(_PRIME)
    return np.asarray(values.min(axis=0))


def _candidate_pairs(sets: Mapping[str, frozenset[str]]) -> set[tuple[str, str]]:
    """Pairs of ids whose MinHash signatures agree on at least one band."""
    a, b = _permutations()
    rows = NUM_HASHES // BANDS
    buckets: dict[tuple[int, bytes], list[str]] = defaultdict(list)
    for key, items in sets.items():
        if not items:
            continue
        sig = _signature(items, a, b)
        for band in range(BANDS):
            buckets[(band, sig[band * rows : (band + 1) * rows].tobytes())].append(key)
    pairs: set[tuple[str, str]] = set()
    for members in buckets.values():
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                pairs.add((first, second))
    return pairs


class _UnionFind:
    """Disjoint sets of ids; the representative is the id that came first."""

    def __init__(self, order: Iterable[Any]) -> None:
        self.rank = {key: i for i, key in enumerate(order)}
        self.parent = {key: key for key in self.rank}

    def find(self, key: Any) -> Any:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, x: Any, y: Any) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            first, second = (rx, ry) if self.rank[rx] < self.rank[ry] else (ry, rx)
            self.parent[second] = first


def group_duplicates(texts: Mapping[str, str], threshold: float = 0.8) -> dict[str, str | None]:
    """Duplicate group of every text: exact duplicates and near-duplicates together.

    Args:
        texts: id -> cleaned text, in a stable order (e.g. sorted file order).
        threshold: Jaccard similarity of 5-word shingle sets from which two texts are
            near-duplicates (1.0: exact duplicates only).

    Returns:
        id -> ``"dup-<id of the group's first member>"`` (first in ``texts`` order), or None
        for a text with no duplicate (and for texts without words).
    """
    order = list(texts)
    uf = _UnionFind(order)
    by_hash: dict[str, str] = {}
    sets: dict[str, frozenset[str]] = {}
    for key in order:
        items = shingles(texts[key])
        if not items:
            continue
        digest = normalised_hash(texts[key])
        if digest in by_hash:
            uf.union(by_hash[digest], key)
            continue
        by_hash[digest] = key
        sets[key] = items
    if threshold < 1.0:
        for x, y in _candidate_pairs(sets):
            if jaccard(sets[x], sets[y]) >= threshold:
                uf.union(x, y)
    roots = {key: uf.find(key) for key in order}
    sizes: dict[str, int] = defaultdict(int)
    for root in roots.values():
        sizes[root] += 1
    return {key: f"dup-{root}" if sizes[root] > 1 else None for key, root in roots.items()}


def group_members(groups: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Group id -> its members' ids (in the order of ``groups``), from
    :func:`group_duplicates`'s result; unique texts are left out."""
    members: dict[str, list[str]] = defaultdict(list)
    for key, group in groups.items():
        if group is not None:
            members[group].append(key)
    return dict(members)


class DuplicateIndex:
    """Duplicate groups over a stream of texts, in memory that does not hold the texts.

    :meth:`add` keeps, per text, its normalised hash and the band hashes of its MinHash
    signature (about 300 bytes); :meth:`groups` finds the candidate pairs from equal band
    hashes and checks each with the exact Jaccard of the two texts' shingles, fetched again
    through ``text_of`` (from the records on disk), so the answer is the same as
    :func:`group_duplicates` on the whole folder at once.

    Args:
        threshold: Jaccard similarity from which two texts are near-duplicates.
    """

    def __init__(self, threshold: float = 0.8) -> None:
        self.threshold = threshold
        self.keys: list[str] = []
        self._first: dict[int, int] = {}  # normalised hash (64 bits) -> first index with it
        self._same: list[tuple[int, int]] = []  # exact duplicates (index, first index)
        self._bands = np.empty((1024, BANDS), dtype=np.uint64)  # per unique text, grown
        self._owners = np.empty(1024, dtype=np.int64)  # the index each row belongs to
        self._rows = 0
        self._a, self._b = _permutations()

    def add(self, key: str, text: str) -> None:
        """Take one text (in the order that names groups: the first member names it)."""
        index = len(self.keys)
        self.keys.append(key)
        items = shingles(text)
        if not items:
            return
        digest = int(normalised_hash(text)[:16], 16)
        if digest in self._first:
            self._same.append((index, self._first[digest]))
            return
        self._first[digest] = index
        if self.threshold < 1.0:
            sig = _signature(items, self._a, self._b).reshape(BANDS, -1)
            # one 64-bit hash per band: equal bands give equal hashes
            mixed = np.ascontiguousarray(sig).view(np.uint8).reshape(BANDS, -1)
            band_hashes = [
                int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little")
                for row in mixed
            ]
            if self._rows == len(self._owners):  # a quarter more room (little left unused)
                more = max(1024, self._rows // 4)
                self._bands = np.concatenate([self._bands, np.empty((more, BANDS), np.uint64)])
                self._owners = np.concatenate([self._owners, np.empty(more, np.int64)])
            self._bands[self._rows] = band_hashes
            self._owners[self._rows] = index
            self._rows += 1

    def __len__(self) -> int:
        return len(self.keys)

    def _candidates(self) -> set[tuple[int, int]]:
        if not self._rows:
            return set()
        bands, owners = self._bands[: self._rows], self._owners[: self._rows]
        pairs: set[tuple[int, int]] = set()
        for band in range(BANDS):
            column = bands[:, band]
            order = np.argsort(column, kind="stable")
            sorted_col = column[order]
            starts = np.flatnonzero(np.r_[True, sorted_col[1:] != sorted_col[:-1]])
            ends = np.r_[starts[1:], len(order)]
            for s, e in zip(starts, ends, strict=True):
                if e - s < 2:
                    continue
                members = sorted(owners[order[s:e]].tolist())
                for i, first in enumerate(members):
                    for second in members[i + 1 :]:
                        pairs.add((first, second))
        return pairs

    def groups(self, text_of: Callable[[str], str]) -> dict[str, str | None]:
        """Every key's duplicate group, as :func:`group_duplicates` gives it.

        Args:
            text_of: the text of a key (read again for candidate pairs only).
        """
        uf = _UnionFind(range(len(self.keys)))
        for index, first in self._same:
            uf.union(first, index)
        cache: dict[int, frozenset[str]] = {}

        def items(i: int) -> frozenset[str]:
            if i not in cache:
                if len(cache) > 1024:
                    cache.clear()
                cache[i] = shingles(text_of(self.keys[i]))
            return cache[i]

        for x, y in sorted(self._candidates()):
            if jaccard(items(x), items(y)) >= self.threshold:
                uf.union(x, y)
        roots = [uf.find(i) for i in range(len(self.keys))]
        sizes: dict[int, int] = defaultdict(int)
        for root in roots:
            sizes[root] += 1
        return {
            key: f"dup-{self.keys[root]}" if sizes[root] > 1 else None
            for key, root in zip(self.keys, roots, strict=True)
        }
