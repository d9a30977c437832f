"""python -m services.history: news.alerts → the alert history in Elasticsearch (history
pages and feeds read it; the API never reads news.alerts from its start)."""

from __future__ import annotations

from services.history.sink import alert_history_sink, bounds
from shared.contracts.topology import Stage, spec
from shared.runtime.stage import run_stage

if __name__ == "__main__":
    run_stage(spec(Stage.HISTORY), alert_history_sink, bounds)
