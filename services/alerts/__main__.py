"""python -m services.alerts: news.enriched → news.alerts, every subscription matched in process.

With NEWSFLOW_SHARDS > 1 a matcher holds the subscriptions of shard NEWSFLOW_SHARD only and
reads every enriched article in that shard's consumer group (docs/alerts.md, "A million
subscriptions"). The API-keys, subscriptions and signals tables are read whole before the
first article (a revoked key's subscriptions match nothing from the moment its row arrives), so a restarted
matcher never misses a subscription and counts spikes and breaking stories on from where the
last one stopped; alert ids are deterministic, so a replayed batch repeats ids and the
deliverer drops the repeats.
"""

from services.alerts.sink import make_sink
from shared.contracts.topology import Stage, spec
from shared.runtime.stage import latency_bounds, run_stage

if __name__ == "__main__":
    run_stage(spec(Stage.ALERTING), make_sink, latency_bounds)
