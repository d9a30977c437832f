"""Enrichment stage: extracted articles → language and named entities."""
