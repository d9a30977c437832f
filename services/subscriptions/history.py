"""A subscription's alerts, newest first, from the alert history in Elasticsearch: each alert
with the later articles of its story and its delivery state at each destination. Pages follow a cursor
(`search_after` on the alert's time and id), so page 1,000 costs what page 1 does.

Elasticsearch away: the history answers 503 (delivery and live streams go on without it, and
the history stage catches up afterwards).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from elasticsearch import ApiError as ESApiError
from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch import TransportError
from fastapi import Depends, Request

from services.subscriptions.schemas import DeliveryOut
from shared.contracts.history import alerts_alias, deliveries_alias
from shared.http.errors import ApiError, starting
from shared.settings import Settings

MAX_UPDATES = 100  # later articles listed per alert
MAX_DESTINATIONS = 20  # delivery states read per alert (the settings allow 10 destinations)
NEWEST_FIRST = [{"matched_at": "desc"}, {"entry_id": "desc"}]


def encode_cursor(sort: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "bad_cursor", "cursor must be a next_cursor this API returned") from exc
    if not isinstance(values, list) or len(values) != 2:
        raise ApiError(400, "bad_cursor", "cursor must be a next_cursor this API returned")
    return values


class AlertHistory:
    def __init__(self, es: Any, settings: Settings) -> None:
        self.es = es
        self.alerts = alerts_alias(settings)
        self.deliveries = deliveries_alias(settings)

    async def _search(self, index: str, **body: Any) -> list[dict[str, Any]]:
        try:
            answer = await self.es.search(index=index, ignore_unavailable=True, allow_no_indices=True,
                                          **body)
        except (ESConnectionError, TransportError, ESApiError) as exc:
            raise ApiError(503, "history_unavailable", "the alert history is unavailable "
                           "(Elasticsearch); alerts are still delivered and streamed",
                           headers={"Retry-After": "10"}) from exc
        hits: list[dict[str, Any]] = answer["hits"]["hits"]
        return hits

    async def page(self, subscription_id: str, size: int, cursor: str | None = None,
                   ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to `size` alerts (newest first) and the cursor of the next page (None: the last)."""
        hits = await self._search(
            self.alerts, size=size + 1, sort=NEWEST_FIRST,
            query={"bool": {"filter": [{"term": {"subscription_id": subscription_id}},
                                       {"term": {"kind": "alert"}}]}},
            **({"search_after": decode_cursor(cursor)} if cursor else {}))
        page, more = hits[:size], len(hits) > size
        if not page:
            return [], None
        alert_ids = [hit["_source"]["alert_id"] for hit in page]
        updates: dict[str, list[dict[str, Any]]] = {}
        for hit in await self._search(
                self.alerts, size=min(10_000, MAX_UPDATES * len(page)), sort=[{"offset": "asc"}],
                query={"bool": {"filter": [{"terms": {"alert_id": alert_ids}},
                                           {"term": {"kind": "update"}}]}}):
            entry = hit["_source"]
            listed = updates.setdefault(entry["alert_id"], [])
            if len(listed) < MAX_UPDATES:
                listed.append({key: entry.get(key) for key in ("article_id", "title", "url", "matched_at")})
        states: dict[str, list[dict[str, Any]]] = {}
        for hit in await self._search(
                self.deliveries, size=min(10_000, len(alert_ids) * MAX_DESTINATIONS),
                sort=[{"destination_id": "asc"}],
                # by the alert's id, and by the document id for states from before destinations
                query={"bool": {"should": [{"terms": {"message_id": alert_ids}},
                                           {"ids": {"values": alert_ids}}]}}):
            state = hit["_source"]
            states.setdefault(state.get("message_id") or hit["_id"], []).append(
                DeliveryOut.model_validate(state).model_dump(mode="json"))
        alerts = []
        for hit in page:
            entry = hit["_source"]
            alerts.append({
                **{k: v for k, v in entry.items()
                   if k not in ("owner", "kind", "alert_kind", "entry_id", "partition", "offset")},
                "kind": entry.get("alert_kind", "match"),
                "updates": updates.get(entry["alert_id"], []),
                "deliveries": states.get(entry["alert_id"], []),  # one per destination
            })
        return alerts, encode_cursor(page[-1]["sort"]) if more else None


def get_history(request: Request) -> AlertHistory:
    found: AlertHistory | None = getattr(request.app.state, "alert_history", None)
    if found is None:
        raise starting("the alert history is starting")
    return found


HistoryDep = Annotated[AlertHistory, Depends(get_history)]
