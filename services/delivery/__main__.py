"""python -m services.delivery: news.alerts → every destination (webhook, email, Slack, Teams:
services/delivery/channels/), retried, rate-limited, digested and dead-lettered alike.

The stage's sink records each alert's delivery state (news.deliveries) before its offset is
committed; the attempts run beside it on their own tasks, from that table. With several
workers, each attempts the alerts of the owners whose `news.alerts` partitions it holds.
"""

from services.delivery.sink import make_sink
from shared.contracts.topology import Stage, spec
from shared.runtime.stage import latency_bounds, run_stage

if __name__ == "__main__":
    run_stage(spec(Stage.DELIVERY), make_sink, latency_bounds)
