import uvicorn

from services.ingest.app import create_app
from shared.settings import get_settings

settings = get_settings()
uvicorn.run(create_app(settings), host=settings.ingest_host, port=settings.ingest_port)
