from __future__ import annotations

import pytest

from shared.contracts.ids import article_id, canonical_url


@pytest.mark.parametrize("variant", [
    "https://www.example.com/news/story-1/",
    "http://example.com/news/story-1",
    "https://EXAMPLE.com/news/story-1?utm_source=x&utm_medium=y",
    "https://example.com/news/story-1#comments",
    "https://example.com:443/news/story-1",
])
def test_url_variants_of_one_page_share_an_id(variant: str) -> None:
    assert article_id(variant, None) == article_id("https://example.com/news/story-1", None)


def test_meaningful_query_parameters_are_kept_and_sorted() -> None:
    assert canonical_url("https://example.com/a?b=2&a=1&fbclid=z") == "https://example.com/a?a=1&b=2"
    assert article_id("https://example.com/a?id=1", None) != article_id("https://example.com/a?id=2", None)


def test_content_id_ignores_whitespace_and_case() -> None:
    assert article_id(None, "Hello   World\n") == article_id(None, "hello world")
    assert article_id(None, "hello world") != article_id(None, "hello there")


def test_url_wins_over_content_and_kinds_are_marked() -> None:
    by_url = article_id("https://example.com/a", "text")
    by_content = article_id(None, "text")
    assert by_url.startswith("u") and by_content.startswith("c")
    assert by_url == article_id("https://example.com/a", "other text")


@pytest.mark.parametrize("url", ["ftp://example.com/a", "not a url", "https://"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        canonical_url(url)


def test_nothing_to_identify_is_refused() -> None:
    with pytest.raises(ValueError):
        article_id(None, "   ")
