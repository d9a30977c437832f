import uvicorn

from services.search_api.app import create_app
from shared.settings import get_settings

settings = get_settings()
uvicorn.run(create_app(settings), host=settings.search_host, port=settings.search_port)
