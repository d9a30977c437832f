"""What the search API answers, as models: FastAPI documents them in OpenAPI (`/docs`), so a
client sees every field before it calls. The search route writes its answer itself (orjson,
or the answer cache's bytes); its model documents that answer without re-validating it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Hit(BaseModel):
    """One result in a list: what a reader scans, not the whole article (`summarize_hit`)."""

    id: str
    score: float | None = None
    title: str | None = None
    subtitle: str | None = None
    url: str | None = None
    date: str | None = None
    language: str | None = None
    source: str | None = None
    people: list[str] = []
    organizations: list[str] = []
    places: list[str] = []
    countries: list[str] = []
    topics: list[str] = []
    story_id: str | None = None
    duplicate_of: str | None = None
    highlights: dict[str, list[str]] = Field(default_factory=dict,
                                             description="field → fragments with <em> marks")


class RelatedHit(Hit):
    same_story: bool


class FacetCount(BaseModel):
    value: str
    count: int


class DateCount(BaseModel):
    date: str
    count: int


class SearchAnswer(BaseModel):
    total: int = Field(description="every matching article, exactly")
    took_ms: int | None = None
    results: list[Hit]
    facets: dict[str, list[FacetCount] | list[DateCount]] = Field(
        description="per facet (people, organizations, places, countries, topics, language, "
                    "source) its values with counts; `date`: the histogram's bars")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class QueryField(BaseModel):
    name: str
    meaning: str
    example: str


class Syntax(BaseModel):
    help: str
    fields: list[QueryField]


class Suggestion(BaseModel):
    text: str
    kind: str = Field(description="the field it comes from: people, organizations, places, keywords …")
    count: int
    exact: bool = Field(description="a word of it starts with the prefix (else within typos)")


class Suggestions(BaseModel):
    prefix: str
    suggestions: list[Suggestion]


class Article(BaseModel):
    """The index document of one article, all but the fields kept for machines (stems, words,
    fingerprints), as it was indexed: a field it lacks is left out. Besides those named here it
    holds the rest of the document (entities with counts, keywords, quotes, dates, tone,
    topics …) as its mapping says."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str | None = None
    body: str | None = None
    date: str | None = None
    language: str | None = None
    story_id: str | None = None
    duplicate_of: str | None = None


class Related(BaseModel):
    article_id: str
    story_id: str | None
    results: list[RelatedHit]


class Story(BaseModel):
    story_id: str
    total: int
    articles: list[Hit]

