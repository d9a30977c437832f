"""A request-body limit enforced while the body is read, as ASGI middleware.

Content-Length is checked first (an honest client hears 413 before sending anything); a body
without it (chunked) is counted as it arrives and refused at the first byte over the limit,
so an endless upload never costs more than `limit` bytes of memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http.errors import error_response


class BodyLimit:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for  # path → bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"").decode()
        if length.isdigit() and int(length) > limit:
            await self._refuse(scope, receive, send, f"request body is {length} bytes; the limit is {limit}")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send,
                                   f"request body is over {limit} bytes; the limit is {limit}")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if sent:
                return await receive()  # what comes after the body: a disconnect
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, reason: str) -> None:
        response = error_response(413, "too_large", reason, headers={"Connection": "close"})
        await response(scope, receive, send)
