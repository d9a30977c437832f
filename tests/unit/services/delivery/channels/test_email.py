"""The email channel against a real SMTP server (aiosmtpd with STARTTLS and AUTH): the message
(text and HTML parts, one-click unsubscribe), and what the relay's answers mean."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.receivers import PASSWORD, USER, Mailbox, smtp_server
from services.delivery.channels import InvalidDestination, Outcome
from services.delivery.channels.email import EmailChannel
from shared.contracts.alerts import SampleArticle, SpikeFacts
from shared.http.outbound import OutboundPolicy
from shared.settings import Settings
from tests.unit.services.delivery.channels.conftest import an_alert, outgoing

UNSUBSCRIBE = "https://news.example/unsubscribe/tok123"


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    with smtp_server(tmp_path_factory.mktemp("smtp")) as box:
        yield box


def channel(box: Mailbox, allow: str = "127.0.0.1", **settings: object) -> EmailChannel:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1", "smtp_port": box.port, "smtp_username": USER, "smtp_password": PASSWORD,
        "smtp_ca_file": box.ca_file, "smtp_from": "newsflow <alerts@newsflow.example>", **settings}
    configured = Settings(**values)  # type: ignore[arg-type]
    return EmailChannel(configured, OutboundPolicy(allow, 5.0))


async def test_an_alert_arrives_over_starttls_with_both_parts_and_an_unsubscribe_link(
        relay: Mailbox, tmp_path: Path) -> None:
    result = await channel(relay).send(outgoing("desk@news.example", "email", unsubscribe_url=UNSUBSCRIBE))
    assert result.outcome is Outcome.DELIVERED, result
    received = relay.to("desk@news.example")[-1]
    assert relay.tls_sessions >= 1 and relay.logins[-1] == USER
    assert received["Subject"] == "[Harbour desk] Port of Zqx reopens <after> storm 1"
    assert received["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["X-Newsflow-Alert-Id"] == "al_1"
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and html is not None
    plain, marked_up = text.get_content(), html.get_content()
    assert "Port of Zqx reopens <after> storm 1" in plain and "Matched Zqx in the title" in plain
    assert UNSUBSCRIBE in plain and f'href="{UNSUBSCRIBE}"' in marked_up
    assert "&lt;after&gt;" in marked_up and "<after>" not in marked_up  # escaped in HTML
    assert 'href="https://news.example/1"' in marked_up


async def test_a_digest_lists_every_alert_and_a_spike_its_counts_and_samples(relay: Mailbox) -> None:
    alerts = [an_alert(1), an_alert(2)]
    await channel(relay).send(outgoing("digest@news.example", "email", alerts, digest=True,
                                       unsubscribe_url=UNSUBSCRIBE))
    digest = relay.to("digest@news.example")[-1]
    assert digest["Subject"] == "2 alerts for Harbour desk"
    body = digest.get_body(("plain",))
    assert body is not None and "storm 1" in body.get_content() and "storm 2" in body.get_content()
    spike = an_alert(3, kind="volume", volume=SpikeFacts(
        window="hour", count=14, baseline=1.5, baseline_windows=12, threshold=5,
        samples=[SampleArticle(article_id="a9", title="Zqx harbour closed again", source="AFP")]))
    await channel(relay).send(outgoing("spike@news.example", "email", [spike], unsubscribe_url=UNSUBSCRIBE))
    sent = relay.to("spike@news.example")[-1]
    assert sent["Subject"] == "[Harbour desk] Spike: Harbour desk (14 articles in the last hour)"
    plain = sent.get_body(("plain",))
    assert plain is not None
    assert "14 matching articles in the last hour, against 1.5 an hour over the 12 hours before" \
        in plain.get_content()
    assert "Zqx harbour closed again (AFP)" in plain.get_content()


@pytest.mark.parametrize(("code", "outcome"), [(550, Outcome.GONE), (451, Outcome.RETRY)])
async def test_a_refused_recipient_is_gone_or_retried_by_its_code(
        relay: Mailbox, code: int, outcome: Outcome) -> None:
    address = f"refused{code}@news.example"
    relay.refuse[address] = code
    result = await channel(relay).send(outgoing(address, "email"))
    assert result.outcome is outcome and result.status == code
    assert address in (result.reason or "")


async def test_a_wrong_login_an_unreachable_relay_and_a_refused_address_are_retried(relay: Mailbox) -> None:
    wrong = await channel(relay, smtp_password="nope").send(outgoing("x@news.example", "email"))
    assert wrong.outcome is Outcome.RETRY and "535" in (wrong.reason or "")
    refused = await channel(relay, allow="").send(outgoing("x@news.example", "email"))
    assert refused.outcome is Outcome.RETRY and "loopback" in (refused.reason or "")
    assert not relay.to("x@news.example")


async def test_addresses_are_checked_when_the_destination_is_made(relay: Mailbox) -> None:
    email = channel(relay)
    assert await email.check("Desk@News.Example") == "Desk@news.example"
    for bad in ("not an address", "desk@", "desk@localhost", "a@b@c.example"):
        with pytest.raises(InvalidDestination, match="not an email address"):
            await email.check(bad)
    unconfigured = EmailChannel(Settings(), OutboundPolicy())
    with pytest.raises(InvalidDestination, match="not configured"):
        await unconfigured.check("desk@news.example")
