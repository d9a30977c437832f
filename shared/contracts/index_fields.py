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
# Entity names are facets (keyword) but also searchable as words (text subfield).
ENTITY = IndexAs.of(type="keyword", ignore_above=256, fields={"text": {"type": "text"}})
DATE = IndexAs.of(type="date")
BOOLEAN = IndexAs.of(type="boolean")
INTEGER = IndexAs.of(type="integer")
FLOAT = IndexAs.of(type="float")
DISABLED = IndexAs.of(type="object", enabled=False)
EXACT = IndexAs.of(type="keyword")  # ids, codes and labels: short by nature
