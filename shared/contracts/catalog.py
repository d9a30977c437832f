"""What each topic carries: readers decode a topic's messages with its model."""

from __future__ import annotations

from shared.contracts.alerts import (
    AlertEvent,
    ApiKey,
    Delivery,
    EndpointHealth,
    SignalState,
    Subscription,
)
from shared.contracts.messages import (
    DeadLetter,
    EnrichedArticle,
    ExtractedArticle,
    LinkRecord,
    Message,
    RawArticle,
)
from shared.contracts.ops import Replay, WorkerHeartbeat
from shared.contracts.topology import Topic

MESSAGE_OF_TOPIC: dict[Topic, type[Message]] = {
    Topic.RAW: RawArticle,
    Topic.EXTRACTED: ExtractedArticle,
    Topic.ANALYSED: EnrichedArticle,  # without duplicates and stories yet
    Topic.ENRICHED: EnrichedArticle,
    Topic.LINKS: LinkRecord,
    Topic.DEAD_LETTER: DeadLetter,
    Topic.SUBSCRIPTIONS: Subscription,
    Topic.API_KEYS: ApiKey,
    Topic.ALERTS: AlertEvent,
    Topic.DELIVERIES: Delivery,
    Topic.ENDPOINTS: EndpointHealth,
    Topic.SIGNALS: SignalState,
    Topic.HEARTBEATS: WorkerHeartbeat,
    Topic.REPLAYS: Replay,
}
