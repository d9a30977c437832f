"""Stories: join on shared entities, survive a rebuild."""

from __future__ import annotations

from services.linking.stories import StoryIndex


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


def test_a_chain_of_overlapping_articles_does_not_become_one_story() -> None:
    # Article n mentions entities n..n+5: each shares 5 with the next, but article 20 shares
    # nothing with article 0. Compared with any member, everything chained into one story.
    stories = StoryIndex()
    ids = [stories.assign(f"a{n}", {f"e{k}" for k in range(n, n + 6)}, {"talks"}) for n in range(60)]
    assert ids[1] == ids[0]  # close neighbours still join
    assert len(set(ids)) > 5
    assert ids[30] != ids[0]


def test_a_story_takes_at_most_max_articles() -> None:
    from services.linking.stories import MAX_ARTICLES

    stories = StoryIndex()
    same = {"Kim Jong Un", "Pyongyang", "United Nations", "KP"}
    ids = [stories.assign(f"a{n}", same, {"missile"}) for n in range(MAX_ARTICLES + 5)]
    assert len(set(ids[:MAX_ARTICLES])) == 1
    assert ids[MAX_ARTICLES] != ids[0]
    assert len(set(ids[MAX_ARTICLES:])) == 1  # the overflow opens one new story, not five


def test_a_storys_core_does_not_depend_on_the_order_names_came_in() -> None:
    """Ties in frequency are broken by name, not by insertion order (a set's order varies with
    the process's hash seed): the same articles give the same core in every process."""
    from services.linking.stories import STORY_TERMS, Story

    names = [f"name{n:03d}" for n in range(STORY_TERMS + 10)]  # all mentioned once: all tied
    forwards, backwards = Story("s1"), Story("s2")
    forwards.update(set(names), set())
    backwards.entities.update(reversed(names))  # the same counts, inserted the other way round
    backwards.update(set(), set())
    assert forwards.top_entities == backwards.top_entities == set(names[:STORY_TERMS])
