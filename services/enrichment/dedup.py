"""Exact and near duplicates against recent articles.

Exact: equal hashes of the normalised title and body. Near: MinHash signatures of word
3-shingles, looked up in an LSH index (datasketch) at an estimated Jaccard similarity of 0.8.
The index holds the most recent articles this worker saw; at start-up it is refilled from the
news index (signatures are stored with each article), so a restart forgets nothing.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from datasketch import MinHash, MinHashLSH

from shared.contracts.ids import normalized_text

NUM_PERM = 64
SCHEME = "affine64"  # stored signatures must be read back with the scheme that made them
SHINGLE_WORDS = 3
NEAR_THRESHOLD = 0.8
CAPACITY = 50_000  # recent articles remembered; older ones are forgotten first

DuplicateKind = Literal["exact", "near"]


def content_hash(title: str, body: str) -> str:
    return hashlib.sha256(normalized_text(f"{title}\n{body}").encode()).hexdigest()


def signature(tokens: list[str]) -> list[int]:
    """MinHash of the word 3-shingles of the article's words (title and body)."""
    shingles = {" ".join(tokens[i:i + SHINGLE_WORDS])
                for i in range(max(1, len(tokens) - SHINGLE_WORDS + 1))}
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME, permutations=_permutations())
    minhash.update_batch([s.encode() for s in shingles])
    return [int(v) for v in minhash.hashvalues]


class DuplicateIndex:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.first_by_hash: dict[str, str] = {}
        self.recent: OrderedDict[str, str] = OrderedDict()  # article id → content hash
        self.arrival: dict[str, int] = {}  # article id → order seen, to pick the earliest
        self.seen = 0
        self.copies: set[str] = set()  # ids known to be duplicates themselves
        self.lsh = MinHashLSH(threshold=NEAR_THRESHOLD, num_perm=NUM_PERM)

    def find(self, article_id: str, digest: str, minhash: list[int]
             ) -> tuple[str | None, DuplicateKind | None]:
        """The earlier article this one duplicates, if any (never itself: replays are not
        duplicates)."""
        original = self.first_by_hash.get(digest)
        if original and original != article_id:
            return original, "exact"
        # Only an original can be what something duplicates; among those, the first seen.
        similar = [key for key in self.lsh.query(_minhash(minhash))
                   if key != article_id and key not in self.copies]
        if similar:
            return min(similar, key=lambda key: self.arrival[key]), "near"
        return None, None

    def add(self, article_id: str, digest: str, minhash: list[int], original: bool = True) -> None:
        """Remembers an article. An original owns its hash even if a copy was remembered first
        (start-up refills in date order, and a re-submitted original can be newer than its copy)."""
        owner = self.first_by_hash.get(digest)
        if owner is None or (original and owner in self.copies and owner != article_id):
            self.first_by_hash[digest] = article_id
        if not original:
            self.copies.add(article_id)
        if article_id in self.recent:
            return
        self.recent[article_id] = digest
        self.arrival[article_id] = self.seen
        self.seen += 1
        self.lsh.insert(article_id, _minhash(minhash))
        while len(self.recent) > self.capacity:
            old_id, old_digest = self.recent.popitem(last=False)
            self.lsh.remove(old_id)
            del self.arrival[old_id]
            self.copies.discard(old_id)
            if self.first_by_hash.get(old_digest) == old_id:
                del self.first_by_hash[old_digest]


def _minhash(values: list[int]) -> MinHash:
    return MinHash(num_perm=NUM_PERM, hashvalues=np.array(values, dtype=np.uint64), scheme=SCHEME,
                   permutations=_permutations())


@lru_cache(maxsize=1)
def _permutations() -> Any:
    """Drawing the permutations costs more than hashing an article: draw them once (same seed,
    so the same as every MinHash of ours would draw)."""
    return MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations
