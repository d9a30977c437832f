"""The local stack's supervisor: restarts a crashed service with backoff, never a halted one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deploy.local import supervise


def crashing(count_file: Path, crashes: int, then: int) -> list[str]:
    """A command that exits 1 (or dies by SIGKILL every other time) `crashes` times, then `then`."""
    script = (f"import os, pathlib, signal; p = pathlib.Path({str(count_file)!r}); "
              "n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1)); "
              f"os.kill(os.getpid(), signal.SIGKILL) if n < {crashes} and n % 2 else None; "
              f"raise SystemExit(1 if n < {crashes} else {then})")
    return [sys.executable, "-c", script]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervise, "FIRST_DELAY", 0.01)


def test_a_crashing_service_is_restarted_until_it_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert supervise.supervise(crashing(runs, crashes=3, then=0)) == 0
    assert runs.read_text() == "4"  # three crashes (one of them a SIGKILL), then a clean exit


def test_a_stage_halted_by_the_dead_letter_policy_is_not_restarted(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert supervise.supervise(crashing(runs, crashes=1, then=3)) == 3
    assert runs.read_text() == "2"


def test_a_service_that_cannot_connect_with_its_configuration_is_not_restarted(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert supervise.supervise(crashing(runs, crashes=1, then=4)) == 4  # EXIT_CONNECTION
    assert runs.read_text() == "2"


def test_a_log_over_its_limit_is_copied_aside_and_truncated_in_place(tmp_path: Path) -> None:
    log = tmp_path / "extraction.log"
    with open(log, "ab") as writer:  # as the service's stdout is opened
        writer.write(b"x" * 2_000)
        writer.flush()
        assert not supervise.rotate_if_large(log, max_bytes=5_000)
        assert supervise.rotate_if_large(log, max_bytes=1_000)
        writer.write(b"after")
        writer.flush()
    assert (tmp_path / "extraction.log.1").read_bytes() == b"x" * 2_000
    assert log.read_bytes() == b"after"  # appends carry on at the new end, no hole
