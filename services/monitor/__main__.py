"""python -m services.monitor: the ops API and page on NEWSFLOW_MONITOR_PORT (8002)."""

from services.monitor.app import create_app
from shared.http.serve import run_api

if __name__ == "__main__":
    run_api(create_app, "monitor", elasticsearch=True, elasticsearch_may_be_away=True)
