"""The matcher's live state: the subscriptions table, compiled into the required-term index as
its rows change, and the step that turns one enriched article into its alert events."""

from __future__ import annotations

import logging
import threading

from services.alerts.candidates import SubscriptionIndex
from shared.contracts.alerts import AlertEvent, ApiKey, MatchedTerms, Subscription
from shared.contracts.document import to_document
from shared.contracts.messages import EnrichedArticle
from shared.query import ArticleView, QuerySyntaxError, SubscriptionQuery, snippet
from shared.runtime.metrics import ALERTS_MATCHED

log = logging.getLogger(__name__)

SUMMARY_CHARS = 300


def filters_by_facet(subscription: Subscription) -> dict[str, list[str]]:
    return {name: values for name, values in subscription.filters.items() if values}


class LiveSubscriptions:
    """Kept current by the table's listener (on the event loop) while `alerts_for` runs in a
    worker thread: one lock guards the index."""

    def __init__(self) -> None:
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

    def on_change(self, key: str, subscription: Subscription | None) -> None:
        with self._lock:
            self.index.remove(key)
            self.subscriptions.pop(key, None)
            if subscription is None or not subscription.active or subscription.kind != "news" \
                    or subscription.owner in self.revoked:
                return
            try:
                compiled = SubscriptionQuery.compile(subscription.query, filters_by_facet(subscription))
            except QuerySyntaxError as exc:  # the API refuses these; an old row may still have one
                log.error("subscription %s cannot be matched: %s", key, exc.reason)
                return
            self.index.add(key, compiled)
            self.subscriptions[key] = subscription

    def alerts_for(self, article: EnrichedArticle) -> list[AlertEvent]:
        view = ArticleView.of(to_document(article))
        with self._lock:
            # Explained here, for the few that matched: which words, where (never for candidates).
            matched = [(self.subscriptions[sid], self.index.subscriptions[sid].explain(view))
                       for sid in self.index.matches(view)]
        summary = (article.subtitle or article.body or "")[:SUMMARY_CHARS] or None
        ALERTS_MATCHED.inc(len(matched))
        return [
            AlertEvent(alert_id=AlertEvent.make_id(sub, article.article_id, article.story_id),
                       subscription_id=sub.subscription_id, owner=sub.owner,
                       article_id=article.article_id, story_id=article.story_id,
                       title=article.title, url=article.url, source=article.source.name,
                       language=article.language, published_at=article.published_at,
                       summary=summary, submitted_at=article.submitted_at,
                       matched=[MatchedTerms(field=e.field, terms=list(e.terms)) for e in evidence],
                       snippet=snippet(view.text(), [t for e in evidence for t in e.terms])
                       if evidence else None)
            for sub, evidence in matched
        ]
