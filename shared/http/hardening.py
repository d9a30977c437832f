"""The doors every API shares, installed by one call in each app factory:

- a request-body limit that refuses a large body (413) while it is read, before any route or
  key check reads it (`BodyLimit`);
- an optional allowed-hosts check (NEWSFLOW_ALLOWED_HOSTS): another Host header is a 400, so
  a DNS-rebinding page cannot read the open endpoints; /health and /metrics stay open to
  probes and scrapers, which come by address;
- the failed-key throttle (`FailedKeys`, used by every key check);
- feed tokens (the feed's only secret, in its URL) scrubbed from the access log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http.api_keys import FailedKeys
from shared.http.body_limit import BodyLimit
from shared.settings import Settings

OPEN_PATHS = ("/health", "/metrics")
_FEED_TOKEN = re.compile(r"(/feeds/)[^/?#\s]+")


class AllowedHosts:
    def __init__(self, app: ASGIApp, hosts: list[str]) -> None:
        self.app = app
        self.guarded = TrustedHostMiddleware(app, allowed_hosts=hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and not any(
                path == open_path or path.startswith(open_path + "/") for open_path in OPEN_PATHS):
            await self.guarded(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def scrub(path: str) -> str:
    return _FEED_TOKEN.sub(r"\1<token>", path)


class ScrubSecrets(logging.Filter):
    """uvicorn's access records carry (client, method, path, version, status) as args."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], scrub(args[2]), *args[3:])
        return True


def install_access_log_scrubbing() -> None:
    """On the logger, not a handler: it survives uvicorn's logging set-up, which replaces
    handlers but keeps the logger's filters."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, ScrubSecrets) for f in access.filters):
        access.addFilter(ScrubSecrets())


def harden(app: FastAPI, settings: Settings, body_limit: Callable[[str], int] | None = None) -> None:
    app.state.failed_keys = FailedKeys(settings.failed_key_limit, settings.failed_key_window_seconds)
    app.add_middleware(BodyLimit, limit_for=body_limit or (lambda _path: settings.api_max_body_bytes))
    hosts = [host.strip() for host in settings.allowed_hosts.split(",") if host.strip()]
    if hosts:
        app.add_middleware(AllowedHosts, hosts=hosts)  # added last: runs first
    install_access_log_scrubbing()
