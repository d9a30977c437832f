"""Slack incoming webhooks (https://api.slack.com/messaging/webhooks): a Block Kit message
with a plain-text fallback. The URL is the credential (anyone holding it can post to the
channel): sealed on the topic, shown to its owner with the secret part hidden.

Slack's answers: 200 `ok`; 400 `invalid_payload` and the like (this message will never be
taken: dead-lettered); 403 `invalid_token`/`action_prohibited`, 404 `no_service`/
`channel_not_found`, 410 `channel_is_archived` (the webhook is gone: disabled); 429 with
Retry-After and 5xx are retried."""

from __future__ import annotations

from typing import Any

from services.delivery.channels.base import Outgoing, Result
from services.delivery.channels.explain import explanation, headline
from services.delivery.channels.http import HttpChannel
from shared.contracts.alerts import AlertEvent

MAX_ALERTS = 20  # in one digest message (Slack takes at most 50 blocks)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(alert: AlertEvent, name: str) -> dict[str, Any]:
    title = _escaped(headline(alert, name))
    link = f"<{alert.url}|{title}>" if alert.url else f"*{title}*"
    when = f" · {alert.published_at:%d %b %Y %H:%M} UTC" if alert.published_at else ""
    lines = [link, f"{_escaped(alert.source or 'unknown source')}{when}",
             f"_{_escaped(explanation(alert))}_"]
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}


def message(outgoing: Outgoing) -> dict[str, Any]:
    name = outgoing.subscription.name
    alerts = outgoing.alerts[:MAX_ALERTS]
    title = f"{len(outgoing.alerts)} alerts for {name}" if outgoing.digest else headline(alerts[0], name)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    for alert in alerts:
        blocks.append(_section(alert, name))
        if not outgoing.digest and alert.snippet:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                            "text": _escaped(alert.snippet)}]})
    if len(outgoing.alerts) > MAX_ALERTS:
        blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn", "text": f"and {len(outgoing.alerts) - MAX_ALERTS} more"}]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                    "text": f"newsflow · {_escaped(name)}"}]})
    return {"text": title, "blocks": blocks}


class SlackChannel(HttpChannel):
    name = "slack"
    target_is_secret = True
    gone = frozenset({403, 404, 410})
    refused = frozenset({400})
    patterns_setting = "slack_webhook_patterns"
    kind_of_url = "Slack incoming-webhook URL (https://hooks.slack.com/services/T…/B…/…)"

    async def send(self, outgoing: Outgoing) -> Result:
        return await self.post_json(outgoing.target, message(outgoing))

    def shown(self, target: str) -> str:
        return self.masked(target, target.rfind("/") + 1)  # the token is the last part

