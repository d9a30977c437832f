"""What the linker remembers between articles: recent duplicates, stories, and its own decisions.

Every decision is a `LinkRecord` (shared/contracts) written to the compacted `news.links` table
*before* the article goes on; `remember` applies one, whether the linker just made it or reads
it back from the table. So a linker that restarts, or a standby that takes over, replays the
table in order and reaches the very state the last decision was made in.
"""

from __future__ import annotations

from collections import OrderedDict

from services.linking.dedup import CAPACITY, DuplicateIndex, DuplicateKind
from services.linking.stories import StoryIndex
from shared.contracts.document import ENTITY_LISTS, DocField
from shared.contracts.messages import EnrichedArticle, LinkRecord
from shared.text.wordforms import stems

# What a story is matched on: the canonical entities of these fields, and keyword stems.
STORY_ENTITY_FIELDS = (*ENTITY_LISTS, DocField.COUNTRY_CODES)


def story_features(article: EnrichedArticle) -> tuple[set[str], set[str]]:
    names = {kind.value: [e.name for e in getattr(article, kind.value)] for kind in ENTITY_LISTS}
    # A bare "Kim" or "Ali" could be anyone: a person links stories by a full name only
    # (the alias table gives well-known bare names theirs).
    names[DocField.PEOPLE.value] = [name for name in names[DocField.PEOPLE.value] if " " in name]
    names[DocField.COUNTRY_CODES.value] = [country.code for country in article.countries]
    entities = {name for field in STORY_ENTITY_FIELDS for name in names.get(field.value, [])}
    terms = {stem for keyword in article.keywords for stem in stems(keyword.text)}
    return entities, terms


class Memory:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.duplicates = DuplicateIndex(capacity)
        self.stories = StoryIndex()
        self.capacity = capacity
        self.decisions: OrderedDict[str, LinkRecord] = OrderedDict()  # article id → its decision

    def decision(self, article_id: str, digest: str) -> LinkRecord | None:
        """What was decided for this very article before (a replay after a crash or a
        rebalance): the same text gets the same answer."""
        record = self.decisions.get(article_id)
        return record if record is not None and record.content_hash == digest else None

    def find_duplicate(self, article_id: str, digest: str, minhash: list[int]
                       ) -> tuple[str | None, DuplicateKind | None]:
        return self.duplicates.find(article_id, digest, minhash)

    def choose_story(self, article_id: str, entities: set[str], terms: set[str]) -> str:
        return self.stories.choose(article_id, entities, terms)

    def remember(self, record: LinkRecord) -> None:
        """Idempotent: the table echoes back what this linker applied already."""
        self.decisions.pop(record.article_id, None)
        self.decisions[record.article_id] = record
        while len(self.decisions) > self.capacity:
            self.decisions.popitem(last=False)
        if record.content_hash and record.minhash:
            self.duplicates.add(record.article_id, record.content_hash, record.minhash,
                                original=record.duplicate_of is None)
        self.stories.add(record.article_id, record.story_id, set(record.entities), set(record.terms))
