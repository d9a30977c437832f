"""Search API: full-text and faceted search over the news index."""
