"""The matcher's step: alert ids per story or per article, paused and deleted subscriptions,
duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

from services.alerts.live import LiveSubscriptions
from shared.contracts.alerts import Subscription
from shared.contracts.messages import EnrichedArticle, SourceInfo


def article(article_id: str, story_id: str, duplicate_of: str | None = None) -> EnrichedArticle:
    return EnrichedArticle(
        article_id=article_id, title="Guterres visits Pyongyang", body="The UN chief arrived.",
        language="en", source=SourceInfo(name="Wire"), submitted_at=datetime(2026, 11, 24, tzinfo=UTC),
        story_id=story_id, duplicate_of=duplicate_of,
        stems="guterr visit pyongyang the un chief arriv", title_stems="guterr visit pyongyang")


def subscription(sid: str, **fields: object) -> Subscription:
    defaults: dict[str, object] = {"query": "Guterres"}
    return Subscription(subscription_id=sid, owner="k1", name=sid, feed_token="t",
                        **(defaults | fields))  # type: ignore[arg-type]


def test_story_subscriptions_share_one_alert_id_per_story_article_ones_do_not() -> None:
    live = LiveSubscriptions()
    live.on_change("story", subscription("story"))
    live.on_change("every", subscription("every", notify_on="article"))
    first, second = live.alerts_for(article("a1", "s1")), live.alerts_for(article("a2", "s1"))
    ids = {a.subscription_id: (a.alert_id, b.alert_id) for a, b in zip(first, second, strict=True)}
    assert ids["story"][0] == ids["story"][1]
    assert ids["every"][0] != ids["every"][1]
    assert all(a.owner == "k1" and a.title == "Guterres visits Pyongyang" for a in first)


def test_paused_deleted_and_duplicates_do_not_alert() -> None:
    live = LiveSubscriptions()
    live.on_change("s", subscription("s"))
    assert len(live.alerts_for(article("a1", "s1"))) == 1
    assert live.alerts_for(article("a2", "s1", duplicate_of="a1")) == []
    live.on_change("s", subscription("s", active=False))
    assert live.alerts_for(article("a3", "s2")) == []
    live.on_change("s", subscription("s"))
    live.on_change("s", None)
    assert live.alerts_for(article("a4", "s3")) == []


def test_a_changed_query_matches_from_then_on() -> None:
    live = LiveSubscriptions()
    live.on_change("s", subscription("s", query="Feltman"))
    assert live.alerts_for(article("a1", "s1")) == []
    live.on_change("s", subscription("s", query="Pyongyang"))
    assert [a.subscription_id for a in live.alerts_for(article("a1", "s1"))] == ["s"]


def test_a_revoked_keys_subscriptions_match_nothing_whichever_row_comes_first() -> None:
    from shared.http.api_keys import new_key, revoked

    live = LiveSubscriptions()
    record, _ = new_key("desk")
    live.on_change("s", subscription("s").model_copy(update={"owner": record.key_id}))
    assert live.alerts_for(article("a1", "st1"))
    live.on_key(record.key_id, revoked(record))
    assert live.alerts_for(article("a2", "st2")) == []
    # A row of the revoked key arriving afterwards (a restart reads keys first) stays out too.
    live.on_change("t", subscription("t").model_copy(update={"owner": record.key_id}))
    assert live.alerts_for(article("a3", "st3")) == []


def test_an_alert_says_which_words_matched_where_with_a_passage() -> None:
    live = LiveSubscriptions()
    live.on_change("s", subscription("s", query="guter* AND chief NEAR/0 arrived"))
    [alert] = live.alerts_for(article("a1", "s1"))
    assert [(m.field, m.terms) for m in alert.matched] == [("title", ["guterres"]),
                                                           ("text", ["chief arrived"])]
    assert alert.snippet == "Guterres visits Pyongyang The UN chief arrived."


def test_shards_hold_disjoint_subscriptions_and_together_tell_every_alert() -> None:
    from shared.settings import Settings

    whole = LiveSubscriptions()
    shards = [LiveSubscriptions(Settings(shards=3, shard=n)) for n in range(3)]
    for n in range(60):
        query = "Guterres" if n % 2 else "Pyongyang OR Feltman"  # two queries, each asked 30 times
        for live in (whole, *shards):
            live.on_change(f"s{n}", subscription(f"s{n}", query=query))
    held = [set(live.subscriptions) for live in shards]
    assert sum(map(len, held)) == 60 and set().union(*held) == set(whole.subscriptions)
    assert all(held) and not any(a & b for i, a in enumerate(held) for b in held[i + 1:])
    told = sorted(alert.alert_id for live in shards for alert in live.alerts_for(article("a1", "s1")))
    assert len(told) == 60 and told == sorted(a.alert_id for a in whole.alerts_for(article("a1", "s1")))
    # 60 subscriptions, two distinct queries: each compiled and held once
    assert len(whole.index) == 60 and len(whole.index.queries) == 2
