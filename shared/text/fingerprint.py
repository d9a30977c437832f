"""Article fingerprints, made by enrichment and compared by the linker: a hash of the normalised
text (equal hashes are exact duplicates) and a MinHash signature of its word 3-shingles
(datasketch), whose estimated Jaccard similarity finds near duplicates.

One module for both sides: a signature must be read back with the scheme and permutations
that made it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import numpy as np
from datasketch import MinHash

from shared.contracts.ids import normalized_text

NUM_PERM = 64
SCHEME = "affine64"
SHINGLE_WORDS = 3


def content_hash(title: str, body: str) -> str:
    return hashlib.sha256(normalized_text(f"{title}\n{body}").encode()).hexdigest()


def signature(tokens: list[str]) -> list[int]:
    """MinHash of the word 3-shingles of the article's words (title and body)."""
    shingles = {" ".join(tokens[i:i + SHINGLE_WORDS])
                for i in range(max(1, len(tokens) - SHINGLE_WORDS + 1))}
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME, permutations=_permutations())
    minhash.update_batch([s.encode() for s in shingles])
    return [int(v) for v in minhash.hashvalues]


def minhash_of(values: list[int]) -> MinHash:
    """A stored signature as a MinHash again."""
    return MinHash(num_perm=NUM_PERM, hashvalues=np.array(values, dtype=np.uint64), scheme=SCHEME,
                   permutations=_permutations())


@lru_cache(maxsize=1)
def _permutations() -> Any:
    """Drawing the permutations costs more than hashing an article: draw them once (same seed,
    so the same as every MinHash of ours would draw)."""
    return MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations
