"""Datelines, dates and quotes. Expected values are read off the texts by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from services.extraction.cleanup import clean_paragraphs, is_boilerplate
from services.extraction.extract import extract_article
from services.extraction.plain_text import parse_plain_text
from services.extraction.text_facts import find_dates, find_quotes, parse_dateline
from shared.contracts.messages import RawArticle


def test_seed_000_date_is_normalised(seed_000: str) -> None:
    article = extract_article(RawArticle(article_id="c1", format="text", content=seed_000))
    assert ("Dec. 18, 2025", date(2025, 12, 18)) in [(d.text, d.date) for d in article.dates]
    assert article.language == "en"


def test_seed_004_quotes_are_mostly_feltmans(seed_004: str) -> None:
    quotes = find_quotes(parse_plain_text(seed_004).paragraphs)
    assert 8 <= len(quotes) <= 12
    speakers = Counter(q.speaker for q in quotes)
    assert speakers["Jeffrey Feltman"] >= 7
    assert "Feltman" not in speakers  # resolved to the full name
    said_ajar = next(q for q in quotes if q.text.startswith("I think we've left the door ajar"))
    assert said_ajar.speaker == "Jeffrey Feltman"  # "he added" → the last named speaker
    assert next(q for q in quotes if q.text == "unrealistic").speaker == "Rex Tillerson"


def test_weekdays_resolve_against_the_publication_date() -> None:
    published = datetime(2017, 12, 12, 15, tzinfo=UTC)  # a Tuesday
    found = {d.text: d.date for d in find_dates("He said Tuesday and met them on Friday.", published)}
    assert found == {"Tuesday": date(2017, 12, 12), "Friday": date(2017, 12, 8)}
    unresolved = find_dates("He said Tuesday.", None)
    assert [(d.text, d.date) for d in unresolved] == [("Tuesday", None)]


@pytest.mark.parametrize(("text", "expected"), [
    ("on 3 March 2024 at noon", date(2024, 3, 3)),
    ("by 2024-03-03", date(2024, 3, 3)),
    ("until September 30th, 2019.", date(2019, 9, 30)),
])
def test_explicit_date_forms(text: str, expected: date) -> None:
    assert [d.date for d in find_dates(text, None)] == [expected]


def test_dates_without_a_year_take_the_publication_year() -> None:
    published = datetime(2026, 1, 4, tzinfo=UTC)
    assert [d.date for d in find_dates("Talks began Dec 30.", published)] == [date(2025, 12, 30)]


@pytest.mark.parametrize(("lead", "place", "agency", "rest"), [
    ("SEOUL, Dec 3 (Reuters) - South Korea said.", "Seoul", "Reuters", "South Korea said."),
    ("WASHINGTON (AP) — The president said.", "Washington", "AP", "The president said."),
    ("NEW YORK — Stocks rose.", "New York", None, "Stocks rose."),
    # Reuters: several cities at once, accents in capitals.
    ("LONDON/NEW YORK, March 4 (Reuters) - Oil fell.", "London/New York", "Reuters", "Oil fell."),
    ("SÃO PAULO (Reuters) - Brazil's central bank held.", "São Paulo", "Reuters",
     "Brazil's central bank held."),
    # AP: a US state's abbreviation or a country after the city; multi-word capitals.
    ("ORLANDO, Fla. (AP) — A man was arrested.", "Orlando, Fla.", "AP", "A man was arrested."),
    ("RIO DE JANEIRO (AP) — Rain fell.", "Rio de Janeiro", "AP", "Rain fell."),
    ("PORT-AU-PRINCE, Haiti (AP) — Gangs blocked roads.", "Port-au-Prince, Haiti", "AP",
     "Gangs blocked roads."),
    ("ST. LOUIS (AP) — A jury ruled.", "St. Louis", "AP", "A jury ruled."),
    # AFP: capitals or title case, a hyphen or an en dash, a date with its year.
    ("PARIS (AFP) - France said.", "Paris", "AFP", "France said."),
    ("Kabul, Afghanistan (AFP) – Taliban officials said.", "Kabul, Afghanistan", "AFP",
     "Taliban officials said."),
    ("PARIS, March 4, 2026 (AFP) - France said.", "Paris", "AFP", "France said."),
    # Bloomberg: a double hyphen, often no place at all.
    ("(Bloomberg) -- Stocks rose.", None, "Bloomberg", "Stocks rose."),
    ("NEW YORK (Bloomberg) -- Treasuries fell.", "New York", "Bloomberg", "Treasuries fell."),
    # dpa: title case, the agency in lower case, the day before the month.
    ("Berlin (dpa) - Germany's economy shrank.", "Berlin", "dpa", "Germany's economy shrank."),
    ("Berlin, 4 March (dpa) - Germany said.", "Berlin", "dpa", "Germany said."),
    # Yonhap and Xinhua: a double hyphen after the agency.
    ("SEOUL, March 4 (Yonhap) -- North Korea fired a missile.", "Seoul", "Yonhap",
     "North Korea fired a missile."),
    ("BEIJING, March 4 (Xinhua) -- China said.", "Beijing", "Xinhua", "China said."),
    # PTI: no dash at all; Indian papers: a colon.
    ("New Delhi, Mar 4 (PTI) The government said.", "New Delhi", "PTI", "The government said."),
    ("NEW DELHI: The government said.", "New Delhi", None, "The government said."),
    ("WASHINGTON, D.C. — Lawmakers met.", "Washington, D.C.", None, "Lawmakers met."),
])
def test_datelines_are_parsed_and_removed(lead: str, place: str, agency: str | None, rest: str) -> None:
    dateline, remainder = parse_dateline(lead)
    assert dateline is not None and (dateline.place, dateline.agency) == (place, agency)
    assert remainder == rest


@pytest.mark.parametrize("lead", [
    "A new law - the first in years - passed.",
    "UPDATE: The talks resumed.",  # a label, not a place
    "EXCLUSIVE - Officials met.",
    "Officials (two of them) said the talks failed.",  # a parenthesis, no agency
    "The mayor (left) - who won - spoke.",
    "EU leaders — all 27 — met.",
    "US stocks: a rally.",
    "NATO — the alliance said.",  # a sentence goes on in lower case
])
def test_ordinary_sentences_have_no_dateline(lead: str) -> None:
    assert parse_dateline(lead) == (None, lead)


@pytest.mark.parametrize("lead", [
    "WASHINGTON (AP) — The president signed the bill on Tuesday.",
    "Berlin (dpa) - Germany's economy shrank again.",
    "NEW DELHI: The government said it would act.",
])
def test_a_lead_that_opens_with_a_dateline_is_never_the_dek(lead: str) -> None:
    text = f"Bill signed\n{lead}\nThe bill passed both houses last month.\nIt takes effect in May."
    article = extract_article(RawArticle(article_id="d", format="text", content=text))
    assert article.subtitle is None
    assert article.dateline is not None
    assert article.lead is not None and article.lead == parse_dateline(lead)[1]


def test_a_byline_then_a_dateline() -> None:
    text = ("Port strike ends\nBy Jane Doe and John Roe, Example News\n"
            "LONDON — Dock workers returned to work on Monday.\nThe union said the deal holds.")
    article = extract_article(RawArticle(article_id="b", format="text", content=text))
    assert article.subtitle is None
    assert article.authors == ["Jane Doe", "John Roe"]
    assert article.dateline is not None and article.dateline.place == "London"
    assert article.lead == "Dock workers returned to work on Monday."
    assert "Jane Doe" not in article.body


def test_dateline_gives_the_publication_date_when_none_is_known() -> None:
    text = "Talks resume\nSEOUL, Dec 3 (Reuters) - Officials from both sides met on Tuesday in Seoul."
    raw = RawArticle(article_id="c1", format="text", content=text,
                     submitted_at=datetime(2025, 12, 3, 9, tzinfo=UTC))
    article = extract_article(raw)
    assert article.dateline is not None and article.dateline.agency == "Reuters"
    assert article.lead is not None and article.lead.startswith("Officials")
    assert article.published_at is not None and article.published_at.date() == date(2025, 12, 3)
    assert article.published_precision == "day"
    assert ("Tuesday", date(2025, 12, 2)) in [(d.text, d.date) for d in article.dates]


def test_boilerplate_paragraphs_and_repeated_headline_are_dropped() -> None:
    assert is_boilerplate("Thanks for signing up!")
    assert is_boilerplate("- Order Reprints")
    assert not is_boilerplate("Thanks to the new contract, wages rose by six percent.")
    kept = clean_paragraphs(["Port strike ends", "Dock workers returned.", "Share on Facebook"],
                            "Port Strike Ends")
    assert kept == ["Dock workers returned."]


def test_html_metadata() -> None:
    html = """<html lang="en"><head><title>Port strike ends | Example News</title>
    <meta property="og:title" content="Port strike ends">
    <meta property="og:site_name" content="Example News">
    <meta property="og:image" content="https://example.com/dock.jpg">
    <meta name="author" content="Jane Reporter">
    <meta property="article:published_time" content="2025-12-18T08:00:00Z">
    <link rel="canonical" href="https://example.com/news/port-strike"></head>
    <body><article><h1>Port strike ends</h1>""" + "".join(
        f"<p>Dock workers returned to work on day {n} after the long strike ended with a new "
        f"contract and higher wages for all of them, the union said.</p>" for n in range(5)
    ) + "<p>Thanks for signing up!</p></article></body></html>"
    article = extract_article(RawArticle(article_id="u1", format="html", content=html,
                                         url="https://example.com/news/port-strike?utm_source=x"))
    assert article.title == "Port strike ends"
    assert article.site_name == "Example News"
    assert article.authors == ["Jane Reporter"]
    assert article.published_at == datetime(2025, 12, 18, 8, tzinfo=UTC)
    assert article.published_precision == "time"
    assert article.canonical_url == "https://example.com/news/port-strike"
    assert article.image == "https://example.com/dock.jpg"
    assert article.language == "en"
    assert "signing up" not in article.body


def test_dates_and_quotes_are_capped_and_found_linearly() -> None:
    from services.extraction.text_facts import MAX_DATES, MAX_QUOTES

    # 20,000 dates in 120 KB used to cost half a minute (an overlap check per earlier date).
    dates = find_dates(" ".join(f"Jan {1 + n % 28}, {1900 + n // 28}" for n in range(20_000)), None)
    assert len(dates) == MAX_DATES
    assert dates[0].text == "Jan 1, 1900"
    # 2,000 quotes in one paragraph, each attributed: the first MAX_QUOTES, speakers resolved.
    paragraph = "Jeffrey Feltman spoke. " + " ".join('"Quote number one," Feltman said.'
                                                     for _ in range(2_000))
    quotes = find_quotes([paragraph])
    assert len(quotes) == MAX_QUOTES
    assert {q.speaker for q in quotes} == {"Jeffrey Feltman"}


def test_html_with_more_elements_than_the_limit_is_refused_before_parsing() -> None:
    from services.extraction.extract import TooComplex

    page = "<html><body>" + "<p>x</p>" * 1000 + "</body></html>"
    raw = RawArticle(article_id="a", format="html", content=page)
    with pytest.raises(TooComplex, match="1002 elements; the limit is 500"):
        extract_article(raw, max_html_elements=500)


def _page_published(published: str) -> str:
    body = "".join(f"<p>Dock workers returned to work on day {n} after the long strike ended "
                   f"with a new contract and higher wages for all, the union said.</p>" for n in range(5))
    return ('<html lang="en"><head><title>Port strike ends</title><script type="application/ld+json">'
            f'{{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Port strike ends", '
            f'"datePublished": "{published}"}}</script></head><body><article><h1>Port strike ends</h1>'
            f"{body}</article></body></html>")


@pytest.mark.parametrize(("published", "instant", "precision"), [
    ("2026-02-11T08:30:00+01:00", datetime(2026, 2, 11, 7, 30, tzinfo=UTC), "time"),
    ("2026-02-11T23:30:00-05:00", datetime(2026, 2, 12, 4, 30, tzinfo=UTC), "time"),
    ("2026-02-11T00:00:00+01:00", datetime(2026, 2, 10, 23, 0, tzinfo=UTC), "time"),
    ("2026-02-11T08:30:00Z", datetime(2026, 2, 11, 8, 30, tzinfo=UTC), "time"),
    ("2026-02-11", datetime(2026, 2, 11, tzinfo=UTC), "day"),
])
def test_json_ld_publication_keeps_its_time(published: str, instant: datetime, precision: str) -> None:
    article = extract_article(RawArticle(article_id="t", format="html",
                                         content=_page_published(published)))
    assert (article.published_at, article.published_precision) == (instant, precision)


def test_a_given_publication_instant_is_a_time() -> None:
    given = datetime(2026, 2, 11, 7, 30, tzinfo=UTC)
    article = extract_article(RawArticle(article_id="g", format="text", published_at=given,
                                         content="Talks resume\nOfficials met in Seoul today."))
    assert (article.published_at, article.published_precision) == (given, "time")
    unknown = extract_article(RawArticle(article_id="n", format="text",
                                         content="Talks resume\nOfficials met in Seoul today."))
    assert (unknown.published_at, unknown.published_precision) == (None, None)
