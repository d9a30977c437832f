"""The processing budget: a step that overruns is killed and its message is invalid; a child
that dies is the message's fault too; either way the next message is processed as usual."""

from __future__ import annotations

import os
import time

import pytest

from shared.runtime.budget import IsolatedStep
from shared.runtime.dead_letters import InvalidMessage


def slow_when_asked(text: str) -> str:
    """Module-level, so the spawned child can import it."""
    if text == "slow":
        time.sleep(60)
    if text == "crash":
        os._exit(9)  # what the OOM killer or a segfault looks like from outside
    return text.upper()


async def test_a_step_within_its_budget_returns_its_result() -> None:
    step = IsolatedStep(slow_when_asked, seconds=20)
    try:
        assert await step("fine") == "FINE"
    finally:
        await step.close()


async def test_an_overrun_is_invalid_and_the_child_is_replaced() -> None:
    step = IsolatedStep(slow_when_asked, seconds=1.0)
    try:
        await step.start()
        with pytest.raises(InvalidMessage) as caught:
            await step("slow")
        assert caught.value.error_type == "BudgetExceeded"
        assert "budget of 1s" in str(caught.value)
        assert step.restarts == 1
        step.seconds = 20
        assert await step("next") == "NEXT"
    finally:
        await step.close()


async def test_a_child_that_dies_makes_the_message_invalid_not_the_stage() -> None:
    step = IsolatedStep(slow_when_asked, seconds=20)
    try:
        with pytest.raises(InvalidMessage) as caught:
            await step("crash")
        assert caught.value.error_type == "WorkerCrashed"
        assert await step("after") == "AFTER"
    finally:
        await step.close()
