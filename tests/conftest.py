"""Shared test helpers. Unit tests need nothing running; integration tests start the real stack."""

from __future__ import annotations

from pathlib import Path

import pytest

# The real stack's session fixtures (tests/stack.py), for tests/integration and tests/fuzz; they
# start nothing unless a test asks for them.
pytest_plugins = ["tests.stack"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT / "samples"
SEED_000 = SAMPLES / "000_4f30339b672c6a11.txt"
SEED_004 = SAMPLES / "004_99e7863836819233.txt"


@pytest.fixture(scope="session")
def seed_000() -> str:
    return SEED_000.read_text()


@pytest.fixture(scope="session")
def seed_004() -> str:
    return SEED_004.read_text()
