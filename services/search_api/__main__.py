from services.search_api.app import create_app
from shared.http.serve import serve
from shared.runtime.preflight import preflight_or_exit
from shared.settings import get_settings

settings = get_settings()
preflight_or_exit(settings, elasticsearch=True)
serve(create_app(settings), settings, settings.search_host, settings.search_port)
