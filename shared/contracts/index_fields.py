"""How a message field is indexed: markers that `shared/contracts/messages.py` puts on its fields
(`title: Annotated[str, TEXT_WITH_RAW]`) and from which `document.py` builds the mapping.

A field with no marker stays in `_source` but is not indexed (the mapping is `dynamic: false`).
Only server-core field types are used, so the mapping runs on any Elasticsearch 8.19/9.x.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IndexAs:
    mapping: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, **mapping: Any) -> IndexAs:
        return cls(tuple(mapping.items()))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.mapping)


KEYWORD = IndexAs.of(type="keyword", ignore_above=512)
URL = IndexAs.of(type="keyword", ignore_above=2048)
STORED_ONLY = IndexAs.of(type="keyword", index=False)
TEXT = IndexAs.of(type="text")
TEXT_STORED_ONLY = IndexAs.of(type="text", index=False)
TEXT_WITH_RAW = IndexAs.of(type="text", fields={"raw": KEYWORD.as_dict()})
# Every prefix of 2 to 5 letters of each word indexed as a term of its own: a prefix inside a
# phrase or NEAR (a span query) is then one term, never an expansion over the index's words.
_PREFIXES = {"min_chars": 2, "max_chars": 5}
# Words for prefixes, fuzzy words and proximity: our own tokens, space-separated.
WORDS = IndexAs.of(type="text", index_prefixes=_PREFIXES)
# Entity names are facets (keyword) but also searchable as words (text subfield). Left without
# indexed prefixes: an existing index cannot change a field's prefixes, and names are few words.
ENTITY = IndexAs.of(type="keyword", ignore_above=256, fields={"text": {"type": "text"}})
DATE = IndexAs.of(type="date")
BOOLEAN = IndexAs.of(type="boolean")
INTEGER = IndexAs.of(type="integer")
FLOAT = IndexAs.of(type="float")
DISABLED = IndexAs.of(type="object", enabled=False)
EXACT = IndexAs.of(type="keyword")  # ids, codes and labels: short by nature
