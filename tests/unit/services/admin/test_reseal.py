"""`newsflow keys reseal`'s rule for a destination: every sealed part sealed again with the
first key, nothing else touched."""

from __future__ import annotations

from cryptography.fernet import Fernet

from services.admin.cli import _resealed
from shared.contracts.alerts import Destination, WebhookSecret
from shared.runtime.sealing import Sealer
from shared.settings import Settings


def test_a_destinations_sealed_parts_are_sealed_again_and_the_rest_left() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = Sealer(Settings(secrets_key=old))
    after = Sealer(Settings(secrets_key=f"{new},{old}"))
    slack = Destination(destination_id="d1", channel="slack", target=before.seal("https://hooks/x"),
                        secrets=[WebhookSecret(secret=before.seal("whsec_a"))],
                        unsubscribe_token=before.seal("tok"))
    email = Destination(destination_id="d2", channel="email", target="desk@news.example")
    resealed = _resealed(slack, after)
    only_new = Sealer(Settings(secrets_key=new))
    assert only_new.open(resealed.target) == "https://hooks/x"
    assert only_new.open(resealed.secrets[0].secret) == "whsec_a"
    assert resealed.unsubscribe_token is not None and only_new.open(resealed.unsubscribe_token) == "tok"
    assert _resealed(email, after).target == "desk@news.example"  # not sealed: left as it is
