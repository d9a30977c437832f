"""Indexing stage: enriched articles → Elasticsearch, in bounded bulk batches."""
