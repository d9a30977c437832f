"""API keys: shown once, stored hashed, revocable."""

from __future__ import annotations

from services.subscriptions.keys import key_id_of, new_key, revoked, verify


def test_a_key_verifies_against_its_hash_only() -> None:
    record, plaintext = new_key("desk")
    assert plaintext.startswith("nf_") and key_id_of(plaintext) == record.key_id
    assert plaintext.split("_", 2)[2] not in record.model_dump_json()  # the secret is not stored
    assert verify(record, plaintext)
    assert not verify(record, plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"))
    assert not verify(revoked(record), plaintext)
    assert not verify(None, plaintext)


def test_malformed_keys_have_no_id() -> None:
    for presented in ("", "nope", "nf_", "nf_abc", "Bearer nf_x_y"):
        assert key_id_of(presented) is None
