"""Breaking stories (`notify_on: breaking`): one alert when a matching story reaches
`breaking_sources` independent sources within `breaking_minutes`, then the story's later
articles as updates of that alert (the history and the live stream show it growing; it is
delivered once).

How a source is judged independent: an article speaks with one *voice*, the wire agency its
dateline credits ("MADRID, 12 feb (Reuters) -" speaks as Reuters, whoever published it), else
its publisher (the submission's source name, else the host of its URL). A duplicate of an
earlier article (the linker's exact or near duplicate: a syndicated copy of one wire) adds no
voice: it repeats one already heard. So three outlets printing one Reuters story are one
voice; Reuters, AFP and a paper's own reporter are three.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from shared.contracts.alerts import StoryVoices
from shared.contracts.messages import EnrichedArticle

# Wire agencies' names as datelines write them → one name each.
AGENCIES = {
    "reuters": "Reuters", "afp": "AFP", "agence france-presse": "AFP", "ap": "AP",
    "associated press": "AP", "the associated press": "AP", "dpa": "dpa", "efe": "EFE",
    "ansa": "ANSA", "bloomberg": "Bloomberg", "xinhua": "Xinhua", "kyodo": "Kyodo", "pa": "PA",
    "pa media": "PA", "upi": "UPI", "tass": "TASS", "anadolu": "Anadolu", "aa": "Anadolu",
    "europa press": "Europa Press", "apa": "APA", "belga": "Belga", "anp": "ANP", "pti": "PTI",
    "ians": "IANS", "ani": "ANI", "yonhap": "Yonhap", "aap": "AAP", "cp": "CP", "kna": "KNA",
}
STORIES_KEPT = 500  # per subscription and partition: the most recent ones


def voice(article: EnrichedArticle) -> str | None:
    """Who an article speaks for; None for a duplicate (its voice was heard already)."""
    if article.duplicate_of:
        return None
    agency = article.dateline.agency if article.dateline else None
    if agency:
        return AGENCIES.get(agency.strip().casefold(), agency.strip())
    if article.source.name:
        return article.source.name.strip()
    host = urlsplit(article.url or "").hostname or ""
    return host.removeprefix("www.") or None


def heard(stories: dict[str, StoryVoices], story_id: str, speaker: str, at: datetime) -> None:
    """Records a voice in a story (its first time is kept), keeping the most recent stories."""
    story = stories.get(story_id)
    if story is None:
        story = stories[story_id] = StoryVoices(last_at=at)
    story.voices.setdefault(speaker, at)
    story.last_at = max(story.last_at, at)
    if len(stories) > STORIES_KEPT:
        for old in sorted(stories, key=lambda s: stories[s].last_at)[:len(stories) - STORIES_KEPT]:
            del stories[old]


def forget_before(stories: dict[str, StoryVoices], oldest: datetime) -> None:
    for story_id in [s for s, story in stories.items() if story.last_at < oldest]:
        del stories[story_id]


def sources_within(parts: list[StoryVoices], now: datetime, minutes: int) -> list[tuple[str, datetime]]:
    """The story's voices (across partitions) first heard within `minutes` of the latest one,
    in order. (Partitions are read in no common order: a voice read before this article may
    have come after it.)"""
    first: dict[str, datetime] = {}
    for part in parts:
        for speaker, at in part.voices.items():
            first[speaker] = min(at, first.get(speaker, at))
    oldest = max([now, *first.values()]) - timedelta(minutes=minutes)
    return sorted(((s, at) for s, at in first.items() if at >= oldest), key=lambda item: item[1])
