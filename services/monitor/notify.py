"""Ops notices through the keyword alerts' delivery: when a stage's group leaves OK (or comes
back), or its dead letters grow, every active `ops` subscription gets an alert event on
`news.alerts`, which the deliverer signs, retries and rate-limits like any other; the live
stream and the Atom feed show it too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.contracts.alerts import AlertEvent, Subscription, short_hash
from shared.contracts.monitor import GroupView
from shared.contracts.topology import Topic, topic_name
from shared.runtime.tables import Table
from shared.settings import Settings

SOURCE = "newsflow monitor"


class OpsNotifier:
    def __init__(self, settings: Settings, producer: Any, subscriptions: Table[Subscription]) -> None:
        self.settings = settings
        self.producer = producer
        self.subscriptions = subscriptions
        self.statuses: dict[str, str] = {}
        self.letters: dict[str, int] | None = None  # per stage, at the last look

    def notices(self, groups: list[GroupView],
                letters_by_stage: dict[str, int]) -> list[tuple[str, str, str]]:
        """(stage, title, detail) of what changed since the last look."""
        found = []
        for group in groups:
            stage, status = group.name, group.status
            before = self.statuses.get(stage)
            self.statuses[stage] = status
            if before is not None and before != status:
                stuck = sorted({p.status for p in group.partitions if p.status != "OK"})
                detail = (f"lag {group.lag} messages, {group.lag_seconds:.0f} s; "
                          f"{len(group.workers)} live workers")
                if stuck:
                    detail += f"; partitions {', '.join(stuck)}"
                found.append((stage, f"{stage}: {before} → {status}", detail))
        if self.letters is not None:
            for stage, count in sorted(letters_by_stage.items()):
                grown = count - self.letters.get(stage, 0)
                if grown > 0:
                    found.append((stage, f"{stage}: {grown} new dead letter{'s' * (grown > 1)}",
                                  f"{count} in all; see /ops/deadletters?stage={stage}"))
        self.letters = dict(letters_by_stage)
        return found

    async def observe(self, groups: list[GroupView], letters_by_stage: dict[str, int]) -> int:
        """Sends the notices to every active ops subscription; returns how many events."""
        notices = self.notices(groups, letters_by_stage)
        watchers = [s for s in self.subscriptions.values() if s.kind == "ops" and s.active]
        now = datetime.now(UTC)
        sent = 0
        for stage, title, detail in notices:
            for subscription in watchers:
                event = AlertEvent(
                    alert_id="al_" + short_hash(subscription.subscription_id, "ops", title, now.isoformat()),
                    subscription_id=subscription.subscription_id, owner=subscription.owner,
                    article_id=f"ops:{stage}", title=title, summary=detail, source=SOURCE,
                    submitted_at=now, matched_at=now)
                await self.producer.send_and_wait(topic_name(self.settings, Topic.ALERTS), event.to_bytes(),
                                                  key=subscription.owner.encode())
                sent += 1
        return sent
