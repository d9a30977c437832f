"""Prometheus metrics, defined once (prometheus-client): base units, `_total` counters,
`_seconds` histograms, labels of low cardinality (stage, service, route, outcome; never an
article or a subscription).

HTTP services mount `/metrics` and count every request (`instrument_app`); stage workers serve
`/metrics` (with `/healthz` and `/readyz`, shared/runtime/probes.py) on the port their row of the
topology table names (`serve_metrics`; a second worker of a stage on the same host takes the
port `SAME_HOST_PORT_STEP` further on). Every one says who it is in `newsflow_component_info`,
so a scrape shows whether a target is the component its scrape config labels it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import Counter, Gauge, Histogram, Info, make_asgi_app

from shared.contracts.topology import SAME_HOST_PORT_STEP, StageSpec
from shared.runtime.probes import Probes, start_probe_server
from shared.settings import Settings

log = logging.getLogger(__name__)

COMPONENT = Info("newsflow_component", "Which component of the topology table this process is")
MESSAGES_PROCESSED = Counter("newsflow_messages_processed_total",
                             "Messages a stage handled (delivered to its destination)", ["stage"])
MESSAGES_DEAD_LETTERED = Counter("newsflow_messages_dead_lettered_total",
                                 "Messages a stage sent to the dead-letter topic", ["stage", "error_type"])
BATCH_SECONDS = Histogram("newsflow_batch_processing_seconds",
                          "Time to handle one batch, decode to acknowledgement", ["stage"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
BULK_DOCUMENTS = Histogram("newsflow_bulk_documents", "Documents per bulk request to Elasticsearch",
                           buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000))
BULK_RETRIES = Counter("newsflow_bulk_retries_total", "Bulk items retried after 429/5xx")
INDEX_UNAVAILABLE = Counter("newsflow_index_unavailable_waits_total",
                            "Bulk requests waited out: Elasticsearch unreachable, blocked or refusing")
SEARCH_CACHE = Counter("newsflow_search_cache_total", "First-page searches answered from the exact "
                       "answer cache (hit) or by Elasticsearch (miss)", ["result"])
ALERTS_MATCHED = Counter("newsflow_alerts_matched_total", "Alert events the matcher produced")
DELIVERY_ATTEMPTS = Counter("newsflow_delivery_attempts_total",
                            "Delivery attempts by channel and outcome",
                            ["channel", "outcome"])  # delivered, failed, error, refused
DELIVERY_SECONDS = Histogram("newsflow_delivery_attempt_seconds", "Time of one delivery attempt",
                             ["channel"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15))
TASK_RESTARTS = Counter("newsflow_task_restarts_total",
                        "Background tasks restarted after an unexpected error", ["task"])
TASKS_DOWN = Gauge("newsflow_tasks_down", "Background tasks not running right now (crashed and "
                   "waiting to restart, or ended)")
HTTP_REQUESTS = Counter("newsflow_http_requests_total", "HTTP requests answered",
                        ["service", "method", "route", "status"])
HTTP_SECONDS = Histogram("newsflow_http_request_duration_seconds", "HTTP request duration",
                         ["service", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

# The monitor's view of the pipeline.
CONSUMER_LAG = Gauge("newsflow_consumer_lag_messages", "Messages a stage's group has not committed",
                     ["stage"])
CONSUMER_LAG_SECONDS = Gauge("newsflow_consumer_lag_seconds",
                             "Age of the oldest message a stage's group has not committed", ["stage"])
GROUP_STATUS = Gauge("newsflow_group_status", "Burrow status of a stage's group: 0 OK, 1 WARN, 2 ERR",
                     ["stage"])
TOPIC_END_OFFSET = Gauge("newsflow_topic_end_offset", "Sum of a topic's partition end offsets "
                         "(rate() of it is messages in per second)", ["topic"])
STAGE_LATENCY = Gauge("newsflow_stage_latency_seconds", "Time in a stage (or ingest to a point), "
                      "percentiles over the last 5 minutes", ["stage", "quantile"])
DEAD_LETTERS = Gauge("newsflow_dead_letters", "Letters on the dead-letter topic", ["stage"])
LIVE_WORKERS = Gauge("newsflow_live_workers", "Workers of a stage that sent a heartbeat lately", ["stage"])


def metrics_port(settings: Settings, spec: StageSpec) -> int:
    return settings.metrics_port or spec.port


def serve_metrics(settings: Settings, spec: StageSpec, probes: Probes, tries: int = 50) -> int | None:
    """`/metrics`, `/healthz` and `/readyz` for a worker; returns the port (None when none was
    free: the worker runs on, unscraped, and says so)."""
    COMPONENT.info({"component": spec.name, "service": spec.service})
    first = metrics_port(settings, spec)
    for port in range(first, first + tries * SAME_HOST_PORT_STEP, SAME_HOST_PORT_STEP):
        try:
            start_probe_server(settings.metrics_host, port, probes)
        except OSError:
            continue
        log.info("%s: metrics and probes on :%d", spec.stage, port)
        return port
    log.warning("%s: no free port for /metrics", spec.stage)
    return None


def instrument_app(app: FastAPI, service: str) -> None:
    """`/metrics` and request counts and durations, by route template (not by raw path)."""
    COMPONENT.info({"component": service, "service": service})
    app.mount("/metrics", make_asgi_app())

    @app.middleware("http")
    async def count_requests(request: Request,
                             call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", None) or ("/metrics" if request.url.path.startswith("/metrics")
                                                    else "unmatched")
        HTTP_REQUESTS.labels(service, request.method, template, str(response.status_code)).inc()
        HTTP_SECONDS.labels(service, template).observe(time.perf_counter() - started)
        return response
