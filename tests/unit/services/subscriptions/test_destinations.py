"""Destinations as the API takes them: checked by their channel, secrets made once and sealed,
a destination given again kept as it was, and the limits."""

from __future__ import annotations

import pytest

from services.delivery.channels import CHANNELS
from services.subscriptions.destinations import DestinationIn, Destinations
from services.subscriptions.store import AlertStore
from shared.http.errors import ApiError
from shared.settings import Settings

# Literal global addresses: these machines resolve no names.
SLACK = "https://1.1.1.1/services/T0ABC/B0DEF/Xyz123"
HOOK = "https://1.0.0.1/h"


@pytest.fixture
async def views() -> Destinations:
    settings = Settings(namespace="unit", smtp_host="relay.example", max_destinations=3,
                        slack_webhook_patterns=[r"https://1\.1\.1\.1/services/T[A-Z0-9]+/B[A-Z0-9]+/\w+"])
    return Destinations(settings, AlertStore(settings))


def test_every_channel_module_is_found() -> None:
    assert set(CHANNELS) == {"webhook", "email", "slack", "teams"}


async def test_new_destinations_get_ids_sealed_secrets_and_an_unsubscribe_token(views: Destinations) -> None:
    chosen, shown = await views.checked([DestinationIn(channel="webhook", target=HOOK),
                                         DestinationIn(channel="slack", target=SLACK),
                                         DestinationIn(channel="email", target="Desk@News.Example")], [])
    hook, slack, email = chosen
    assert list(shown) == [hook.destination_id] and shown[hook.destination_id].startswith("whsec_")
    assert hook.secrets[0].secret.startswith("fernet:")  # sealed on the topic
    assert slack.target.startswith("fernet:") and views.target_of(slack) == SLACK  # a secret URL
    assert email.target == "Desk@news.example" and email.unsubscribe_token_sha256
    assert views.shown_target(slack) == "https://1.1.1.1/services/T0ABC/B0DEF/…"


async def test_a_destination_given_again_is_kept_with_its_id_and_secret(views: Destinations) -> None:
    first, _ = await views.checked([DestinationIn(channel="slack", target=SLACK),
                                    DestinationIn(channel="webhook", target=HOOK)], [])
    again, shown = await views.checked([DestinationIn(channel="slack", target=SLACK),
                                        DestinationIn(channel="slack", target=SLACK)], first)
    assert again == [first[0]] and shown == {}  # the webhook dropped, Slack once, as it was


async def test_too_many_unknown_channels_and_bad_targets_are_400s(views: Destinations) -> None:
    many = [DestinationIn(channel="email", target=f"d{n}@news.example") for n in range(4)]
    for wanted, message in ((many, "at most 3"),
                            ([DestinationIn(channel="fax", target="1")], "unknown channel 'fax'"),
                            ([DestinationIn(channel="email", target="a@news.example"),
                              DestinationIn(channel="email", target="nope")], "destination 2 (email)")):
        with pytest.raises(ApiError) as error:
            await views.checked(wanted, [])
        assert error.value.status == 400 and message in error.value.message
