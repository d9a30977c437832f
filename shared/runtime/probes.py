"""A worker's `/metrics`, `/healthz` and `/readyz`, on the port its topology row names.

`/healthz` (liveness): the worker's event loop ticked lately; a loop stuck for
`STALLED_SECONDS` means a process to restart. `/readyz` (readiness): the worker has started,
is connected and is a member of its consumer group (a standby linker, or a worker beyond the
input's partitions, is a member with no partitions: ready, and waiting). The server runs in a
thread, so a busy loop still answers, and answers "stalled".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

log = logging.getLogger(__name__)

STALLED_SECONDS = 60.0
TICK_SECONDS = 1.0


class Probes:
    """What the probe endpoints report; the worker's loop updates it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.ticked = clock()
        self.ready_check: Callable[[], bool] = lambda: False
        self.stopping = False

    def alive(self) -> bool:
        return self.clock() - self.ticked < STALLED_SECONDS

    def ready(self) -> bool:
        if self.stopping or not self.alive():
            return False
        try:
            return bool(self.ready_check())
        except Exception:  # a client in the middle of a reconnect: not ready, not a crash
            return False

    async def ticking(self) -> None:
        while True:
            self.ticked = self.clock()
            await asyncio.sleep(TICK_SECONDS)


def in_group(consumer: Any) -> bool:
    """Whether a consumer has joined its group (generation known). aiokafka has no public flag
    for it; `assignment()` cannot tell, since a member may hold no partitions."""
    coordinator = getattr(consumer, "_coordinator", None)
    return coordinator is not None and getattr(coordinator, "generation", -1) > 0


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes and probes every few seconds must not fill the log."""


def probe_app(probes: Probes) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in ("/healthz", "/readyz"):
            return metrics(environ, start_response)
        ok = probes.alive() if path == "/healthz" else probes.ready()
        body = json.dumps({"status": "ok" if ok else ("stalled" if not probes.alive() else
                                                       "not ready")}).encode()
        start_response("200 OK" if ok else "503 Service Unavailable",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def start_probe_server(host: str, port: int, probes: Probes) -> _Server:
    """Binds (OSError when the port is taken) and serves in a daemon thread."""
    import threading

    server = make_server(host, port, probe_app(probes), _Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name=f"probes:{port}", daemon=True).start()
    return server
