"""Extraction stage: raw submissions → clean, structured articles."""
