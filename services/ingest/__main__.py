"""python -m services.ingest: the ingest API on NEWSFLOW_INGEST_PORT (8001)."""

from services.ingest.app import create_app
from shared.http.serve import run_api

if __name__ == "__main__":
    run_api(create_app, "ingest", elasticsearch=False)
