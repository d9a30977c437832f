"""analysed → enriched: is this article a duplicate of a recent one, and which story is it in?

Both answers depend on every article before, so one linker makes them, in the one order of
the single-partition `news.analysed` topic; it is cheap (LSH lookups and set overlaps, well
under a millisecond an article) next to the NLP before it, which scales out.
"""

from __future__ import annotations

from services.linking.memory import Memory, story_features
from shared.contracts.messages import EnrichedArticle, LinkRecord


class Linker:
    def __init__(self, memory: Memory | None = None) -> None:
        self.memory = memory or Memory()

    def link(self, article: EnrichedArticle) -> tuple[EnrichedArticle, LinkRecord]:
        """The article with its duplicate and story fields set, and the decision to record.
        Applies the decision to memory at once (the next article is compared with it)."""
        digest = article.content_hash or ""
        record = self.memory.decision(article.article_id, digest)
        if record is None:
            entities, terms = story_features(article)
            duplicate_of, kind = self.memory.find_duplicate(article.article_id, digest, article.minhash)
            record = LinkRecord(
                article_id=article.article_id, content_hash=digest, minhash=article.minhash,
                duplicate_of=duplicate_of, duplicate_kind=kind,
                story_id=self.memory.choose_story(article.article_id, entities, terms),
                entities=sorted(entities), terms=sorted(terms))
            self.memory.remember(record)
        article.duplicate_of, article.duplicate_kind = record.duplicate_of, record.duplicate_kind
        article.story_id = record.story_id
        return article, record

    def linked(self, article: EnrichedArticle) -> EnrichedArticle:
        """In-process chains (benches, tests): the article alone."""
        return self.link(article)[0]
