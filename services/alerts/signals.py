"""The matcher's memory for spike and breaking alerts: per subscription and partition of
news.enriched, the counts (services/alerts/volume.py) and the stories' voices
(services/alerts/breaking.py) that this matcher took from that partition, as rows of the
news.alert-signals table.

- A row holds the offset it has counted up to: a record at or below it (a batch replayed
  after a crash, a partition taken over) is not counted again, so no answer changes.
- The rows a batch changed are written before the batch's offsets are committed, after its
  alerts: a crash in between replays the batch, which tells the same alert again (same id,
  dropped by the deliverer and the history).
- Every matcher follows the whole table, so a subscription's counts are the sum over every
  partition, whichever matcher holds it; a partition that changes hands is read up to the
  table's end before its first record is counted (`AlertSink`).
- Rows are bounded: buckets older than a window's baseline, stories older than their window,
  and samples beyond the last `SAMPLES` are dropped.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from services.alerts.breaking import forget_before, heard, sources_within, voice
from services.alerts.volume import Reading, merged, prune, read, windows
from shared.contracts.alerts import (
    AlertEvent,
    BreakingFacts,
    SampleArticle,
    SignalSample,
    SignalState,
    Spike,
    SpikeFacts,
    Subscription,
    short_hash,
    signal_key,
)
from shared.contracts.messages import EnrichedArticle, utcnow
from shared.settings import Settings

SAMPLES = 10  # per row: the latest matching articles, for a spike's samples and top names
FIRED_KEPT = 500  # broken stories remembered per row (their later articles are updates)
SHOWN = 5  # top entities and sources in a spike alert; 3 samples


class Signals:
    def __init__(self, settings: Settings, mine: Callable[[str], bool] = lambda _sid: True) -> None:
        self.windows = windows(settings)
        self.mine = mine  # which subscriptions' rows this matcher keeps (its shard's)
        self.rows: dict[str, SignalState] = {}
        self.by_subscription: dict[str, set[str]] = {}  # subscription id → its row keys
        self.changed: dict[str, SignalState | None] = {}  # to write after the batch (None: delete)
        self.owned: set[int] = set()  # partitions this matcher counts
        self._lock = threading.Lock()

    # -- the table ---------------------------------------------------------------------
    def on_row(self, key: str, row: SignalState | None) -> None:
        """The table's listener: other matchers' rows, and the echo of ours."""
        if row is not None and not self.mine(row.subscription_id):
            return  # another shard's subscription
        with self._lock:
            mine = self.rows.get(key)
            if row is None:
                if mine is not None and mine.partition not in self.owned:
                    self._drop(key)
                return
            if mine is not None and mine.partition in self.owned and mine.offset >= row.offset:
                return  # ours is as new or newer (the echo of what we wrote)
            self.rows[key] = row
            self.by_subscription.setdefault(row.subscription_id, set()).add(key)

    def forget(self, subscription_id: str) -> None:
        """A deleted (or changed) subscription: its rows go, ours from the table as well."""
        with self._lock:
            for key in list(self.by_subscription.get(subscription_id, ())):
                if self.rows[key].partition in self.owned:
                    self.changed[key] = None
                self._drop(key)

    def _drop(self, key: str) -> None:
        row = self.rows.pop(key, None)
        if row is not None:
            keys = self.by_subscription.get(row.subscription_id, set())
            keys.discard(key)
            if not keys:
                self.by_subscription.pop(row.subscription_id, None)

    def take_changed(self) -> dict[str, SignalState | None]:
        with self._lock:
            changed, self.changed = self.changed, {}
        return changed

    def _own_row(self, subscription_id: str, partition: int, offset: int) -> SignalState | None:
        """This partition's row, advanced to `offset`; None when the record was counted."""
        key = signal_key(subscription_id, partition)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = SignalState(subscription_id=subscription_id, partition=partition,
                                               offset=-1)
            self.by_subscription.setdefault(subscription_id, set()).add(key)
        if offset <= row.offset:
            return None
        row.offset = offset
        row.updated_at = utcnow()
        self.changed[key] = row
        return row

    def _rows_of(self, subscription_id: str) -> list[SignalState]:
        return [self.rows[key] for key in self.by_subscription.get(subscription_id, ())]

    # -- spikes --------------------------------------------------------------------------
    def count(self, subscription: Subscription, article: EnrichedArticle, partition: int,
              offset: int) -> AlertEvent | None:
        """Counts a matching article; the spike alert when it makes one."""
        sid = subscription.subscription_id
        at = article.submitted_at
        now = int(at.timestamp())
        with self._lock:
            row = self._own_row(sid, partition, offset)
            if row is None:
                return None
            for window in self.windows:
                counts = row.counts.setdefault(window.name, {})
                bucket = window.bucket(at)
                counts[bucket] = counts.get(bucket, 0) + 1
                prune(window, counts, now)
            row.samples = [*row.samples, _sample(article)][-SAMPLES:]
            parts = self._rows_of(sid)
            # Read at the latest article counted anywhere (partitions are read in no common
            # order: one read before this article may have come after it).
            moment = max([at, *(sample.submitted_at for p in parts for sample in p.samples)])
            now = int(moment.timestamp())
            told: AlertEvent | None = None
            for window in self.windows:
                reading = read(window, merged(p.counts.get(window.name, {}) for p in parts), now)
                if not reading.spiking:
                    row.spiking.pop(window.name, None)
                    continue
                # A spike some partition saw holding within the window goes on: told already.
                recent = moment - timedelta(seconds=window.length)
                going = [p.spiking[window.name].started for p in parts
                         if window.name in p.spiking and p.spiking[window.name].seen >= recent]
                started = min(going) if going else window.bucket(moment)
                row.spiking[window.name] = Spike(started=started, seen=moment)
                if not going and told is None:
                    told = _spike_alert(subscription, article, reading, parts, started, moment)
            return told

    # -- breaking stories ----------------------------------------------------------------
    def story(self, subscription: Subscription, article: EnrichedArticle, partition: int,
              offset: int) -> AlertEvent | None:
        """Takes a matching article's voice; the breaking alert when its story reaches its
        sources, or an update of that alert for a later article of a story that broke."""
        story_id = article.story_id
        if story_id is None:
            return None
        sid = subscription.subscription_id
        at = article.submitted_at
        with self._lock:
            row = self._own_row(sid, partition, offset)
            if row is None:
                return None
            speaker = voice(article)
            if speaker:
                heard(row.stories, story_id, speaker, at)
            forget_before(row.stories, at - timedelta(minutes=subscription.breaking_minutes))
            parts = self._rows_of(sid)
            sources = sources_within([p.stories[story_id] for p in parts if story_id in p.stories],
                                     at, subscription.breaking_minutes)
            broke = any(story_id in p.fired for p in parts)
            if not broke and len(sources) < subscription.breaking_sources:
                return None
            if not broke:
                row.fired = [*row.fired, story_id][-FIRED_KEPT:]
            facts = BreakingFacts(sources=[s for s, _ in sources], needed=subscription.breaking_sources,
                                  within_minutes=subscription.breaking_minutes,
                                  first_at=sources[0][1] if sources else at)
            alert_id = AlertEvent.make_id(subscription, article.article_id, story_id)
            return _alert(subscription, article, alert_id, kind="breaking", breaking=facts)


def _sample(article: EnrichedArticle) -> SignalSample:
    names = [e.name for group in (article.people, article.organizations, article.places)
             for e in group[:3]]
    return SignalSample(article_id=article.article_id, title=article.title, url=article.url,
                        source=article.source.name, entities=names, submitted_at=article.submitted_at)


def _alert(subscription: Subscription, article: EnrichedArticle, alert_id: str,
           **facts: object) -> AlertEvent:
    return AlertEvent.model_validate({
        "alert_id": alert_id, "subscription_id": subscription.subscription_id,
        "owner": subscription.owner, "article_id": article.article_id, "story_id": article.story_id,
        "title": article.title, "url": article.url, "source": article.source.name,
        "language": article.language, "published_at": article.published_at,
        "submitted_at": article.submitted_at, **facts})


def _spike_alert(subscription: Subscription, article: EnrichedArticle, reading: Reading,
                 parts: list[SignalState], bucket: int, moment: datetime) -> AlertEvent:
    window = reading.window
    recent = sorted((s for p in parts for s in p.samples
                     if s.submitted_at >= moment - timedelta(seconds=window.length)),
                    key=lambda s: s.submitted_at, reverse=True)
    entities = Counter(name for s in recent for name in dict.fromkeys(s.entities))
    sources = Counter(s.source for s in recent if s.source)
    facts = SpikeFacts(
        window="hour" if window.name == "hour" else "day", count=reading.count,
        baseline=round(reading.baseline, 2), baseline_windows=window.baseline_windows,
        threshold=reading.threshold, top_entities=[n for n, _ in entities.most_common(SHOWN)],
        top_sources=[n for n, _ in sources.most_common(SHOWN)],
        samples=[SampleArticle(article_id=s.article_id, title=s.title, url=s.url, source=s.source)
                 for s in recent[:3]])
    alert_id = "al_" + short_hash(subscription.subscription_id, "volume", window.name, str(bucket))
    return _alert(subscription, article, alert_id, kind="volume", volume=facts)
