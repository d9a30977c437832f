"""Plain-text structure on the two seed documents; expected values are read off the seeds."""

from __future__ import annotations

from services.extraction.extract import extract_article
from services.extraction.plain_text import looks_like_heading, parse_plain_text
from shared.contracts.messages import RawArticle


def test_seed_000_title_dek_headings_disclaimer_related(seed_000: str) -> None:
    parsed = parse_plain_text(seed_000)
    assert parsed.title == "Breaking the Deadlock? S. Korean Adviser Urges UN Chief to Visit Pyongyang"
    assert not parsed.title_derived
    assert parsed.subtitle is not None
    assert parsed.subtitle.startswith("South Korean National Security Adviser Wi Sung-lac")
    assert parsed.headings == ["A Presidential Letter in New York", "Strategic Silence from the U.N."]
    assert parsed.disclaimer is not None and parsed.disclaimer.startswith("This content is AI-generated")
    assert len(parsed.related) == 4
    assert parsed.related[0].startswith("North Korea and Russia are launching")
    for unwanted in ("AI-generated", "Related Articles", "A Presidential Letter", "Moscow"):
        assert unwanted not in parsed.body
    assert parsed.lead is not None and parsed.lead.startswith("Can the UN restart")


def test_seed_004_has_no_title_line_so_one_is_derived(seed_004: str) -> None:
    parsed = parse_plain_text(seed_004)
    assert parsed.title_derived
    assert parsed.title.startswith("The UN political chief said Tuesday")
    assert len(parsed.title) < len(parsed.lead or "")
    assert parsed.subtitle is None and parsed.headings == [] and parsed.disclaimer is None
    assert parsed.lead is not None and parsed.lead.startswith("The UN political chief said Tuesday")
    assert "Feltman" in parsed.body


def test_headings_are_short_title_case_lines_not_sentences() -> None:
    assert looks_like_heading("Strategic Silence from the U.N.")
    assert not looks_like_heading("He called the mission the most important one.")
    assert not looks_like_heading("the quiet part said out loud")


def test_extracted_article_records_the_ai_flag(seed_000: str) -> None:
    article = extract_article(RawArticle(article_id="c1", format="text", content=seed_000))
    assert article.ai_generated and article.disclaimer
    assert article.related and article.headings


def test_html_goes_through_trafilatura() -> None:
    html = (
        "<html><head><title>Port strike ends | Example News</title>"
        "<meta property='og:site_name' content='Example News'></head><body><nav>Home | World</nav>"
        "<article><h1>Port strike ends</h1>"
        + "".join(f"<p>Dock workers returned to work on day {n} after the long strike ended "
                  f"with a new contract and higher wages for all of them.</p>" for n in range(5))
        + "</article><footer>Copyright Example</footer></body></html>"
    )
    article = extract_article(RawArticle(article_id="u1", format="html", content=html,
                                         url="https://example.com/port"))
    assert article.title.startswith("Port strike ends")
    assert "Dock workers returned to work on day 3" in article.body
    assert "Copyright" not in article.body and "Home | World" not in article.body
