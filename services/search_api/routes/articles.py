"""GET /articles/{id} and GET /articles/{id}/related."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from services.search_api.answers import Article, Related
from services.search_api.deps import NewsIndexDep
from services.search_api.query import related_story_body, similar_body
from shared.contracts.document import summarize_hit

router = APIRouter(tags=["articles"])
# Ids are ours (u/c + hex) or a submitter's plain token: never a path Elasticsearch could read
# as its own ("." or ".."), never longer than an HTTP line allows.
ArticleId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="an article id")]


@router.get("/articles/{article_id}", summary="One article, fully enriched", response_model=Article,
            response_model_exclude_unset=True,
            responses={404: {"description": "no such article"}})
async def get_article(index: NewsIndexDep, article_id: ArticleId) -> Any:
    return await index.article(article_id)


@router.get("/articles/{article_id}/related", summary="Same story first, then similar articles",
            response_model=Related, responses={404: {"description": "no such article"}})
async def related(index: NewsIndexDep, article_id: ArticleId,
                  size: Annotated[int, Query(ge=1, le=50)] = 10) -> Any:
    article = await index.article(article_id)
    same_story: list[dict[str, Any]] = []
    if article.get("story_id"):
        story = await index.search(related_story_body(article_id, article["story_id"], size))
        same_story = [summarize_hit(h) | {"same_story": True} for h in story["hits"]["hits"]]
    seen = [article_id, *(hit["id"] for hit in same_story)]
    similar = await index.search(similar_body(index.alias, article, seen, size))
    more = [summarize_hit(h) | {"same_story": False} for h in similar["hits"]["hits"]]
    return {"article_id": article_id, "story_id": article.get("story_id"),
            "results": (same_story + more)[:size]}
