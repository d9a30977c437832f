"""The one retry policy: transient errors retried with backoff until they pass, permanent
ones and bugs raised at once, SIGTERM ending the wait; and no module keeps a loop of its own."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from shared.runtime import retry
from shared.runtime.retry import MAX_BACKOFF_SECONDS, Stopping, until_acknowledged
from tests.conftest import REPO_ROOT

BACKOFF = retry.backoff  # before the fixture replaces it


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.01)


async def test_transient_errors_are_retried_until_it_passes() -> None:
    calls = 0
    async for attempt in until_acknowledged("test"):
        with attempt:
            calls += 1
            if calls < 4:
                raise KafkaConnectionError()
    assert calls == 4


@pytest.mark.parametrize("error", [MessageSizeTooLargeError(), ValueError("a bug")])
async def test_permanent_errors_and_bugs_are_not_retried(error: Exception) -> None:
    calls = 0
    with pytest.raises(type(error)):
        async for attempt in until_acknowledged("test"):
            with attempt:
                calls += 1
                raise error
    assert calls == 1


async def test_a_stop_ends_the_wait() -> None:
    stop = asyncio.Event()
    stop.set()
    with pytest.raises(Stopping):
        async for attempt in until_acknowledged("test", stop):
            with attempt:
                raise KafkaConnectionError()


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    assert 0.1 <= BACKOFF(0) <= 0.2
    assert 0.2 <= BACKOFF(1) <= 0.4
    assert MAX_BACKOFF_SECONDS / 2 <= BACKOFF(20) <= MAX_BACKOFF_SECONDS


def test_no_module_has_a_backoff_of_its_own() -> None:
    """Backoff and the stoppable sleep are defined once; everyone imports them."""
    for path in [*(REPO_ROOT / "shared").rglob("*.py"), *(REPO_ROOT / "services").rglob("*.py")]:
        if path == REPO_ROOT / "shared" / "runtime" / "retry.py":
            continue
        tree = ast.parse(Path(path).read_text())
        defined = {node.name for node in ast.walk(tree)
                   if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
        assert not defined & {"backoff", "sleep_unless_stopped"}, path
