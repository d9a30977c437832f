"""Stories: join on shared entities, survive a rebuild."""

from __future__ import annotations

from services.enrichment.stories import StoryIndex


def test_stories_join_on_shared_entities_and_survive_a_rebuild() -> None:
    stories = StoryIndex()
    korea = {"United Nations", "North Korea", "Pyongyang", "South Korea", "KP", "KR"}
    first = stories.assign("a1", korea | {"Antonio Guterres"}, {"peac", "talk"})
    assert stories.assign("a2", korea | {"Jeffrey Feltman"}, {"nuclear", "talk"}) == first
    assert stories.assign("a3", {"Arsenal", "London", "GB"}, {"goal"}) != first
    assert stories.assign("a1", set(), set()) == first  # a replay keeps its story
    # A new worker rebuilt from the index (story ids stored with each article) continues it.
    rebuilt = StoryIndex()
    rebuilt.add("a1", first, korea, {"peac"})
    assert rebuilt.assign("a4", korea | {"Kim Jong Un"}, {"missil"}) == first
