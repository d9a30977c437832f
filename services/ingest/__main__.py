import uvicorn

from services.ingest.app import create_app
from shared.runtime.preflight import preflight_or_exit
from shared.settings import get_settings

settings = get_settings()
preflight_or_exit(settings, elasticsearch=False)
uvicorn.run(create_app(settings), host=settings.ingest_host, port=settings.ingest_port)
