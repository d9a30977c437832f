"""Prometheus from the table: the local scrape config (every component on 127.0.0.1 at its
row's port), compose's (each component found by DNS under its service name, so every replica is
scraped), and the target rules: a target that does not answer, a component with no target at
all, a stage whose lag the monitor stopped reporting."""

from __future__ import annotations

from typing import Any

from deploy.generate.common import Component, dns_name, dump
from shared.contracts.topology import COMPONENTS, consuming_stages

GLOBAL = {"scrape_interval": "15s", "evaluation_interval": "15s"}
RULE_FILES = ["rules.yml", "targets.rules.yml"]
# The label every newsflow target carries (not `service`: the HTTP metrics have a label of
# that name, which a target label would rename to exported_service).
LABEL = "component"


def metrics_path(component: Component) -> str:
    # The APIs mount prometheus-client's ASGI app at /metrics, which answers on /metrics/.
    return "/metrics/" if component.api else "/metrics"


def _job(component: Component, **discovery: Any) -> dict[str, Any]:
    return {"job_name": f"newsflow-{dns_name(component)}", "metrics_path": metrics_path(component),
            **discovery}


def local_config() -> str:
    jobs = [_job(c, static_configs=[{"targets": [f"127.0.0.1:{c.port}"], "labels": {LABEL: c.name}}])
            for c in COMPONENTS]
    return dump({"global": GLOBAL, "rule_files": RULE_FILES, "scrape_configs": jobs})


def compose_config() -> str:
    """Docker's DNS answers a service's name with every replica's address."""
    jobs = [_job(c, dns_sd_configs=[{"names": [dns_name(c)], "type": "A", "port": c.port,
                                     "refresh_interval": "30s"}],
                 relabel_configs=[{"target_label": LABEL, "replacement": c.name}])
            for c in COMPONENTS]
    return dump({"global": GLOBAL, "rule_files": RULE_FILES, "scrape_configs": jobs})


def target_rule_groups() -> list[dict[str, Any]]:
    down = {"alert": "NewsflowTargetDown", "expr": f'up{{{LABEL}!=""}} == 0', "for": "2m",
            "labels": {"severity": "page"},
            "annotations": {"summary": f"{{{{ $labels.{LABEL} }}}} at {{{{ $labels.instance }}}} "
                                       "does not answer scrapes",
                            "description": "The target is listed but down: the process is gone, "
                                           "stuck or unreachable."}}
    absent = [{"alert": "NewsflowComponentAbsent", "expr": f'absent(up{{{LABEL}="{c.name}"}})',
               "for": "5m", "labels": {"severity": "page", LABEL: c.name},
               "annotations": {"summary": f"no {c.name} target is scraped",
                               "description": "Nothing runs it, or the scrape config lost it."}}
              for c in COMPONENTS]
    lag = [{"alert": "NewsflowLagAbsent",
            "expr": f'absent(newsflow_consumer_lag_messages{{stage="{s.name}"}})', "for": "10m",
            "labels": {"severity": "warn", "stage": s.name},
            "annotations": {"summary": f"the monitor reports no lag for {s.name}",
                            "description": "The monitor is down, or it no longer watches this "
                                           "stage's group."}}
           for s in consuming_stages()]
    return [{"name": "newsflow-targets", "rules": [down, *absent, *lag]}]


def target_rules() -> str:
    return dump({"groups": target_rule_groups()})
