"""Slack and Teams incoming webhooks (and the webhook channel) against a real local receiver:
their message formats, what their answers mean, and which URLs each accepts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from services.delivery.channels import Channel, InvalidDestination, Outcome, make_channels
from shared.contracts.alerts import BreakingFacts, WebhookSecret
from shared.settings import Settings
from tests.loopback import serving
from tests.unit.services.delivery.channels.conftest import AT, an_alert, outgoing

SLACK_PATH = "/services/T0ABC/B0DEF/Xyz123"
TEAMS_PATH = "/workflows/0a1b/triggers/manual/paths/invoke?api-version=2016-06-01&sig=abc"
LOCAL_SLACK = r"http://127\.0\.0\.1:\d+/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"
LOCAL_TEAMS = r"http://127\.0\.0\.1:\d+/workflows/[0-9a-f]+/triggers/\w+/paths/invoke\?\S+"


@dataclass
class Receiver:
    port: int
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    answer: tuple[int, str, dict[str, str]] = (200, "ok", {})

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.Response:
        text = await request.text()
        self.raw.append(text)
        self.bodies.append(json.loads(text))
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        status, body, headers = self.answer
        return web.Response(status=status, text=body, headers=headers)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    box = Receiver(0)
    async with serving(box.handle) as port:
        box.port = port
        yield box


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


def channels(session: aiohttp.ClientSession | None = None, allow: str = "127.0.0.1") -> dict[str, Channel]:
    return make_channels(Settings(outbound_allow=allow, slack_webhook_patterns=[LOCAL_SLACK],
                                  teams_webhook_patterns=[LOCAL_TEAMS]), session)


async def test_slack_gets_block_kit_with_a_fallback_text(receiver: Receiver,
                                                         session: aiohttp.ClientSession) -> None:
    result = await channels(session)["slack"].send(outgoing(receiver.url(SLACK_PATH), "slack"))
    assert result.outcome is Outcome.DELIVERED
    message = receiver.bodies[-1]
    assert message["text"] == "Port of Zqx reopens <after> storm 1"
    blocks = message["blocks"]
    assert isinstance(blocks, list) and blocks[0]["type"] == "header"
    section = blocks[1]["text"]["text"]
    # Slack's mrkdwn: a link as <url|text>, and the text's own < > & escaped
    assert section.startswith("<https://news.example/1|Port of Zqx reopens &lt;after&gt; storm 1>")
    assert "Reuters · 02 Dec 2026 09:30 UTC" in section and "_Matched Zqx in the title_" in section
    assert blocks[-1]["elements"][0]["text"] == "newsflow · Harbour desk"


async def test_a_digest_to_slack_is_one_message_with_at_most_twenty_alerts(
        receiver: Receiver, session: aiohttp.ClientSession) -> None:
    alerts = [an_alert(n) for n in range(25)]
    await channels(session)["slack"].send(outgoing(receiver.url(SLACK_PATH), "slack", alerts, digest=True))
    message = receiver.bodies[-1]
    assert message["text"] == "25 alerts for Harbour desk"
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) == 20 and len(message["blocks"]) <= 50
    assert any("and 5 more" in json.dumps(b) for b in message["blocks"])


async def test_teams_gets_an_adaptive_card_with_the_sources_of_a_breaking_story(
        receiver: Receiver, session: aiohttp.ClientSession) -> None:
    breaking = an_alert(1, kind="breaking", breaking=BreakingFacts(
        sources=["Reuters", "AFP", "BBC"], needed=3, within_minutes=30, first_at=AT))
    result = await channels(session)["teams"].send(outgoing(receiver.url(TEAMS_PATH), "teams", [breaking]))
    assert result.outcome is Outcome.DELIVERED
    message = receiver.bodies[-1]
    assert message["type"] == "message"
    attachment = message["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [item["text"] for item in card["body"]]
    assert texts[0] == "[Breaking: Port of Zqx reopens <after> storm 1](https://news.example/1)"
    assert "3 independent sources within 30 minutes: Reuters, AFP, BBC" in texts
    assert card["actions"][0] == {"type": "Action.OpenUrl", "title": "Read", "url": "https://news.example/1"}


@pytest.mark.parametrize(("name", "path", "status", "body", "outcome"), [
    ("slack", SLACK_PATH, 404, "no_service", Outcome.GONE),
    ("slack", SLACK_PATH, 410, "channel_is_archived", Outcome.GONE),
    ("slack", SLACK_PATH, 400, "invalid_payload", Outcome.FAILED),
    ("slack", SLACK_PATH, 500, "rollup_error", Outcome.RETRY),
    ("teams", TEAMS_PATH, 403, "", Outcome.GONE),
    ("teams", TEAMS_PATH, 413, "", Outcome.FAILED),
    ("teams", TEAMS_PATH, 200, "Microsoft Teams endpoint returned HTTP error 429", Outcome.RETRY),
    ("teams", TEAMS_PATH, 202, "", Outcome.DELIVERED),
    ("webhook", "/hook", 410, "", Outcome.GONE),
    ("webhook", "/hook", 404, "", Outcome.RETRY),
])
async def test_what_each_receivers_answer_means(receiver: Receiver, session: aiohttp.ClientSession, name: str,
                                                path: str, status: int, body: str, outcome: Outcome) -> None:
    receiver.answer = (status, body, {})
    result = await channels(session)[name].send(outgoing(receiver.url(path), name))
    assert result.outcome is outcome, result
    if outcome is not Outcome.DELIVERED:
        assert result.status == status and (not body or body in (result.reason or ""))


async def test_a_throttled_receiver_is_retried_no_sooner_than_it_asks(
        receiver: Receiver, session: aiohttp.ClientSession) -> None:
    receiver.answer = (429, "rate_limited", {"Retry-After": "30"})
    result = await channels(session)["slack"].send(outgoing(receiver.url(SLACK_PATH), "slack"))
    assert result.outcome is Outcome.RETRY and result.retry_after == 30


async def test_the_webhook_is_signed_under_the_alert_id(receiver: Receiver,
                                                        session: aiohttp.ClientSession) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    sent = replace(outgoing(receiver.url("/hook")), at=datetime.now(UTC))  # verified within 5 minutes
    sent.destination.secrets.append(WebhookSecret(secret=secret))
    assert (await channels(session)["webhook"].send(sent)).outcome is Outcome.DELIVERED
    headers = receiver.headers[-1]
    assert headers["webhook-id"] == "al_1" and headers["user-agent"] == "newsflow-webhooks/1"
    payload = Webhook(secret).verify(receiver.raw[-1], headers)
    assert payload["type"] == "alert.created" and payload["data"]["subscription_name"] == "Harbour desk"
    assert payload["data"]["kind"] == "match" and payload["data"]["matched"][0]["terms"] == ["Zqx"]


async def test_each_channel_takes_only_its_own_urls_and_the_policy_has_the_last_word() -> None:
    real = make_channels(Settings())
    slack, teams, hook = real["slack"], real["teams"], real["webhook"]
    good_slack = "https://hooks.slack.com/services/T0ABC/B0DEF/Xyz123"
    good_teams = ("https://prod-23.westeurope.logic.azure.com:443/workflows/0a1b2c/triggers/manual/"
                  "paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sig=abc")
    for channel, bad in ((slack, "https://hooks.slack.com/workflows/T0/A0/1/x"),
                         (slack, "https://hooks.slack.com.evil.example/services/T0/B0/x"),
                         (slack, "http://hooks.slack.com/services/T0ABC/B0DEF/Xyz123"),
                         (teams, "https://example.org/webhookb2/x"),
                         (teams, good_slack)):
        with pytest.raises(InvalidDestination, match=r"not a (Slack|Teams) incoming-webhook URL"):
            await channel.check(bad)
    assert slack.shown(good_slack) == "https://hooks.slack.com/services/T0ABC/B0DEF/…"
    assert teams.shown(good_teams) == "https://prod-23.westeurope.logic.azure.com:443/…"
    for url in ("http://127.0.0.1/hook", "http://10.0.0.7/hook", "http://169.254.169.254/latest"):
        with pytest.raises(InvalidDestination, match="URL refused"):
            await hook.check(url)
    local = channels()["slack"]
    with pytest.raises(InvalidDestination, match="URL refused"):  # the pattern fits, the policy does not
        await channels(allow="")["slack"].check("http://127.0.0.1:9/services/T0/B0/x")
    assert await local.check("http://127.0.0.1:9/services/T0/B0/x") == "http://127.0.0.1:9/services/T0/B0/x"
