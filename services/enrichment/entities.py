"""People, organisations and places from spaCy's NER, cleaned and merged within one article.

spaCy finds spans; what we add is what a news desk needs from them: titles stripped from names
("Secretary of State Rex Tillerson" → "Rex Tillerson"), possessives dropped ("North Korea's"),
and short mentions resolved to the full name already seen ("Feltman" → "Jeffrey Feltman").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.enrichment import geo
from shared.contracts.messages import Entity
from shared.text.canonical import canonical_name
from shared.text.names import clean_name, complete_name, person_name

LABEL_KIND = {
    "PERSON": "people",
    "ORG": "organizations",
    "GPE": "places",
    "LOC": "places",
    "FAC": "places",
    "EVENT": "events",
}
KINDS = ("people", "organizations", "places", "events")
NOT_AN_ENTITY = "-"  # the canonical name of spans that are not entities ("North")
# Bounds on what one article can put in every result list and facet: a name is short (a span
# longer than this is a tagging accident or a zalgo run), and a kind keeps its top mentions.
MAX_NAME_CHARS = 100
MAX_PER_KIND = 100

@dataclass(frozen=True)
class Mention:
    text: str
    label: str


def group_entities(mentions: Iterable[Mention], labels: Mapping[str, str] | None = None,
                   text: str = "") -> dict[str, list[Entity]]:
    """Mentions by kind, `labels` saying which of the model's labels is which kind; `text`,
    the article, completes names the model cut short."""
    labels = LABEL_KIND if labels is None else labels
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    others: list[str] = []
    for mention in mentions:
        kind = labels.get(mention.label)
        name = clean_name(mention.text)
        if (kind is None or not 2 <= len(name) <= MAX_NAME_CHARS
                or not any(c.isalpha() for c in name)):
            continue
        if kind == "people":
            person = person_name(complete_name(name, text))
            # Only the alias table joins name variants ("Kim Jong-un" → "Kim Jong Un");
            # a bare "Kim" stays as written, whoever else is named Kim elsewhere.
            if person and (canonical := canonical_name(person)) != NOT_AN_ENTITY:
                counts["people"][canonical] += 1
        elif (canonical := canonical_name(name)) != NOT_AN_ENTITY:
            counts[kind][canonical] += 1
            others.append(canonical)

    people = counts["people"]
    # The NER model sometimes files a titled person under another label ("State Rex Tillerson"
    # as ORG): a span that starts with a role word and is a name once the roles are stripped.
    others = list(dict.fromkeys(others))
    for name in others:
        person = person_name(name)
        if person and person != name and len(person.split()) > 1:
            people[person] += _take(counts, name)
    # A lone surname under another label ("Tillerson" as ORG) is that person when we know them.
    surnames = {full.split()[-1] for full in people if len(full.split()) > 1}
    for name in others:
        if name in surnames:
            people[name] += _take(counts, name)

    # Short mentions resolve to the one full name that contains them.
    for short in [p for p in people if len(p.split()) == 1]:
        fulls = [p for p in people if len(p.split()) > 1 and short in p.split()]
        if len(fulls) == 1:
            people[fulls[0]] += people.pop(short)
    # A lone word that names a known city or country is that place ("Valencia" tagged a person).
    for short in [p for p in people if len(p.split()) == 1 and geo.country_code(p)]:
        counts["places"][short] += people.pop(short)

    return {
        kind: [Entity(name=n, mentions=c) for n, c in
               sorted(counter.items(), key=lambda i: (-i[1], i[0]))[:MAX_PER_KIND]]
        for kind, counter in counts.items()
    }


def _take(counts: dict[str, Counter[str]], name: str) -> int:
    """Removes `name` from the non-person kinds, returning how often it was seen there."""
    return sum(counts[kind].pop(name, 0) for kind in KINDS if kind != "people") or 1
