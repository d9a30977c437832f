"""The one retry policy for everything sent until it is acknowledged (stage outputs, dead
letters, delivery states, the linker's decisions, bulk requests): exponential backoff with jitter
(so retrying workers do not hammer a recovering server in step), no limit on attempts (the
message is not at fault, the server is away), and SIGTERM ending the wait at once (`Stopping`:
the batch stays uncommitted and is processed again after the restart).

The loop itself is tenacity's (`AsyncRetrying`); what is ours is the wait that a stop event can
cut short and the log line. Paths that decide per attempt what to send again (the linker's
decisions from the first unacknowledged one, the indexer's refused documents) keep their own
loop and take `backoff` and `sleep_unless_stopped` from here.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable

from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_never

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0
# What a broker or network outage raises; anything else is a bug and is not retried here.
TRANSIENT: tuple[type[BaseException], ...] = (KafkaError, OSError, TimeoutError)
# ... except these, which the same message would raise again.
PERMANENT: tuple[type[BaseException], ...] = (MessageSizeTooLargeError,)


class Stopping(Exception):
    """Asked to stop while waiting out an outage: leave the batch uncommitted."""


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: 0.2 s doubling to 30 s, jittered to 50-100%."""
    return float(min(MAX_BACKOFF_SECONDS, 0.2 * 2**attempt) * (0.5 + random.random() / 2))


async def sleep_unless_stopped(stop: asyncio.Event | None, seconds: float) -> None:
    """Sleeps, but raises Stopping as soon as the stage is asked to stop."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    if stop.is_set():
        raise Stopping()
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
    raise Stopping()


def until_acknowledged(what: str, stop: asyncio.Event | None = None,
                       transient: tuple[type[BaseException], ...] = TRANSIENT) -> AsyncRetrying:
    """`async for attempt in until_acknowledged(...): with attempt: ...` repeats the block
    until it raises nothing `transient`; other errors (and `PERMANENT` ones) go through at once."""

    def retried(error: BaseException) -> bool:
        return isinstance(error, transient) and not isinstance(error, PERMANENT)

    def sleep(seconds: float) -> Awaitable[None]:
        return sleep_unless_stopped(stop, seconds)

    def wait(state: RetryCallState) -> float:
        return backoff(state.attempt_number - 1)

    def told(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s failed (%s); retrying in %.1fs", what, error,
                    state.next_action.sleep if state.next_action else 0.0)

    return AsyncRetrying(retry=retry_if_exception(retried), wait=wait, stop=stop_never,
                         sleep=sleep, before_sleep=told, reraise=True)
