"""Stories: articles about the same event share a story id.

An article joins the recent story it is most similar to, if similar enough; else it starts one.
Similarity mixes entity overlap (canonical people, organisations, places, events, countries:
shared entities over the smaller set's size) and keyword overlap (Jaccard of the word stems of
its keyphrases); at least MIN_SHARED entities must be shared. Stories are kept in memory, most
recently updated first, and rebuilt at start-up from the news index (each article stores its
story id, entities and keywords), so a restarted worker continues the same stories.

Stories do not chain: an article is compared with the story's *core* (the entities and terms of
its first CORE_ARTICLES articles), not with whatever its latest members mention, so A~B, B~C,
C~D … cannot pull D into A's story. And a story takes at most MAX_ARTICLES articles; a later
one opens a new story (the news has moved on by then, and one story must not swallow a beat).
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

ENTITY_WEIGHT, TERM_WEIGHT = 0.7, 0.3
THRESHOLD = 0.35
MIN_SHARED = 3
STORY_TERMS = 40  # a story's most frequent entities/terms stand for it
CORE_ARTICLES = 5
MAX_ARTICLES = 200
CAPACITY = 20_000


@dataclass
class Story:
    story_id: str
    entities: Counter[str] = field(default_factory=Counter)
    terms: Counter[str] = field(default_factory=Counter)
    articles: int = 0
    # The most frequent entities and terms stand for the story; kept up to date by `update`.
    top_entities: set[str] = field(default_factory=set)
    top_terms: set[str] = field(default_factory=set)

    def update(self, entities: set[str], terms: set[str]) -> None:
        self.articles += 1
        if self.articles > CORE_ARTICLES:
            return  # the core is what the story is about; later members do not move it
        self.entities.update(entities)
        self.terms.update(terms)
        self.top_entities = _most_frequent(self.entities)
        self.top_terms = _most_frequent(self.terms)

    def similarity(self, entities: set[str], terms: set[str]) -> float:
        if self.articles >= MAX_ARTICLES:
            return 0.0  # full
        shared = len(entities & self.top_entities)
        if shared < MIN_SHARED:
            return 0.0
        overlap = shared / min(len(entities), len(self.top_entities))
        return ENTITY_WEIGHT * overlap + TERM_WEIGHT * _jaccard(terms, self.top_terms)


def _most_frequent(counts: Counter[str]) -> set[str]:
    """The STORY_TERMS most frequent, ties broken by name: `most_common` breaks them by
    insertion order, which for names from a set depends on the process's hash seed, so two
    linkers (or a linker and its successor) would pick different cores from the same articles."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {name for name, _ in ranked[:STORY_TERMS]}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def new_story_id(article_id: str) -> str:
    """Deterministic: replaying the article that opened a story gives the same story id."""
    return "s" + hashlib.sha256(article_id.encode()).hexdigest()[:23]


class StoryIndex:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.stories: OrderedDict[str, Story] = OrderedDict()
        self.by_entity: dict[str, set[str]] = {}
        self.story_of: dict[str, str] = {}  # article id → story id, for replays

    def choose(self, article_id: str, entities: set[str], terms: set[str]) -> str:
        """The story the article belongs to: its own from before (a replay), the most similar
        recent one if similar enough, else a new one. Remembers nothing: `add` does."""
        if article_id in self.story_of:
            return self.story_of[article_id]
        candidates = {sid for entity in entities for sid in self.by_entity.get(entity, ())}
        scored = [(self.stories[sid].similarity(entities, terms), sid)
                  for sid in candidates if sid in self.stories]
        score, best = max(scored, default=(0.0, ""))
        return best if score >= THRESHOLD else new_story_id(article_id)

    def assign(self, article_id: str, entities: set[str], terms: set[str]) -> str:
        story_id = self.choose(article_id, entities, terms)
        self.add(article_id, story_id, entities, terms)
        return story_id

    def add(self, article_id: str, story_id: str, entities: set[str], terms: set[str]) -> None:
        if self.story_of.get(article_id) == story_id and story_id in self.stories:
            return  # a replay: already counted
        story = self.stories.pop(story_id, None) or Story(story_id)
        self.stories[story_id] = story  # most recently updated last
        story.update(entities, terms)
        self.story_of[article_id] = story_id
        if story.articles <= CORE_ARTICLES:  # candidates are found by their core's entities
            for entity in entities:
                self.by_entity.setdefault(entity, set()).add(story_id)
        while len(self.stories) > self.capacity:
            old_id, old = self.stories.popitem(last=False)
            for entity in old.entities:
                self.by_entity.get(entity, set()).discard(old_id)
