"""Entities grouped and merged within an article."""

from __future__ import annotations

from services.enrichment.entities import Mention, group_entities


def test_short_mentions_and_mislabelled_titles_merge_into_the_person() -> None:
    grouped = group_entities([
        Mention("Jeffrey Feltman", "PERSON"), Mention("Feltman", "PERSON"),
        Mention("Feltman", "ORG"), Mention("State Rex Tillerson", "ORG"),
        Mention("Tillerson", "ORG"), Mention("UN", "ORG"), Mention("U.N.", "ORG"),
        Mention("North", "LOC"),
    ])
    people = {e.name: e.mentions for e in grouped["people"]}
    assert people == {"Jeffrey Feltman": 3, "Rex Tillerson": 2}
    assert [(e.name, e.mentions) for e in grouped["organizations"]] == [("United Nations", 2)]
    assert grouped["places"] == []  # "North" is not a place
