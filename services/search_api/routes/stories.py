"""GET /stories/{id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.search_api.answers import Story
from services.search_api.deps import NewsIndexDep
from services.search_api.query import story_body
from shared.contracts.document import summarize_hit
from shared.http.errors import ApiError

router = APIRouter(tags=["stories"])


@router.get("/stories/{story_id}", summary="The articles of one story, oldest first",
            response_model=Story, responses={404: {"description": "no such story"}})
async def story(index: NewsIndexDep, story_id: str, size: Annotated[int, Query(ge=1, le=200)] = 100,
                hide_duplicates: bool = True) -> Any:
    response = await index.search(story_body(story_id, size, hide_duplicates))
    hits = response["hits"]["hits"]
    if not hits:
        raise ApiError(404, "not_found", f"no story with id {story_id!r}")
    return {"story_id": story_id, "total": response["hits"]["total"]["value"],
            "articles": [summarize_hit(h) for h in hits]}
