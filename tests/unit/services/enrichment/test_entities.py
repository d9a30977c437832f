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


def test_names_and_lists_are_bounded_whatever_the_text() -> None:
    from services.enrichment.entities import MAX_NAME_CHARS, MAX_PER_KIND

    zalgo = "Z" + "\u0336" * 5000 + "a"  # a zalgo run tagged as a place
    mentions = [Mention(zalgo, "GPE"), Mention(zalgo, "GPE"), Mention("Seoul", "GPE"),
                Mention("Seoul", "GPE")]
    mentions += [Mention(f"Place{n:04d}", "GPE") for n in range(MAX_PER_KIND * 3)]
    places = group_entities(mentions)["places"]
    assert len(places) == MAX_PER_KIND
    assert all(len(e.name) <= MAX_NAME_CHARS for e in places)
    assert (places[0].name, places[0].mentions) == ("Seoul", 2)  # the most mentioned stay
