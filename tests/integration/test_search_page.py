"""The search page end to end, in headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.conftest import REPO_ROOT
from tests.stack import Pipeline

pytestmark = pytest.mark.integration

SEED_000_TITLE = "Breaking the Deadlock? S. Korean Adviser Urges UN Chief to Visit Pyongyang"
# What the probe of these machines found Chromium needs to start cleanly, offline, as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is missing: `bash deploy/run.sh test` installs Debian's chromium"
    return path


async def test_search_tick_a_facet_open_an_article(
    pipeline: Pipeline, seed_000: str, seed_004: str, tmp_path: Path
) -> None:
    first = await pipeline.submit({"format": "text", "content": seed_000})
    second = await pipeline.submit({"format": "text", "content": seed_004})
    await pipeline.wait_for_article(first)
    seed_004_title = (await pipeline.wait_for_article(second))["title"]
    output = REPO_ROOT / "test-output" / "screenshots"
    output.mkdir(parents=True, exist_ok=True)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        await page.goto(f"http://127.0.0.1:{pipeline.settings.search_port}/")

        # Type a query.
        await page.fill("#q", "Pyongyang")
        await page.press("#q", "Enter")
        results = page.locator("#results .result")
        await expect(results.filter(has_text=SEED_000_TITLE)).to_be_visible()
        await expect(page.locator("#results mark").first).to_have_text("Pyongyang")

        # Tick a facet: only seed 000 names Antonio Guterres.
        await page.locator('#facets input[data-param="person"][value="Antonio Guterres"]').check()
        await expect(page.locator("#status")).to_have_text("1 article")
        await expect(results).to_have_count(1)

        # Open the article: its text, its entities, and the other seed as related, same story.
        await results.first.locator("a.open").click()
        panel = page.locator("#article")
        await expect(panel.locator("h2")).to_have_text(SEED_000_TITLE)
        await expect(panel).to_contain_text("Wi Sung-lac")
        related = panel.locator("#related li", has_text=seed_004_title)
        await expect(related).to_contain_text("(same story)")

        await page.locator("#story-link").click()
        # Both seeds are in the story (other tests' articles about the same story may be too).
        for title in (SEED_000_TITLE, seed_004_title):
            await expect(panel.locator("#story li", has_text=title)).to_have_count(1)
        await page.screenshot(path=str(output / "search-page.png"), full_page=True)

        # A broken query shows its reason, not a blank page.
        await page.fill("#q", '"unclosed')
        await page.press("#q", "Enter")
        await expect(page.locator("#error")).to_contain_text("unterminated quote")
        await browser.close()


async def test_stored_markup_never_runs_and_highlights_come_back_encoded(pipeline: Pipeline) -> None:
    marker = f"Xssville{uuid.uuid4().hex[:6]}"
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    body = f"{marker} met officials. {payload} More text here."
    text_id = await pipeline.submit({"format": "text", "content": f"{marker} {payload}\n{body}"})
    html_id = await pipeline.submit({"format": "html", "url": f"https://xss.invalid/{marker}",
                                     "content": f"<html><head><title>{marker} &lt;script&gt;x"
                                                f"&lt;/script&gt;</title></head><body><article><p>"
                                                f"{marker} said &lt;img src=x onerror=alert(1)&gt; "
                                                "twice in a long enough paragraph.</p></article>"
                                                "</body></html>"})
    for article_id in (text_id, html_id):
        await pipeline.wait_for_article(article_id)
    found = (await pipeline.search.get("/search", params={"q": marker})).json()
    highlighted = [fragment for hit in found["results"] for fragments in hit["highlights"].values()
                   for fragment in fragments]
    assert highlighted and all("<img" not in f and "<script" not in f for f in highlighted)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(f"http://127.0.0.1:{pipeline.settings.search_port}/")
        await page.fill("#q", marker)
        await page.press("#q", "Enter")
        results = page.locator("#results .result")
        await expect(results).to_have_count(2)
        for index in range(2):
            await results.nth(index).locator("a.open").click()
            await expect(page.locator("#article")).to_contain_text(marker)
        assert await page.evaluate("window.__pwned") is None
        await expect(page.locator("#article")).to_contain_text("onerror")  # shown as text
        await browser.close()
