import uvicorn

from services.search_api.app import create_app
from shared.runtime.preflight import preflight_or_exit
from shared.settings import get_settings

settings = get_settings()
preflight_or_exit(settings, elasticsearch=True)
uvicorn.run(create_app(settings), host=settings.search_host, port=settings.search_port)
