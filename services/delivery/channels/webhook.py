"""Webhooks: any HTTPS (or HTTP) endpoint the owner names, signed by Standard Webhooks
(services/delivery/signing.py) with the destination's secrets, under the alert's (or
digest's) id, which stays the same on every retry so the receiver can deduplicate on it.
410 Gone disables the destination."""

from __future__ import annotations

import json
from typing import Any

from services.delivery.channels.base import Outgoing, Result
from services.delivery.channels.http import HttpChannel
from services.delivery.signing import webhook_headers
from shared.http.outbound import OutboundPolicy
from shared.runtime.sealing import Sealer
from shared.settings import Settings


def payload(outgoing: Outgoing) -> str:
    """`alert.created` with the alert, or `alert.digest` with its alerts, beside what the
    subscription is."""
    if outgoing.digest:
        data = {**outgoing.about(), "alerts": [a.model_dump(mode="json", exclude={"owner"})
                                               for a in outgoing.alerts]}
        kind = "alert.digest"
    else:
        data = {**outgoing.about(), **outgoing.alerts[0].model_dump(mode="json", exclude={"owner"})}
        kind = "alert.created"
    return json.dumps({"type": kind, "timestamp": outgoing.at.isoformat(), "data": data})


class WebhookChannel(HttpChannel):
    name = "webhook"
    signed = True

    def __init__(self, settings: Settings, policy: OutboundPolicy, session: Any = None) -> None:
        super().__init__(settings, policy, session)
        self.sealer = Sealer(settings)

    async def send(self, outgoing: Outgoing) -> Result:
        body = payload(outgoing)
        headers = webhook_headers(outgoing.destination.secrets, outgoing.message_id, outgoing.at,
                                  body, self.sealer.open)
        return await self.post_json(outgoing.target, None, headers, body=body)
