"""API keys: shown once, stored hashed, revocable."""

from __future__ import annotations

from shared.http.api_keys import key_id_of, new_key, revoked, verify


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


def test_scopes_admin_implies_all_and_a_missing_scope_is_403() -> None:
    import pytest

    from shared.http.api_keys import authorize
    from shared.http.errors import ApiError

    admin, admin_key = new_key("ops", ["admin"])
    subscriber, subscriber_key = new_key("desk")  # the default: read and alerts
    keys = {admin.key_id: admin, subscriber.key_id: subscriber}
    for scope in ("ingest", "read", "alerts", "admin"):
        assert authorize(keys, admin_key, scope) == admin  # type: ignore[arg-type]
    assert subscriber.scopes == ["read", "alerts"]
    assert authorize(keys, subscriber_key, "alerts") == subscriber
    with pytest.raises(ApiError) as caught:
        authorize(keys, subscriber_key, "ingest")
    assert caught.value.status == 403 and "--scope ingest" in caught.value.message
    with pytest.raises(ApiError) as missing:
        authorize(keys, None, "read")
    assert missing.value.status == 401
