"""python -m services.search_api: search, subscriptions and the pages on NEWSFLOW_SEARCH_PORT (8000)."""

from services.search_api.app import create_app
from shared.http.serve import run_api

if __name__ == "__main__":
    run_api(create_app, "search", elasticsearch=True)
