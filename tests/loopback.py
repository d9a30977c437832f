"""A real HTTP server on a free loopback port, for tests of what sends requests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web


@contextlib.asynccontextmanager
async def serving(handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                  route: str = "/{tail:.*}", method: str = "POST") -> AsyncIterator[int]:
    """Requests (POSTs, or `method`: "*" for any) to `route` answered by `handler`; yields the
    port (the kernel picks a free one)."""
    app = web.Application()
    app.router.add_route(method, route, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()
