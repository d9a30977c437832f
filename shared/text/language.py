"""Language identification with py3langid, which ships its model (no download at run time)."""

from __future__ import annotations

import py3langid

_SAMPLE_CHARS = 1200  # a few sentences decide it; the cost grows with the length


def detect_language(text: str) -> str | None:
    if not text.strip():
        return None
    language, _score = py3langid.classify(text[:_SAMPLE_CHARS])
    return str(language) if language else None


def load_model() -> None:
    """Loads the model now (half a second), not while the first article waits."""
    detect_language("warm up")
