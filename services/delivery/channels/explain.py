"""Every alert says why it fired, in the words a person reads in an email or a chat message:
the words of the query found in the article and where, a spike's count against its
baseline, a breaking story's independent sources."""

from __future__ import annotations

from shared.contracts.alerts import AlertEvent

FIELD_NAMES = {"text": "the text", "title": "the title", "people": "people",
               "organizations": "organisations", "places": "places", "country": "country",
               "topic": "topic", "source": "source", "lang": "language"}
WINDOW = {"hour": ("in the last hour", "an hour", "hours"), "day": ("in the last day", "a day", "days")}


def explanation(alert: AlertEvent) -> str:
    """One sentence."""
    if alert.volume is not None:
        spike = alert.volume
        recent, per, unit = WINDOW[spike.window]
        return (f"{spike.count} matching articles {recent}, against {spike.baseline:.1f} {per} "
                f"over the {spike.baseline_windows} {unit} before (the threshold was "
                f"{spike.threshold:g})")
    if alert.breaking is not None:
        story = alert.breaking
        return (f"{len(story.sources)} independent sources within {story.within_minutes} minutes: "
                f"{', '.join(story.sources)}")
    found = [f"{', '.join(m.terms)} in {FIELD_NAMES.get(m.field, m.field)}" for m in alert.matched]
    return "Matched " + "; ".join(found) if found else "Matched the subscription's filters"


def headline(alert: AlertEvent, subscription_name: str) -> str:
    """What a chat message or an email subject leads with."""
    if alert.volume is not None:
        return f"Spike: {subscription_name} ({alert.volume.count} articles {WINDOW[alert.volume.window][0]})"
    if alert.breaking is not None:
        return f"Breaking: {alert.title}"
    return alert.title
