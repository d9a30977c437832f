"""Secrets at rest: sealed with the first key, opened with any, rows from before read as
they are, a wrong key one clear error; the laptop key is made once and shared."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from shared.runtime.sealing import PREFIX, Sealer, SealingError
from shared.settings import Settings


def sealer(*keys: bytes) -> Sealer:
    return Sealer(Settings(secrets_key=SecretStr(",".join(k.decode() for k in keys))))


def test_sealed_values_do_not_show_the_secret_and_open_again() -> None:
    box = sealer(Fernet.generate_key())
    sealed = box.seal("whsec_topsecret")
    assert sealed.startswith(PREFIX) and "topsecret" not in sealed
    assert box.open(sealed) == "whsec_topsecret"
    assert box.open("whsec_from_before") == "whsec_from_before"  # a row written before sealing


def test_rotation_new_key_first_opens_old_and_reseals_with_new() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_by_old = sealer(old).seal("s")
    rotated = sealer(new, old)
    resealed = rotated.reseal(sealed_by_old)
    assert sealer(new).open(resealed) == "s"  # the old key can now be dropped
    with pytest.raises(SealingError, match="none of NEWSFLOW_SECRETS_KEY"):
        sealer(new).open(sealed_by_old)


def test_a_malformed_key_is_one_clear_error() -> None:
    with pytest.raises(SealingError, match="Fernet keys"):
        Sealer(Settings(secrets_key=SecretStr("not-a-key")))


def test_the_laptop_key_is_made_once_and_shared(tmp_path: Path) -> None:
    first, second = Sealer(Settings(cache_dir=tmp_path)), Sealer(Settings(cache_dir=tmp_path))
    assert second.open(first.seal("x")) == "x"
    key_file = tmp_path / "state" / "secrets.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
