"""Background tasks never stop silently: a failing one restarts with backoff, counted, and is
reported down meanwhile; one that must not restart ends the process non-zero; a heartbeat
carries what is down."""

from __future__ import annotations

import asyncio

import pytest

from shared.runtime import tasks
from shared.runtime.metrics import TASK_RESTARTS


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "backoff", lambda attempt: 0.05)


async def test_a_failing_task_restarts_and_is_counted_and_reported_down() -> None:
    runs = 0
    seen_down: list[list[str]] = []

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise RuntimeError("a timeout while a digest was saved")

    before = TASK_RESTARTS.labels("flaky")._value.get()
    task = tasks.supervised("flaky", flaky)
    while not task.done():
        seen_down.append(tasks.down())
        await asyncio.sleep(0.01)
    assert runs == 3
    assert TASK_RESTARTS.labels("flaky")._value.get() - before == 2
    assert ["flaky"] in seen_down  # reported down while waiting to restart
    assert "flaky" not in tasks.down()


async def test_a_task_that_must_not_restart_ends_the_process() -> None:
    exits: list[int] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    await tasks.supervised("broken", broken, restart=False, exit_process=exits.append)
    assert exits == [tasks.EXIT_TASK_DIED]


async def test_cancelling_stops_it_and_it_is_not_down() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    task = tasks.supervised("forever", forever)
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "forever" not in tasks.down()


async def test_the_heartbeat_names_the_tasks_that_are_down() -> None:
    from shared.contracts.topology import Stage, spec
    from shared.runtime.dead_letters import DeadLetterSender
    from shared.runtime.stage import BatchBounds, StageRuntime
    from shared.settings import Settings
    from tests.fakes import FakeConsumer, FakeProducer

    async def failing() -> None:
        raise RuntimeError("x")

    task = tasks.supervised("webhook attempts", failing)
    await asyncio.sleep(0.01)
    settings = Settings(namespace="unit")
    runtime = StageRuntime(spec(Stage.DELIVERY), settings, FakeConsumer([]), None,  # type: ignore[arg-type]
                           DeadLetterSender(FakeProducer(), settings), BatchBounds(1, 0.1, 0.0))
    assert "webhook attempts" in runtime.beat().tasks_down
    task.cancel()
