"""POST /subscriptions:preview: what a query would have told over the last seven days, from
the same search over the index (so a noisy query can be tuned before it is saved). The query
is checked as a subscription's would be.

- `kind: news`: alerts per day, distinct stories, and the newest examples.
- `kind: volume`: the spikes the rule (services/alerts/volume.py) would have told, from date
  histograms of the matching articles' arrival (5-minute buckets for the hour window, hourly
  ones for the day window, each reaching back over its baseline), and the hourly counts with
  their baseline: what the alerts page draws.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from services.alerts.volume import Totals, Window, read, simulate, windows
from services.search_api.deps import NewsIndexDep
from services.search_api.query import PREVIEW_DAYS, SearchRequest, build_query, parse_preview, preview_body
from services.subscriptions.auth import KeyDep
from services.subscriptions.schemas import (
    NewsPreview,
    PreviewIn,
    VolumePreview,
    check_query,
    facet_filters,
)
from shared.contracts.document import DocField
from shared.http.settings_dep import SettingsDep

router = APIRouter(tags=["alerts"])
WEEK = PREVIEW_DAYS * 86400


def _histogram(window: Window, start: int, end: int) -> dict[str, Any]:
    return {"date_histogram": {
        "field": DocField.SUBMITTED_AT, "fixed_interval": f"{window.step}s", "min_doc_count": 0,
        # (no hard_bounds: given as epoch milliseconds, the node drops every bucket)
        "extended_bounds": {"min": start * 1000, "max": end * 1000}}}


def volume_body(request: SearchRequest, spans: list[tuple[Window, int]], now: int) -> dict[str, Any]:
    query = build_query(request)
    oldest = min(start for _, start in spans)
    query["bool"]["filter"].append({"range": {DocField.SUBMITTED_AT: {"gte": oldest * 1000,
                                                                      "format": "epoch_millis"}}})
    return {"query": query, "size": 0, "track_total_hits": True,
            "aggs": {window.name: _histogram(window, start, now) for window, start in spans}}


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def volume_preview(response: dict[str, Any], rule: tuple[Window, ...], now: int) -> dict[str, Any]:
    counts = {window.name: {int(b["key"]) // 1000: b["doc_count"]
                            for b in response["aggregations"][window.name]["buckets"] if b["doc_count"]}
              for window in rule}
    spikes = [{"window": window.name, "at": _iso(r_at), "count": reading.count,
               "baseline": round(reading.baseline, 2), "threshold": reading.threshold}
              for window in rule
              for r_at, reading in simulate(window, counts[window.name], now - WEEK, now)]
    hour = next(w for w in rule if w.name == "hour")
    hour_totals = Totals(hour.step, counts["hour"])
    hourly = []
    for start in range((now - WEEK) // 3600 * 3600 + 3600, now + 1, 3600):
        reading = read(hour, hour_totals, start + 3599)
        hourly.append({"hour": _iso(start), "count": reading.count, "baseline": round(reading.baseline, 2),
                       "threshold": reading.threshold})
    return {"days": PREVIEW_DAYS, "articles": response["hits"]["total"]["value"],
            "spikes": sorted(spikes, key=lambda s: str(s["at"])),
            "spikes_per_window": {w.name: sum(1 for s in spikes if s["window"] == w.name) for w in rule},
            "rule": [{"window": w.name, "baseline_windows": w.baseline_windows, "factor": w.factor,
                      "min_count": w.min_count} for w in rule],
            "hourly": hourly}


@router.post("/subscriptions:preview", summary=f"What a query would have alerted on in the last "
             f"{PREVIEW_DAYS} days", responses={400: {"description": "a query alerts refuse"}},
             response_model=NewsPreview | VolumePreview)
async def preview(body: PreviewIn, _key: KeyDep, index: NewsIndexDep, settings: SettingsDep) -> Any:
    filters = facet_filters(body.filters)
    check_query(body.query, filters)
    request = SearchRequest(q=body.query, filters=filters)
    if body.kind == "news":
        return {"days": PREVIEW_DAYS, **parse_preview(await index.search(preview_body(request)))}
    now = int(datetime.now(UTC).timestamp())
    rule = windows(settings)
    spans = [(window, now - WEEK - window.length * window.baseline_windows) for window in rule]
    return volume_preview(await index.search(volume_body(request, spans, now)), rule, now)
