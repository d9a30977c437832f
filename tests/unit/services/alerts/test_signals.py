"""Spike and breaking alerts in the matcher's step: one alert per spike, breaking stories by
independent voices (syndicated copies of one wire count once), records counted once, counts
summed over partitions, and a restart that goes on from the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.alerts.breaking import voice
from services.alerts.live import LiveSubscriptions
from services.alerts.signals import Signals
from shared.contracts.alerts import SignalState, Subscription
from shared.contracts.messages import Dateline, EnrichedArticle, Entity, SourceInfo
from shared.settings import Settings

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def article(n: int, at: datetime, story: str = "st1", source: str = "Wire", agency: str | None = None,
            duplicate_of: str | None = None, url: str | None = None) -> EnrichedArticle:
    return EnrichedArticle(
        article_id=f"a{n}", title=f"Zqx harbour closed {n}", body="The harbour of Zqx closed.",
        language="en", source=SourceInfo(name=source), submitted_at=at, story_id=story, url=url,
        dateline=Dateline(place="ZQX", agency=agency) if agency else None, duplicate_of=duplicate_of,
        people=[Entity(name="Ana Vidal")], stems="zqx harbour close the harbour of zqx close",
        title_stems="zqx harbour close")


def subscription(sid: str, **fields: object) -> Subscription:
    return Subscription.model_validate({"subscription_id": sid, "owner": "k1", "name": sid,
                                        "query": "Zqx", "feed_token": "t", **fields})


def live_with(*subscriptions: Subscription) -> LiveSubscriptions:
    live = LiveSubscriptions(Settings())
    for sub in subscriptions:
        live.on_change(sub.subscription_id, sub)
    live.signals.owned = {0, 1}
    return live


def test_a_burst_is_one_spike_alert_with_its_counts_and_samples() -> None:
    live = live_with(subscription("v", kind="volume"))
    told = []
    for n in range(12):  # a quiet start, then 12 articles in 12 minutes
        told += live.alerts_for(article(n, T0 + timedelta(minutes=n), story=f"s{n}", source=f"P{n % 3}"),
                                0, n)
    assert len(told) == 1
    spike = told[0]
    assert spike.kind == "volume" and spike.volume is not None
    assert (spike.volume.window, spike.volume.count, spike.volume.baseline) == ("hour", 5, 0.0)
    assert spike.article_id == "a4"  # the fifth article crossed the minimum
    assert spike.volume.top_entities == ["Ana Vidal"] and set(spike.volume.top_sources) == {"P0", "P1", "P2"}
    assert [s.article_id for s in spike.volume.samples] == ["a4", "a3", "a2"]
    assert spike.matched and spike.matched[0].terms == ["zqx"]
    # the spike ends when the rule stops holding; the next one is a new alert (6 articles: the
    # day, at 19, stays under its minimum of 20)
    later = T0 + timedelta(hours=2)
    assert live.alerts_for(article(50, later, story="x"), 0, 50) == []
    again = [a for n in range(51, 57)
             for a in live.alerts_for(article(n, later + timedelta(seconds=n)), 0, n)]
    assert len(again) == 1 and again[0].alert_id != spike.alert_id
    assert again[0].volume is not None and again[0].volume.window == "hour"
    day = [a for n in range(57, 60) for a in live.alerts_for(article(n, later + timedelta(seconds=n)), 0, n)]
    assert [a.volume.window for a in day if a.volume] == ["day"]  # the day's spike is its own


def test_a_record_is_counted_once_and_partitions_add_up() -> None:
    live = live_with(subscription("v", kind="volume"))
    for n in range(3):
        live.alerts_for(article(n, T0 + timedelta(minutes=n), story=f"s{n}"), 0, n)
    assert live.alerts_for(article(2, T0 + timedelta(minutes=2), story="s2"), 0, 2) == []  # replayed
    rows = live.signals.take_changed()
    assert rows["v/0"] is not None and rows["v/0"].offset == 2
    assert sum(rows["v/0"].counts["hour"].values()) == 3
    told = [a for n in range(3, 5)
            for a in live.alerts_for(article(n, T0 + timedelta(minutes=n), story=f"s{n}"), 1, n)]
    assert len(told) == 1 and told[0].volume is not None and told[0].volume.count == 5


def test_a_restarted_matcher_goes_on_from_the_rows() -> None:
    first = live_with(subscription("v", kind="volume"))
    for n in range(4):
        first.alerts_for(article(n, T0 + timedelta(minutes=n), story=f"s{n}"), 0, n)
    saved = {key: SignalState.model_validate_json(row.to_bytes())
             for key, row in first.signals.take_changed().items() if row is not None}
    second = live_with(subscription("v", kind="volume"))
    second.signals.owned = set()
    for key, row in saved.items():
        second.signals.on_row(key, row)
    second.signals.owned = {0}
    assert second.alerts_for(article(3, T0 + timedelta(minutes=3), story="s3"), 0, 3) == []  # counted
    told = second.alerts_for(article(4, T0 + timedelta(minutes=4), story="s4"), 0, 4)
    assert len(told) == 1 and told[0].volume is not None and told[0].volume.count == 5


def test_three_independent_sources_break_a_story_and_later_ones_update_it() -> None:
    live = live_with(subscription("b", notify_on="breaking", breaking_sources=3, breaking_minutes=30))
    assert live.alerts_for(article(1, T0, source="Le Monde"), 0, 1) == []
    assert live.alerts_for(article(2, T0 + timedelta(minutes=5), source="BBC"), 1, 1) == []
    told = live.alerts_for(article(3, T0 + timedelta(minutes=9), source="El País", agency="Reuters"), 0, 2)
    assert len(told) == 1 and told[0].kind == "breaking" and told[0].breaking is not None
    assert told[0].breaking.sources == ["Le Monde", "BBC", "Reuters"]
    update = live.alerts_for(article(4, T0 + timedelta(minutes=12), source="AFP"), 1, 2)
    assert [u.alert_id for u in update] == [told[0].alert_id]  # the same alert, grown
    assert update[0].breaking is not None and update[0].breaking.sources[-1] == "AFP"


def test_copies_of_one_wire_and_sources_too_far_apart_do_not_break_a_story() -> None:
    live = live_with(subscription("b", notify_on="breaking", breaking_sources=3, breaking_minutes=30))
    copies = [article(n, T0 + timedelta(minutes=n), source=paper, agency="REUTERS")
              for n, paper in enumerate(("Paper A", "Paper B", "Paper C"))]
    assert [a for n, c in enumerate(copies) for a in live.alerts_for(c, 0, n)] == []
    slow = live_with(subscription("b", notify_on="breaking", breaking_sources=3, breaking_minutes=30))
    for n, minutes in enumerate((0, 20, 45)):  # the first is out of the window by the third
        assert slow.alerts_for(article(n, T0 + timedelta(minutes=minutes), source=f"P{n}"), 0, n) == []


def test_a_voice_is_the_credited_wire_else_the_publisher_and_a_duplicate_has_none() -> None:
    assert voice(article(1, T0, source="Daily", agency="Agence France-Presse")) == "AFP"
    assert voice(article(1, T0, source="Daily")) == "Daily"
    assert voice(article(1, T0, source="", url="https://www.example.org/a")) == "example.org"
    assert voice(article(1, T0, duplicate_of="a0")) is None


def test_a_deleted_subscription_takes_its_rows_with_it() -> None:
    live = live_with(subscription("v", kind="volume"))
    live.alerts_for(article(1, T0), 0, 1)
    live.signals.take_changed()
    live.on_change("v", None)
    assert live.signals.take_changed() == {"v/0": None} and live.signals.rows == {}


def test_rows_of_other_partitions_follow_the_table_and_ours_ignore_their_echo() -> None:
    signals = Signals(Settings())
    signals.owned = {0}
    ours = SignalState(subscription_id="v", partition=0, offset=9)
    signals.on_row("v/0", ours)
    signals.on_row("v/0", ours.model_copy(update={"offset": 5}))  # an older echo
    assert signals.rows["v/0"].offset == 9
    signals.on_row("v/1", SignalState(subscription_id="v", partition=1, offset=3))
    signals.on_row("v/1", None)
    assert "v/1" not in signals.rows


def test_partitions_read_out_of_order_still_break_a_story_and_spike() -> None:
    """A later article in one partition may be read before an earlier one in another."""
    live = live_with(subscription("b", notify_on="breaking", breaking_sources=3, breaking_minutes=30))
    assert live.alerts_for(article(1, T0, source="Le Monde"), 0, 1) == []
    assert live.alerts_for(article(3, T0 + timedelta(minutes=9), source="AFP"), 1, 1) == []
    told = live.alerts_for(article(2, T0 + timedelta(minutes=5), source="BBC"), 0, 2)  # read last
    assert len(told) == 1 and told[0].breaking is not None
    assert told[0].breaking.sources == ["Le Monde", "BBC", "AFP"]
    volume = live_with(subscription("v", kind="volume"))
    late = T0 + timedelta(minutes=5, seconds=10)  # the next 5-minute bucket
    for n in range(3):
        assert volume.alerts_for(article(10 + n, late + timedelta(seconds=n * 5), story=f"s{n}"), 1, n) == []
    spike = volume.alerts_for(article(20, T0 + timedelta(minutes=4), story="x"), 0, 1)  # 4 so far
    assert spike == []
    spike = volume.alerts_for(article(21, T0 + timedelta(minutes=4, seconds=1), story="y"), 0, 2)
    assert len(spike) == 1 and spike[0].volume is not None and spike[0].volume.count == 5
