"""Keyword alerts: subscriptions in the search query language, matched against the stream."""
