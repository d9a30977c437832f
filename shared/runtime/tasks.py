"""Background tasks that never stop silently. `supervised` runs a coroutine as a task that,
after an unexpected error, logs it (the traceback the first time, a line after that), counts
it in `newsflow_task_restarts_total` and starts it again after a backoff; a task that must not
be restarted (`restart=False`) ends the process non-zero instead, so its supervisor (systemd,
Kubernetes, deploy/local) restarts the whole worker. Cancelling a task stops it, as always.

`down()` names the tasks of this process that are not running right now: the worker's
heartbeat carries them, so the monitor shows a worker whose task died even while its main loop
is still alive.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from shared.runtime.metrics import TASK_RESTARTS, TASKS_DOWN
from shared.runtime.retry import backoff

log = logging.getLogger(__name__)

EXIT_TASK_DIED = 5
_down: set[str] = set()


def down() -> list[str]:
    return sorted(_down)


def _mark(name: str, is_down: bool) -> None:
    (_down.add if is_down else _down.discard)(name)
    TASKS_DOWN.set(len(_down))


def _exit_now(code: int) -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(code)  # not SystemExit: that would only end this task


def supervised(name: str, run: Callable[[], Awaitable[None]], restart: bool = True,
               exit_process: Callable[[int], None] = _exit_now) -> asyncio.Task[None]:
    """`run` is called again for each restart (a coroutine cannot be awaited twice). A run that
    returns ends the task normally."""

    async def keep_running() -> None:
        failures = 0
        try:
            while True:
                _mark(name, False)
                try:
                    await run()
                    return
                except Exception as exc:  # not CancelledError: that one stops the task
                    _mark(name, True)
                    failures += 1
                    TASK_RESTARTS.labels(name).inc()
                    if failures == 1:
                        log.exception("task %r failed; %s", name, "restarting" if restart else "exiting")
                    else:
                        log.error("task %r failed again (%d times): %s", name, failures, exc)
                    if not restart:
                        exit_process(EXIT_TASK_DIED)
                        return
                    await asyncio.sleep(backoff(min(failures, 8)))
        finally:
            _mark(name, False)

    return asyncio.create_task(keep_running(), name=name)
