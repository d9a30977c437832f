"""Alert channels, spikes and breaking stories on the real stack, with real local receivers: a
mail relay (aiosmtpd: STARTTLS and AUTH) and HTTP receivers for webhooks, Slack and Teams."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from deploy.local.receivers import Mailbox
from shared.contracts.topology import Stage, spec
from shared.runtime.kafka import consumer_lag
from tests.stack import Pipeline, Receiver, auth, eventually, subscribe

pytestmark = pytest.mark.integration


def _marker() -> str:
    return "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])


def _names() -> tuple[str, str, str]:
    a, b, c = (_marker().title() for _ in range(3))
    return a, b, c


def _article(marker: str, source: str = "tests") -> dict[str, Any]:
    """An article about `marker` that no other shares enough words with to be its near
    duplicate (duplicates never alert): made-up words all through it."""
    w = [_marker() for _ in range(12)]
    return {"format": "text", "source": {"name": source}, "content": (
        f"{w[0].title()} {w[1]} of {marker} reopens the {w[2]}\nThe {w[3]} of {marker} reopened the "
        f"{w[4]} on Tuesday, said {w[5].title()} {w[6].title()}. Repairs led by {w[7].title()} to the "
        f"{w[8]} of {marker} were finished early, {w[9].title()} told the {w[10]} {w[11]} council.")}


def _slack_path() -> str:
    return f"services/T{uuid.uuid4().hex[:8].upper()}/B{uuid.uuid4().hex[:8].upper()}/{uuid.uuid4().hex[:16]}"


def _teams_path() -> str:
    return f"workflows/{uuid.uuid4().hex}/triggers/manual/paths/invoke?api-version=2016-06-01&sig=x1"


async def _settled(pipeline: Pipeline) -> bool:
    stages = [Stage.EXTRACTION, Stage.ENRICHMENT, Stage.LINKING, Stage.ALERTING, Stage.DELIVERY,
              Stage.HISTORY, Stage.DELIVERY_HISTORY]
    return all([await consumer_lag(pipeline.settings, spec(s)) == 0 for s in stages])


async def _history(pipeline: Pipeline, key: str, sid: str) -> list[dict[str, Any]]:
    answer = await pipeline.search.get(f"/subscriptions/{sid}/alerts", headers=auth(key))
    return list(answer.json()["alerts"]) if answer.status_code == 200 else []


async def test_an_article_reaches_every_destination_and_email_unsubscribes_in_one_click(
        pipeline: Pipeline, keys: tuple[str, str], receiver: Receiver, mailbox: Mailbox) -> None:
    mine, _ = keys
    marker = _marker()
    hook, slack, teams = f"hook-{marker}", _slack_path(), _teams_path()
    address = f"desk-{marker}@news.example"
    created = await subscribe(pipeline, mine, name=f"harbour {marker}", query=marker, destinations=[
        {"channel": "webhook", "target": receiver.url(hook)},
        {"channel": "email", "target": address},
        {"channel": "slack", "target": receiver.url(slack)},
        {"channel": "teams", "target": receiver.url(teams)}])
    shown = {d["channel"]: d for d in created["destinations"]}
    assert set(shown) == {"webhook", "email", "slack", "teams"}
    assert shown["slack"]["target"].endswith("/…") and "secret" in shown["webhook"]
    assert all(d["status"]["enabled"] for d in created["destinations"])
    await pipeline.submit(_article(marker))

    async def everywhere() -> bool:
        return all(receiver.requests.get(path.split("?")[0]) for path in (hook, slack, teams)) \
            and bool(mailbox.to(address))

    await eventually(everywhere, "the alert at all four destinations")
    webhook = receiver.requests[hook][0]
    payload = Webhook(shown["webhook"]["secret"]).verify(webhook.body, webhook.headers)
    assert marker in payload["data"]["title"].lower()
    chat = receiver.requests[slack.split("?")[0]][0].body
    assert '"blocks"' in chat and marker in chat.lower()
    card = receiver.requests[teams.split("?")[0]][0].body
    assert "application/vnd.microsoft.card.adaptive" in card
    email = mailbox.to(address)[0]
    assert str(email["Subject"]).strip().startswith(f"[harbour {marker}]") and mailbox.tls_sessions >= 1
    assert email.get_body(("html",)) is not None and email.get_body(("plain",)) is not None

    async def four_delivered() -> list[dict[str, Any]] | None:
        alerts = await _history(pipeline, mine, created["subscription_id"])
        states = alerts[0]["deliveries"] if alerts else []
        return states if len(states) == 4 and {s["state"] for s in states} == {"delivered"} else None

    states = await eventually(four_delivered, "the history to show four destinations delivered")
    assert sorted(s["channel"] for s in states) == ["email", "slack", "teams", "webhook"]

    link = str(email["List-Unsubscribe"]).strip().strip("<>")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(link)).status_code == 200  # a page asking to confirm: no change
        assert len((await pipeline.search.get(f"/subscriptions/{created['subscription_id']}",
                                              headers=auth(mine))).json()["destinations"]) == 4
        done = await client.post(link, content="List-Unsubscribe=One-Click",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200, done.text
        assert (await client.post(link)).status_code == 404  # used

    async def without_email() -> set[str] | None:
        answer = (await pipeline.search.get(f"/subscriptions/{created['subscription_id']}",
                                            headers=auth(mine))).json()
        channels = {d["channel"] for d in answer["destinations"]}
        return channels if "email" not in channels else None

    remaining = await eventually(without_email, "the email destination to be gone")
    assert remaining == {"webhook", "slack", "teams"}


async def test_a_destination_that_cannot_be_one_is_a_400_with_the_reason(
        pipeline: Pipeline, keys: tuple[str, str]) -> None:
    mine, _ = keys
    for destination, reason in (
            ({"channel": "email", "target": "desk@"}, "not an email address"),
            ({"channel": "slack", "target": "https://example.org/services/T1/B1/x"},
             "not a Slack incoming-webhook URL"),
            ({"channel": "teams", "target": "https://hooks.slack.com/services/T1/B1/x"},
             "not a Teams incoming-webhook URL"),
            ({"channel": "webhook", "target": "http://10.0.0.8/hook"}, "URL refused"),
            ({"channel": "pager", "target": "x"}, "unknown channel")):
        answer = await pipeline.search.post("/subscriptions", headers=auth(mine), json={
            "name": "x", "query": _marker(), "destinations": [destination]})
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "bad_destination" and reason in error["message"], error


async def test_a_failing_destination_is_retried_then_disabled_without_delaying_the_others(
        pipeline: Pipeline, keys: tuple[str, str], receiver: Receiver) -> None:
    mine, _ = keys
    marker = _marker()
    failing, slack = f"down-{marker}", _slack_path()
    receiver.fail[failing] = 10_000
    created = await subscribe(pipeline, mine, name="flaky", query=marker, notify_on="article",
                              destinations=[{"channel": "webhook", "target": receiver.url(failing)},
                                            {"channel": "slack", "target": receiver.url(slack)}])
    for _ in range(5):  # NEWSFLOW_DELIVERY_DISABLE_AFTER: 5 failed alerts in a row disable it
        await pipeline.submit(_article(marker))

    async def slack_has_all() -> bool:
        return len(receiver.requests.get(slack, [])) >= 5

    await eventually(slack_has_all, "the five alerts on Slack")
    # Slack had all five while the webhook was still being retried (4 attempts each).
    assert len(receiver.requests.get(failing, [])) < 20

    async def disabled() -> dict[str, Any] | None:
        answer = (await pipeline.search.get(f"/subscriptions/{created['subscription_id']}",
                                            headers=auth(mine))).json()
        hook = next(d for d in answer["destinations"] if d["channel"] == "webhook")
        return hook if not hook["status"]["enabled"] else None

    hook = await eventually(disabled, "the failing webhook to be disabled")
    assert "5 alerts in a row" in hook["status"]["disabled_reason"]
    await eventually(lambda: _settled(pipeline), "the alert stages to be idle")
    attempts = len(receiver.requests[failing])
    assert attempts == 20  # 4 attempts of each of 5 alerts, then nothing more
    letters = [d for d in await pipeline.dead_letters() if d.get("error_type") == "WebhookDeliveryFailed"
               and created["subscription_id"] in d.get("payload", "")]
    assert len(letters) == 5
    await pipeline.submit(_article(marker))  # a sixth: Slack gets it, the disabled webhook does not
    await eventually(lambda: receiver.has_at_least(slack, 6), "the sixth alert on Slack")
    await eventually(lambda: _settled(pipeline), "the alert stages to be idle")
    assert len(receiver.requests[failing]) == attempts


def _the_one_alert(receiver: Receiver, path: str, created: dict[str, Any]) -> dict[str, Any]:
    """The only alert that came to `path`, its signature checked: its data."""
    assert len(receiver.requests[path]) == 1, [r.body for r in receiver.requests[path]]
    request = receiver.requests[path][0]
    return dict(Webhook(created["webhook_secret"]).verify(request.body, request.headers)["data"])


async def test_a_burst_fires_exactly_one_spike_alert_and_the_preview_counts_it(
        pipeline: Pipeline, keys: tuple[str, str], receiver: Receiver) -> None:
    mine, _ = keys
    marker = _marker()
    path = f"spike-{marker}"
    created = await subscribe(pipeline, mine, name="spike", kind="volume", query=marker,
                              webhook_url=receiver.url(path))
    for _ in range(8):  # 8 in minutes against nothing before: the hour's minimum is 5
        await pipeline.submit(_article(marker, source=f"paper {uuid.uuid4().hex[:4]}"))
    await eventually(lambda: receiver.has_at_least(path, 1), "the spike alert")
    await eventually(lambda: _settled(pipeline), "the alert stages to be idle")
    spike = _the_one_alert(receiver, path, created)
    assert spike["kind"] == "volume" and spike["volume"]["window"] == "hour"
    assert spike["volume"]["count"] == 5 and spike["volume"]["baseline"] == 0
    assert len(spike["volume"]["samples"]) == 3 and spike["matched"]

    async def previewed() -> dict[str, Any] | None:
        answer = (await pipeline.search.post("/subscriptions:preview", headers=auth(mine),
                                             json={"kind": "volume", "query": marker})).json()
        return answer if answer["articles"] == 8 else None

    preview = await eventually(previewed, "the preview to see the eight articles")
    assert preview["spikes_per_window"] == {"hour": 1, "day": 0}
    assert sum(h["count"] for h in preview["hourly"][-2:]) == 8


def _report(marker: str, names: tuple[str, str, str], wording: int,
            city: str = "Lisbon", country: str = "Portugal") -> str:
    a, b, c = names
    reports = [
        f"Floods close the {marker} harbour in Lisbon\nFloods closed the {marker} harbour in Lisbon, "
        f"Portugal, on Tuesday, said {a} {b}, who leads the {c} Port Authority. Ships waited offshore "
        f"as {a} {b} and the {c} Port Authority inspected the breakwater.",
        f"Lisbon's {marker} harbour shut by flooding\nThe {c} Port Authority shut the {marker} harbour "
        f"in Lisbon after floods swept Portugal's coast, {a} {b} told reporters. Divers from the {c} "
        f"Port Authority were checking the damaged breakwater, {a} {b} added.",
        f"Portugal: {marker} harbour closed after floods\nIn Lisbon, {a} {b} of the {c} Port Authority "
        f"said the {marker} harbour would stay closed. The floods that hit Portugal damaged the "
        f"breakwater, and the {c} Port Authority asked ships to wait, {a} {b} said.",
    ]
    return reports[wording].replace("Lisbon", city).replace("Portugal", country)


async def test_three_independent_sources_break_a_story_and_three_copies_of_one_wire_do_not(
        pipeline: Pipeline, keys: tuple[str, str], receiver: Receiver) -> None:
    mine, _ = keys
    story, copies = _marker(), _marker()
    path = f"breaking-{story}"
    created = await subscribe(pipeline, mine, name="breaking", query=f"{story} OR {copies}",
                              notify_on="breaking", breaking_sources=3, breaking_minutes=30,
                              webhook_url=receiver.url(path))
    names = _names()
    ids = []
    for wording, source in enumerate(("Reuters", "AFP", "Le Monde")):
        ids.append(await pipeline.submit({"format": "text", "source": {"name": source},
                                          "content": _report(story, names, wording)}))
    wire = _report(copies, _names(), 0, "Valparaíso", "Chile")  # another story
    copy_ids = [await pipeline.submit({"format": "text", "source": {"name": paper}, "content": wire,
                                       "url": f"https://{paper.replace(' ', '').lower()}.example/{copies}"})
                for paper in ("Paper A", "Paper B", "Paper C")]
    assert len(set(copy_ids)) == 3  # three articles (three pages), one text
    articles = [await pipeline.wait_for_article(article_id) for article_id in ids + copy_ids]
    assert len({a["story_id"] for a in articles[:3]}) == 1, [a["story_id"] for a in articles[:3]]
    assert [bool(a.get("duplicate_of")) for a in articles[3:]] == [False, True, True]
    await eventually(lambda: receiver.has_at_least(path, 1), "the breaking alert")
    await eventually(lambda: _settled(pipeline), "the alert stages to be idle")
    breaking = _the_one_alert(receiver, path, created)
    assert breaking["kind"] == "breaking" and breaking["story_id"] == articles[0]["story_id"]
    assert breaking["breaking"]["sources"] == ["Reuters", "AFP", "Le Monde"]
    assert story in breaking["title"].lower()


async def test_the_alerts_page_shows_destinations_their_states_and_the_volume_chart(
        pipeline: Pipeline, receiver: Receiver) -> None:
    from playwright.async_api import async_playwright, expect

    from tests.conftest import REPO_ROOT
    from tests.integration.test_search_page import CHROMIUM_ARGS, _chromium
    from tests.stack import create_key

    key = create_key(pipeline, f"page {uuid.uuid4().hex[:6]}")
    marker = _marker()
    gone, slack = f"gone-{marker}", _slack_path()
    receiver.fail[gone] = 10_000

    async def known() -> bool:
        return (await pipeline.search.get("/subscriptions", headers=auth(key))).status_code == 200

    await eventually(known, "the API to know the new key")
    created = await subscribe(pipeline, key, name=f"page {marker}", query=marker, destinations=[
        {"channel": "webhook", "target": receiver.url(gone)},
        {"channel": "slack", "target": receiver.url(slack)}])
    await pipeline.submit(_article(marker))

    async def both_final() -> bool:
        alerts = await _history(pipeline, key, created["subscription_id"])
        states = {d["channel"]: d["state"] for d in alerts[0]["deliveries"]} if alerts else {}
        return states == {"slack": "delivered", "webhook": "failed"}

    await eventually(both_final, "slack delivered and the webhook given up, in the history")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        await page.goto(f"http://127.0.0.1:{pipeline.settings.search_port}/alerts")
        await page.fill("#api-key", key)
        await page.click("#load")
        box = page.locator(".subscription", has_text=f"page {marker}")
        await expect(box.locator(".destinations li")).to_have_count(2)
        await expect(box.locator(".destinations li", has_text="slack")).to_contain_text("enabled")
        await expect(box.locator(".state.delivered")).to_have_text("slack delivered")
        await expect(box.locator(".state.failed")).to_have_text("webhook failed")
        await expect(box.locator("svg.chart polyline.count")).to_have_count(1)
        await expect(box.locator(".meta", has_text="articles,")).to_contain_text("last 7 days: 1 articles")
        await page.screenshot(path=str(REPO_ROOT / "test-output" / "screenshots" / "alerts-destinations.png"))
        await browser.close()
