"""What the channel tests share: an alert, a subscription, an outgoing message."""

from __future__ import annotations

from datetime import UTC, datetime

from services.delivery.channels import Outgoing
from shared.contracts.alerts import AlertEvent, Destination, MatchedTerms, Subscription

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def an_alert(n: int = 1, **fields: object) -> AlertEvent:
    values: dict[str, object] = {
        "alert_id": f"al_{n}", "subscription_id": "s1", "owner": "k1", "article_id": f"a{n}",
        "title": f"Port of Zqx reopens <after> storm {n}", "url": f"https://news.example/{n}",
        "source": "Reuters", "published_at": AT, "submitted_at": AT,
        "matched": [MatchedTerms(field="title", terms=["Zqx"])], "snippet": "… the port of Zqx …"}
    return AlertEvent.model_validate({**values, **fields})


def outgoing(target: str, channel: str = "webhook", alerts: list[AlertEvent] | None = None,
             digest: bool = False, unsubscribe_url: str | None = None) -> Outgoing:
    destination = Destination(destination_id="d1", channel=channel, target=target)
    subscription = Subscription(subscription_id="s1", owner="k1", name="Harbour desk", query="Zqx",
                                destinations=[destination], feed_token="t")
    return Outgoing(message_id="al_1", subscription=subscription, destination=destination,
                    target=target, alerts=alerts or [an_alert()], digest=digest, at=AT,
                    unsubscribe_url=unsubscribe_url)
