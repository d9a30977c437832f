"""A processing budget for one message: the pure step runs in a child process that is killed
when it overruns, so one hostile article can cost at most `seconds` of a partition's time.

Why a process and not a thread: a thread cannot be stopped, so a runaway NLP call would keep a
core (and its memory) after its budget ran out; a process is killed and replaced. The child is
started with `spawn` (no fork of a process that holds the broker client's threads) and warmed
once (`warm` loads its models) before the stage reads its first message.

A message over its budget, or one whose child process dies (out of memory, a crash in a C
extension), is the message's fault: `InvalidMessage`, so the runtime dead-letters it and moves
on. The process pool is then rebuilt and warmed again.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from shared.runtime.dead_letters import InvalidMessage

log = logging.getLogger(__name__)


def _noop() -> None:
    return None


def _exit_with_parent(parent: int) -> None:
    """In the child: exit as soon as the stage process is gone (SIGKILL gives it no chance to
    stop its children), so a killed worker never leaves a model-sized orphan behind. SIGTERM
    and SIGINT, which reach the whole process group, are the stage's to act on: the child
    finishes its message and is shut down with the pool."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


class IsolatedStep:
    """`await step(message)` runs `function(message)` in the child within `seconds`.

    `function` and `warm` must be importable module-level callables (or partials of them), and
    messages picklable (pydantic models are)."""

    def __init__(self, function: Callable[[Any], Any], seconds: float,
                 warm: Callable[[], Any] = _noop, name: str = "step") -> None:
        self.function = function
        self.seconds = seconds
        self.warm = warm
        self.name = name
        self._pool: ProcessPoolExecutor | None = None
        self.restarts = 0

    async def start(self) -> None:
        """Starts and warms the child; call before the first message (it may take seconds)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1,
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_exit_with_parent, initargs=(os.getpid(),))
            started = time.perf_counter()
            await asyncio.get_running_loop().run_in_executor(self._pool, self.warm)
            log.info("%s: child process ready in %.1fs", self.name, time.perf_counter() - started)

    async def __call__(self, message: Any) -> Any:
        await self.start()
        assert self._pool is not None
        future = asyncio.get_running_loop().run_in_executor(self._pool, self.function, message)
        try:
            return await asyncio.wait_for(future, self.seconds)
        except TimeoutError:
            self._kill()
            raise InvalidMessage(f"{self.name} took longer than its budget of {self.seconds:g}s "
                                 "(NEWSFLOW_STAGE_BUDGET_SECONDS)", "BudgetExceeded") from None
        except BrokenProcessPool:
            self._kill()
            raise InvalidMessage(f"the {self.name} process died on this message (out of memory, "
                                 "or a crash in native code)", "WorkerCrashed") from None

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The executor cannot cancel a running call; killing its process can.
        for process in list(getattr(pool, "_processes", {}).values()):
            if process.is_alive():
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        self.restarts += 1

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
