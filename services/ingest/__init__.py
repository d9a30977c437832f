"""Ingest API: accepts articles over HTTP and publishes them to the raw topic."""
