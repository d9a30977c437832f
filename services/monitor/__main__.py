"""python -m services.monitor: the ops API and page on NEWSFLOW_MONITOR_PORT (8002)."""

from services.monitor.app import create_app
from shared.http.serve import serve
from shared.runtime.preflight import preflight_or_exit
from shared.settings import get_settings

settings = get_settings()
preflight_or_exit(settings, elasticsearch=True, elasticsearch_may_be_away=True)
serve(create_app(settings), settings, settings.monitor_host, settings.monitor_port)
