"""Every subscriptions call carries an API key (`Authorization: Bearer nf_...` or `X-API-Key`);
a key sees and changes only its own subscriptions (someone else's answer 404, as if absent),
except an admin key, which sees, pauses and deletes anyone's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from services.subscriptions.store import AlertStore
from shared.contracts.alerts import ApiKey, Subscription
from shared.http.api_keys import check_key, presented_key
from shared.http.errors import ApiError, starting


def get_store(request: Request) -> AlertStore:
    store: AlertStore | None = getattr(request.app.state, "alert_store", None)
    if store is None or not store.ready.is_set():
        raise starting("subscriptions are loading (or Kafka is unreachable)")
    return store


StoreDep = Annotated[AlertStore, Depends(get_store)]


def current_key(request: Request, store: StoreDep,
                authorization: Annotated[str | None, Header()] = None,
                x_api_key: Annotated[str | None, Header()] = None) -> ApiKey:
    return check_key(request, store.keys.rows, presented_key(authorization, x_api_key), "alerts")


KeyDep = Annotated[ApiKey, Depends(current_key)]


def owned(store: AlertStore, key: ApiKey, subscription_id: str) -> Subscription:
    subscription = store.subscriptions.get(subscription_id)
    if subscription is None or (subscription.owner != key.key_id and not is_admin(key)):
        raise ApiError(404, "not_found", f"no subscription {subscription_id}")
    return subscription


def is_admin(key: ApiKey) -> bool:
    return "admin" in key.scopes
