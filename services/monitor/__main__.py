"""python -m services.monitor: the ops API and page on NEWSFLOW_MONITOR_PORT (8002)."""

import uvicorn

from services.monitor.app import create_app
from shared.runtime.preflight import preflight_or_exit
from shared.settings import get_settings

settings = get_settings()
preflight_or_exit(settings, elasticsearch=True, elasticsearch_may_be_away=True)
uvicorn.run(create_app(settings), host=settings.monitor_host, port=settings.monitor_port)
