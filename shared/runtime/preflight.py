"""Before a process starts its work: can it connect with its configuration? One line and an exit
code when it cannot (shared/runtime/security.py), never a traceback, a hang or endless retries."""

from __future__ import annotations

import asyncio
import sys
from typing import NoReturn

from shared.runtime.elasticsearch import check_elasticsearch
from shared.runtime.kafka import check_kafka
from shared.runtime.security import ConnectionProblem
from shared.settings import Settings


async def check_connections(settings: Settings, kafka: bool = True, elasticsearch: bool = False,
                            wait: float = 30.0, elasticsearch_may_be_away: bool = False) -> None:
    """Raises ConnectionProblem (or Unreachable after `wait` seconds without an answer)."""
    if kafka:
        await check_kafka(settings, wait)
    if elasticsearch:
        await check_elasticsearch(settings, wait, must_answer=not elasticsearch_may_be_away)


def exit_on_problem(problem: ConnectionProblem) -> NoReturn:
    """The one line, on stderr (a service's log), then the problem's exit code."""
    print(f"error: cannot connect: {problem}", file=sys.stderr, flush=True)
    sys.exit(problem.exit_code)


def preflight_or_exit(settings: Settings, kafka: bool = True, elasticsearch: bool = False,
                      elasticsearch_may_be_away: bool = False) -> None:
    """For launchers that are not async themselves (the APIs under uvicorn)."""
    try:
        asyncio.run(check_connections(settings, kafka, elasticsearch,
                                      elasticsearch_may_be_away=elasticsearch_may_be_away))
    except ConnectionProblem as problem:
        exit_on_problem(problem)
