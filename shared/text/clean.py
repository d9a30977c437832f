"""What every submitted string is made into before it enters the pipeline.

- Lone surrogates (U+D800 to U+DFFF, which JSON's \\ud800 escapes can carry but UTF-8 cannot
  encode) become U+FFFD, the replacement character; NUL characters are removed.
- Runs of combining marks are cut to 2 per character ("zalgo" text: Vietnamese needs 2 at most),
  so a few visible characters cannot hide megabytes.
"""

from __future__ import annotations

import re
from typing import Any

_COMBINING = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_MARK_RUN = re.compile(f"([{_COMBINING}]{{2}})[{_COMBINING}]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    if _SURROGATE.search(text):
        # A valid pair becomes its character; a lone half becomes U+FFFD.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _MARK_RUN.sub(r"\1", text.replace("\x00", ""))


def clean_strings(value: Any) -> Any:
    """clean_text applied to every string in nested dicts and lists."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_strings(k): clean_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_strings(v) for v in value]
    return value
