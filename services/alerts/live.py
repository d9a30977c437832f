"""The matcher's live state: the subscriptions table, compiled into the required-term index as
its rows change, and the step that turns one enriched article into its alert events: one per
matching subscription, or, for volume and breaking subscriptions, what their signals tell
(services/alerts/signals.py)."""

from __future__ import annotations

import logging
import threading

from services.alerts.candidates import SubscriptionIndex
from services.alerts.signals import Signals
from shared.contracts.alerts import AlertEvent, ApiKey, MatchedTerms, Subscription, shard_of
from shared.contracts.document import to_document
from shared.contracts.messages import EnrichedArticle
from shared.query import ArticleView, QuerySyntaxError, SubscriptionQuery, snippet
from shared.runtime.metrics import ALERTS_MATCHED
from shared.settings import Settings

log = logging.getLogger(__name__)

SUMMARY_CHARS = 300


def filters_by_facet(subscription: Subscription) -> dict[str, list[str]]:
    return {name: values for name, values in subscription.filters.items() if values}


def _signal_shape(subscription: Subscription | None) -> tuple[object, ...] | None:
    """What a subscription's signals were counted for: a change of it starts them again."""
    if subscription is None or (subscription.kind != "volume" and subscription.notify_on != "breaking"):
        return None
    return (subscription.kind, subscription.notify_on, subscription.query, subscription.filters)


class LiveSubscriptions:
    """Kept current by the table's listener (on the event loop) while `alerts_for` runs in a
    worker thread: one lock guards the index. Holds the subscriptions of its shard only
    (`shard_of`; every subscription with one shard)."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.shards, self.shard = settings.shards, settings.shard
        self.signals = Signals(settings, self.mine)
        self.index = SubscriptionIndex()
        self.subscriptions: dict[str, Subscription] = {}
        self.revoked: set[str] = set()  # key ids: their subscriptions match nothing
        self._lock = threading.Lock()

    def on_key(self, key_id: str, record: ApiKey | None) -> None:
        """The API-keys table's listener: a revoked (or deleted) key's subscriptions stop."""
        if record is not None and record.revoked_at is None:
            return
        with self._lock:
            self.revoked.add(key_id)
            for sid in [sid for sid, sub in self.subscriptions.items() if sub.owner == key_id]:
                self.index.remove(sid)
                del self.subscriptions[sid]

    def mine(self, subscription_id: str) -> bool:
        return shard_of(subscription_id, self.shards) == self.shard

    def on_change(self, key: str, subscription: Subscription | None) -> None:
        if not self.mine(key):
            return  # another shard's: never held here
        with self._lock:
            self.index.remove(key)
            before = self.subscriptions.pop(key, None)
            if before is not None and _signal_shape(before) != _signal_shape(subscription):
                self.signals.forget(key)
            if subscription is None or not subscription.active or subscription.kind == "ops" \
                    or subscription.owner in self.revoked:
                return
            filters = filters_by_facet(subscription)
            try:
                compiled = self.index.compiled(subscription.query, filters) or \
                    SubscriptionQuery.compile(subscription.query, filters)
            except QuerySyntaxError as exc:  # the API refuses these; an old row may still have one
                log.error("subscription %s cannot be matched: %s", key, exc.reason)
                return
            self.index.add(key, compiled)
            self.subscriptions[key] = subscription

    def alerts_for(self, article: EnrichedArticle, partition: int = -1, offset: int = -1,
                   ) -> list[AlertEvent]:
        """`partition` and `offset` say where the article was read: the signals count each
        record once."""
        view = ArticleView.of(to_document(article))
        with self._lock:
            # Explained here, for the few that matched: which words, where (never for candidates).
            matched = [(self.subscriptions[sid], self.index.query_of(sid).explain(view))
                       for sid in self.index.matches(view)]
        summary = (article.subtitle or article.body or "")[:SUMMARY_CHARS] or None
        events = []
        for sub, evidence in matched:
            if sub.kind == "volume":
                told = self.signals.count(sub, article, partition, offset)
            elif sub.notify_on == "breaking":
                told = self.signals.story(sub, article, partition, offset)
            else:
                told = AlertEvent(
                    alert_id=AlertEvent.make_id(sub, article.article_id, article.story_id),
                    subscription_id=sub.subscription_id, owner=sub.owner,
                    article_id=article.article_id, story_id=article.story_id, title=article.title,
                    url=article.url, source=article.source.name, language=article.language,
                    published_at=article.published_at, submitted_at=article.submitted_at)
            if told is None:
                continue
            words = [t for e in evidence for t in e.terms]
            events.append(told.model_copy(update={
                "summary": summary, "snippet": snippet(view.text(), words) if evidence else None,
                "matched": [MatchedTerms(field=e.field, terms=list(e.terms)) for e in evidence]}))
        ALERTS_MATCHED.inc(len(events))
        return events
