"""Microsoft Teams incoming webhooks: a Workflows "when a Teams webhook request is received"
URL (or a channel's classic incoming-webhook URL), which takes an Adaptive Card in a
`message` envelope. The URL carries its signature: sealed on the topic, shown hidden.

Teams' answers: 200/202 taken; 400 and 413 (this card will never be taken: dead-lettered);
401/403 (the URL's signature no longer valid), 404 and 410 (the workflow or connector is
gone: disabled); 429 and 5xx retried. A classic connector that is throttled answers 200 with
"HTTP error 429" in its body: that is retried too."""

from __future__ import annotations

from typing import Any

from services.delivery.channels.base import Outgoing, Result
from services.delivery.channels.explain import explanation, headline
from services.delivery.channels.http import HttpChannel
from shared.contracts.alerts import AlertEvent

MAX_ALERTS = 20


def _items(alert: AlertEvent, name: str) -> list[dict[str, Any]]:
    title = headline(alert, name)
    when = f" · {alert.published_at:%d %b %Y %H:%M} UTC" if alert.published_at else ""
    return [
        {"type": "TextBlock", "text": f"[{title}]({alert.url})" if alert.url else title,
         "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": f"{alert.source or 'unknown source'}{when}", "isSubtle": True,
         "spacing": "None", "wrap": True},
        {"type": "TextBlock", "text": explanation(alert), "wrap": True, "spacing": "Small"},
    ]


def card(outgoing: Outgoing) -> dict[str, Any]:
    name = outgoing.subscription.name
    alerts = outgoing.alerts[:MAX_ALERTS]
    body: list[dict[str, Any]] = []
    if outgoing.digest:
        body.append({"type": "TextBlock", "text": f"{len(outgoing.alerts)} alerts for {name}",
                     "size": "Large", "weight": "Bolder", "wrap": True})
    for alert in alerts:
        body.extend(_items(alert, name))
    if len(outgoing.alerts) > MAX_ALERTS:
        body.append({"type": "TextBlock", "text": f"and {len(outgoing.alerts) - MAX_ALERTS} more",
                     "isSubtle": True})
    body.append({"type": "TextBlock", "text": f"newsflow · {name}", "isSubtle": True, "size": "Small"})
    content: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                               "type": "AdaptiveCard", "version": "1.4", "body": body}
    if not outgoing.digest and alerts[0].url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Read", "url": alerts[0].url}]
    return {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
        "content": content}]}


class TeamsChannel(HttpChannel):
    name = "teams"
    target_is_secret = True
    gone = frozenset({401, 403, 404, 410})
    refused = frozenset({400, 413})
    patterns_setting = "teams_webhook_patterns"
    kind_of_url = ("Teams incoming-webhook URL (a Workflows webhook trigger's, or "
                   "https://<tenant>.webhook.office.com/webhookb2/…)")

    async def send(self, outgoing: Outgoing) -> Result:
        return await self.post_json(outgoing.target, card(outgoing))

    def taken(self, body: str) -> bool:
        return "HTTP error 429" not in body

    def shown(self, target: str) -> str:
        return self.masked(target, target.find("/", target.find("//") + 2) + 1)  # the host only
