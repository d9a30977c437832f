"""A worker's probe server: /healthz follows the loop's ticks, /readyz the group membership,
everything else is /metrics; over real HTTP on a real port."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest

from shared.runtime.probes import STALLED_SECONDS, Probes, in_group, start_probe_server
from tests.stack import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[Probes, Clock, str]]:
    clock = Clock()
    probes = Probes(clock)
    port = free_port()
    server = start_probe_server("127.0.0.1", port, probes)
    yield probes, clock, f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_alive_while_the_loop_ticks_and_stalled_after(served: tuple[Probes, Clock, str]) -> None:
    _, clock, url = served
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    clock.now += STALLED_SECONDS + 1
    response = httpx.get(f"{url}/healthz")
    assert response.status_code == 503 and response.json() == {"status": "stalled"}
    assert httpx.get(f"{url}/readyz").status_code == 503  # a stalled loop is not ready either


def test_ready_only_in_the_group_and_not_while_stopping(served: tuple[Probes, Clock, str]) -> None:
    probes, _, url = served
    assert httpx.get(f"{url}/readyz").json() == {"status": "not ready"}  # nothing set yet
    probes.ready_check = lambda: True
    assert httpx.get(f"{url}/readyz").status_code == 200
    probes.stopping = True
    assert httpx.get(f"{url}/readyz").status_code == 503


def test_a_failing_check_is_not_ready_and_not_a_crash(served: tuple[Probes, Clock, str]) -> None:
    probes, _, url = served

    def broken() -> bool:
        raise RuntimeError("coordinator gone")

    probes.ready_check = broken
    assert httpx.get(f"{url}/readyz").status_code == 503
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_any_other_path_is_the_metrics(served: tuple[Probes, Clock, str]) -> None:
    _, _, url = served
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200 and "# TYPE" in response.text


def test_a_taken_port_is_an_os_error(served: tuple[Probes, Clock, str]) -> None:
    probes, _, url = served
    with pytest.raises(OSError):
        start_probe_server("127.0.0.1", int(url.rsplit(":", 1)[1]), probes)


def test_in_group_reads_the_generation() -> None:
    assert not in_group(SimpleNamespace())
    assert not in_group(SimpleNamespace(_coordinator=SimpleNamespace(generation=-1)))
    assert in_group(SimpleNamespace(_coordinator=SimpleNamespace(generation=3)))
