"""POST /subscriptions:preview: how often a query would have alerted over the last seven
days, per day, with examples, from the same search over the index (so a noisy query can be
tuned before it is saved). The query is checked as a subscription's would be."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.search_api.deps import NewsIndexDep
from services.search_api.query import PREVIEW_DAYS, SearchRequest, parse_preview, preview_body
from services.subscriptions.auth import KeyDep
from services.subscriptions.schemas import PreviewIn, check_query, facet_filters

router = APIRouter(tags=["alerts"])


@router.post("/subscriptions:preview", summary=f"What a query would have alerted on in the last "
             f"{PREVIEW_DAYS} days", responses={400: {"description": "a query alerts refuse"}})
async def preview(body: PreviewIn, _key: KeyDep, index: NewsIndexDep) -> Any:
    filters = facet_filters(body.filters)
    check_query(body.query, filters)
    request = SearchRequest(q=body.query, filters=filters)
    return {"days": PREVIEW_DAYS, **parse_preview(await index.search(preview_body(request)))}
