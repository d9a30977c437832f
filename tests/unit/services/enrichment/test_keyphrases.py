"""Keyphrases on small texts whose right answers can be read off by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from services.enrichment.enrich import analyse
from shared.contracts.messages import ExtractedArticle


def phrases(title: str, body: str) -> list[str]:
    article = ExtractedArticle(article_id="k", title=title, body=body, submitted_at=datetime.now(UTC))
    return [k.text for k in analyse(article).keywords]


def test_no_dates_quantities_or_titles_before_names() -> None:
    found = phrases("Budget row", (
        "Chancellor Gordon Brown defended the spending plans on Tuesday. Mr Brown said the "
        "spending plans would cost 5 billion pounds over three years. Critics of the spending "
        "plans said last week that the budget deficit would grow. The budget deficit is a worry."))
    assert "spending plans" in found and "budget deficit" in found
    assert "Gordon Brown" in found
    for phrase in found:
        assert not {"Tuesday", "week", "years", "billion", "Chancellor", "Mr"} & set(phrase.split()), phrase


def test_a_title_case_headline_is_no_phrase_unless_the_text_has_it() -> None:
    found = phrases("Adviser Urges Chief To Visit Capital", (
        "The adviser asked the organisation's chief to visit the capital. The visit would "
        "restart peace talks, the adviser said. Peace talks stalled last year."))
    assert "Adviser Urges Chief" not in found and not any("Urges" in p for p in found)
    assert "peace talks" in found


def test_a_phrase_covered_by_a_better_one_is_left_out() -> None:
    found = phrases("Missiles", (
        "The ballistic missile programs grew. Experts said ballistic missile programs cost "
        "much. Missile programs are secret, and the ballistic missile programs are large."))
    assert "ballistic missile programs" in found
    assert "missile programs" not in found


def test_an_empty_text_has_no_phrases() -> None:
    assert phrases("", "... !!! ???") == []
