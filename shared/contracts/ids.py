"""Deterministic article ids: the same article always gets the same id, whoever submits it."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that track the reader rather than identify the page.
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|ref|ref_src|smid)$")
_WHITESPACE = re.compile(r"\s+")


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no tracking parameters, sorted query, no
    default port and no trailing slash: the forms one page is commonly linked under."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname.lower()
    if host.startswith("www."):
        host = host[4:]
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAMS.match(k.lower())
    )
    path = parts.path.rstrip("/") or "/"
    # http and https serve the same article; the id must not depend on which one was linked.
    return urlunsplit(("https", host, path, urlencode(query), ""))


def normalized_text(text: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _digest(kind: str, value: str) -> str:
    return f"{kind}{hashlib.sha256(value.encode()).hexdigest()[:31]}"


def article_id(url: str | None, content: str | None) -> str:
    """From the canonical URL when there is one, else from the normalised content.

    The first character says which ("u" or "c") so an id can be explained later."""
    if url:
        return _digest("u", canonical_url(url))
    if content and content.strip():
        return _digest("c", normalized_text(content))
    raise ValueError("an article needs a URL or some content to get an id")
