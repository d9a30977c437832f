"""Exact and near duplicates against recent articles.

Exact: equal hashes of the normalised title and body. Near: MinHash signatures of word
3-shingles (shared/text/fingerprint.py), looked up in an LSH index (datasketch) at an estimated
Jaccard similarity of 0.8. The index holds the most recent articles the linker decided; a
restarted linker rebuilds it from its table of decisions (services/linking/memory.py).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

from datasketch import MinHashLSH

from shared.text.fingerprint import NUM_PERM, minhash_of

NEAR_THRESHOLD = 0.8
CAPACITY = 50_000  # recent articles remembered; older ones are forgotten first

DuplicateKind = Literal["exact", "near"]


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
        if not minhash:  # no signature (an article from before fingerprints): exact only
            return None, None
        # Only an original can be what something duplicates; among those, the first seen.
        similar = [key for key in self.lsh.query(minhash_of(minhash))
                   if key != article_id and key not in self.copies]
        if similar:
            return min(similar, key=lambda key: self.arrival[key]), "near"
        return None, None

    def add(self, article_id: str, digest: str, minhash: list[int], original: bool = True) -> None:
        """Remembers an article. An original owns its hash even if a copy was remembered first
        (a re-submitted original can be newer than its copy)."""
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
        self.lsh.insert(article_id, minhash_of(minhash))
        while len(self.recent) > self.capacity:
            old_id, old_digest = self.recent.popitem(last=False)
            self.lsh.remove(old_id)
            del self.arrival[old_id]
            self.copies.discard(old_id)
            if self.first_by_hash.get(old_digest) == old_id:
                del self.first_by_hash[old_digest]
