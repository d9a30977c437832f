"""Exact and near duplicates."""

from __future__ import annotations

from services.linking.dedup import DuplicateIndex
from shared.text.fingerprint import content_hash, signature
from shared.text.wordforms import words


def test_exact_and_near_duplicates_but_not_replays() -> None:
    index = DuplicateIndex()
    text = " ".join(f"word{n}" for n in range(200))
    near = text.replace("word100", "changed")
    index.add("a", content_hash("T", text), signature(words(f"T {text}")))
    assert index.find("b", content_hash("t", f"  {text} "), signature(words(text))) == ("a", "exact")
    assert index.find("c", content_hash("T", near), signature(words(f"T {near}"))) == ("a", "near")
    assert index.find("a", content_hash("T", text), signature(words(f"T {text}"))) == (None, None)
    other = " ".join(f"other{n}" for n in range(200))
    assert index.find("d", content_hash("T", other), signature(words(other))) == (None, None)


def test_an_original_stays_the_original_whatever_the_order_it_is_remembered_in() -> None:
    text = " ".join(f"word{n}" for n in range(200))
    digest, minhash = content_hash("T", text), signature(words(f"T {text}"))
    index = DuplicateIndex()
    index.add("copy", digest, minhash, original=False)  # remembered first: a re-submitted original is newer
    index.add("first", digest, minhash, original=True)
    assert index.find("first", digest, minhash) == (None, None)  # re-submitted original
    assert index.find("another", digest, minhash) == ("first", "exact")
