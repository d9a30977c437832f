"""IPTC topics from the cue-word lexicon."""

from __future__ import annotations

from services.enrichment import topics
from shared.text.wordforms import stems


def test_topics_from_the_lexicon() -> None:
    def labels(title: str, body: str) -> list[str]:
        return [t.label for t in topics.classify(stems(title), stems(body))]

    assert labels("Striker scores twice as United win the cup final",
                  "The striker scored two goals in the final as the team won the league cup "
                  "before a record crowd at the stadium.")[0] == "sport"
    assert labels("Shares fall after profit warning",
                  "Shares in the company fell sharply after it warned that annual profits would "
                  "miss forecasts, as investors worried about sales.")[0] == \
        "economy, business and finance"
    assert labels("Hello", "Nothing to see.") == []
