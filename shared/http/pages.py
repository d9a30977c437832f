"""The HTML pages (search, alerts, ops) with security headers: a Content-Security-Policy that
lets only the page's own inline script run (by its SHA-256) and only same-origin requests,
no framing, no MIME sniffing, no referrer. The pages set no event-handler attributes, so the
script hash is all they need; their style attributes need 'unsafe-inline' for styles only."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.responses import HTMLResponse

_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def security_headers(html: str) -> dict[str, str]:
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in _SCRIPT.findall(html))
    policy = (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
              "form-action 'self'")
    return {"Content-Security-Policy": policy, "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class Page:
    """A page read once at start-up, answered with its headers."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.headers = security_headers(html)

    def response(self) -> HTMLResponse:
        return HTMLResponse(self.html, headers=self.headers)
