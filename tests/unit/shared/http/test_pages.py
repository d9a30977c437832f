"""The pages' security headers: the inline script allowed by its hash, nothing else."""

from __future__ import annotations

import base64
import hashlib

from fastapi.testclient import TestClient

from services.search_api.app import create_app
from shared.http.pages import security_headers
from shared.settings import Settings


def test_only_the_pages_own_script_may_run() -> None:
    headers = security_headers("<html><script>go()</script></html>")
    digest = base64.b64encode(hashlib.sha256(b"go()").digest()).decode()
    policy = headers["Content-Security-Policy"]
    assert f"script-src 'self' 'sha256-{digest}';" in policy and "'unsafe-inline';" not in policy.split(
        "style-src")[0]
    assert "frame-ancestors 'none'" in policy and headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"


def test_the_search_and_alerts_pages_carry_the_headers() -> None:
    client = TestClient(create_app(Settings()))
    for path in ("/", "/alerts"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert "'sha256-" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
