"""Pairs of submissions ranked by what they share, found through inverted indexes.

Nothing here compares two texts.  Each fingerprint (and each wrong-answer
signature) points to the submissions that hold it; a pair is scored only from
the fingerprints it shares, so the work grows with the postings of rare
fingerprints, not with the number of pairs.  Rarity decides the weight:

* a fingerprint held by more than ``max(COMMON_MIN, COMMON_SHARE * n)`` of the
  ``n`` submissions is ignored, as MOSS's ``-m``: the answer everyone writes;
* below that, it weighs ``log(n / df) / log(n / 2)`` (1 when only the pair holds
  it), so a fragment a fifth of the class wrote counts for little.

A pair's code score is the share of the smaller submission's weight that the
pair shares, times ``shared / (shared + HALF)``: a few rare fingerprints two
students who wrote almost nothing of their own share by chance are a large share
but little evidence, and do not make a high score; a whole submission copied does.  Its answer score
grows with each wrong-answer signature the two share, by the square of its
weight: a mistake a quarter of the class makes is no evidence, one nobody else
made is strong.  The two combine as independent evidence: ``1 - (1 - code)(1 - answers)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["COMMON_MIN", "COMMON_SHARE", "Frequency", "Pair", "common_cut", "rank", "groups"]

COMMON_MIN = 10        # MOSS's -m default
COMMON_SHARE = 0.02    # ... or this share of a large class
HALF = 4.0             # shared weight (about four rare fingerprints) that counts half
ANSWER_STRENGTH = 0.5  # what one wrong answer shared with nobody else scores


@dataclass
class Pair:
    """Two submissions and why they look alike (``a`` < ``b``, indexes into the class)."""

    a: int
    b: int
    score: float = 0.0
    code: float = 0.0
    shared: float = 0.0          # fraction of the smaller submission's own (weighted) code shared
    fingerprints: int = 0        # rare fingerprints shared
    wrong: list = field(default_factory=list)   # (evidence, holders) of each shared wrong answer
    answers: float = 0.0
    group: int | None = None


def common_cut(n: int) -> int:
    """Fingerprints held by more submissions than this are ignored."""
    return max(COMMON_MIN, math.ceil(COMMON_SHARE * n))


def weights(df: np.ndarray, n: int) -> np.ndarray:
    """The weight of fingerprints held by ``df`` of ``n`` submissions (see the module)."""
    df = np.asarray(df, dtype=np.float64)
    if n <= 2:
        return np.where(df <= common_cut(n), 1.0, 0.0)
    w = np.clip(np.log(n / np.maximum(df, 1.0)) / math.log(n / 2.0), 0.0, 1.0)
    return np.where(df <= common_cut(n), w * w, 0.0)


class Frequency:
    """How many submissions hold each fingerprint (for the pages: which matches to show)."""

    def __init__(self, hashes: np.ndarray, counts: np.ndarray, n: int):
        self.hashes, self.counts, self.n = hashes, counts, n

    def weight(self, fingerprint: int) -> float:
        """The weight of one fingerprint in this class (0 when it is unknown or common)."""
        at = int(np.searchsorted(self.hashes, fingerprint))
        if at >= len(self.hashes) or self.hashes[at] != fingerprint:
            return 0.0
        return float(weights([self.counts[at]], self.n)[0])


def _code_pairs(fingerprints: list, n: int):
    """(pair keys a * n + b, shared weight, shared count), each submission's total weight,
    and the fingerprints' frequencies."""
    lengths = np.fromiter((len(f) for f in fingerprints), dtype=np.int64, count=n)
    hashes = np.fromiter((h for f in fingerprints for h in f), dtype=np.int64,
                         count=int(lengths.sum()))
    owners = np.repeat(np.arange(n, dtype=np.int64), lengths)
    order = np.lexsort((owners, hashes))
    hashes, owners = hashes[order], owners[order]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]]) if len(hashes) else owners
    counts = np.diff(np.r_[starts, len(hashes)])
    frequency = Frequency(hashes[starts], counts, n)
    w = weights(counts, n)
    totals = np.bincount(owners, weights=np.repeat(w, counts), minlength=n)
    keys, shared = [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    for size in np.unique(counts[(counts >= 2) & (w > 0)]):
        chosen = (counts == size) & (w > 0)
        members = owners[starts[chosen][:, None] + np.arange(size)]   # groups x size, sorted rows
        i, j = np.triu_indices(size, 1)
        keys.append((members[:, i] * n + members[:, j]).ravel())
        shared.append(np.repeat(w[chosen], len(i)))
    keys, shared = np.concatenate(keys), np.concatenate(shared)
    unique, inverse = np.unique(keys, return_inverse=True)
    return (unique, np.bincount(inverse, weights=shared, minlength=len(unique)),
            np.bincount(inverse, minlength=len(unique)).astype(np.int64), totals, frequency)


def _answer_pairs(signatures: list[dict], n: int) -> dict[tuple[int, int], list]:
    """(a, b) -> [(evidence, holders, weight)] for each wrong answer the pair shares."""
    holders: dict[str, list[int]] = {}
    for index, found in enumerate(signatures):
        for signature in found:
            holders.setdefault(signature, []).append(index)
    out: dict[tuple[int, int], list] = {}
    for signature, who in holders.items():
        weight = float(weights([len(who)], n)[0]) if len(who) >= 2 else 0.0
        if weight <= 0:
            continue
        for x in range(len(who)):
            for y in range(x + 1, len(who)):
                out.setdefault((who[x], who[y]), []).append(
                    (signatures[who[x]][signature], len(who), weight))
    return out


def rank(fingerprints: list, signatures: list[dict],
         threshold: float) -> tuple[list[Pair], Frequency]:
    """Every pair scoring at least ``threshold``, best first, and the fingerprints' frequencies.

    ``fingerprints``: each submission's set of code fingerprints; ``signatures``:
    each submission's wrong answers (signature -> evidence), in the same order.
    """
    n = len(fingerprints)
    keys, shared, counts, totals, frequency = _code_pairs(fingerprints, n)
    a, b = keys // max(n, 1), keys % max(n, 1)
    smaller = np.minimum(totals[a], totals[b])
    fraction = np.minimum(np.divide(shared, smaller, out=np.zeros_like(shared),
                                    where=smaller > 0), 1.0)
    code = fraction * shared / (shared + HALF)

    def pair(x: int) -> Pair:
        return Pair(int(a[x]), int(b[x]), code=float(code[x]), shared=float(fraction[x]),
                    fingerprints=int(counts[x]))

    # code alone scores most pairs low: only those that could reach the threshold become objects
    pairs = {(p.a, p.b): p for p in map(pair, np.flatnonzero(code >= threshold * 0.5))}
    for (x, y), evidence in _answer_pairs(signatures, n).items():
        if (x, y) not in pairs:
            at = int(np.searchsorted(keys, x * n + y))
            found = at < len(keys) and keys[at] == x * n + y
            pairs[x, y] = pair(at) if found else Pair(x, y)
        pairs[x, y].wrong = [(text, holders) for text, holders, _ in evidence]
        pairs[x, y].answers = 1.0 - math.prod(1.0 - ANSWER_STRENGTH * w * (2.0 / holders) ** 2
                                              for _, holders, w in evidence)
    out = []
    for found in pairs.values():
        found.score = 1.0 - (1.0 - found.code) * (1.0 - found.answers)
        if found.score >= threshold:
            out.append(found)
    out.sort(key=lambda p: (-p.score, p.a, p.b))
    return out, frequency


def groups(pairs: list[Pair], minimum: int = 3) -> list[list[int]]:
    """Connected components of ``pairs`` with at least ``minimum`` submissions, largest first;
    sets each pair's ``group`` to its component's number."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        parent[root(pair.a)] = root(pair.b)
    members: dict[int, list[int]] = {}
    for x in parent:
        members.setdefault(root(x), []).append(x)
    found = sorted((sorted(m) for m in members.values() if len(m) >= minimum),
                   key=lambda m: (-len(m), m))
    number = {x: g for g, m in enumerate(found) for x in m}
    for pair in pairs:
        pair.group = number.get(pair.a)
    return found
