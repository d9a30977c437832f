"""Secrets: from the environment or from files, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import SECRET_FIELDS, Settings


def test_every_secret_can_come_from_a_file(tmp_path: Path) -> None:
    values = {}
    for name in SECRET_FIELDS:
        path = tmp_path / name
        path.write_text(f"from-file-{name}\n")  # a trailing newline, as `echo` writes it
        values[f"{name}_file"] = path
    settings = Settings(**values)
    for name in SECRET_FIELDS:
        assert getattr(settings, name).get_secret_value() == f"from-file-{name}"


def test_the_variable_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text("file")
    settings = Settings(kafka_sasl_password="direct", kafka_sasl_password_file=path)
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == "direct"


def test_environment_variables_with_the_file_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "key"
    path.write_text("c2VjcmV0LWtleQ==")
    monkeypatch.setenv("NEWSFLOW_ELASTICSEARCH_API_KEY_FILE", str(path))
    monkeypatch.setenv("NEWSFLOW_KAFKA_SSL_CA_FILE", "")  # blank: unset, not the current directory
    settings = Settings()
    assert settings.elasticsearch_api_key is not None
    assert settings.elasticsearch_api_key.get_secret_value() == "c2VjcmV0LWtleQ=="
    assert settings.kafka_ssl_ca_file is None


def test_secrets_never_appear_in_repr_or_dumps(tmp_path: Path) -> None:
    settings = Settings(kafka_sasl_password="hunter2-kafka", elasticsearch_api_key="hunter2-es",
                        elasticsearch_password="hunter2-user", api_key="hunter2-api")
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "hunter2" not in text


def test_a_missing_secret_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(kafka_sasl_password_file=tmp_path / "absent")
    assert "NEWSFLOW_KAFKA_SASL_PASSWORD_FILE" in str(raised.value)
    assert "No such file" in str(raised.value)


def test_unknown_protocols_and_mechanisms_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(kafka_security_protocol="SASL")
    with pytest.raises(ValidationError):
        Settings(kafka_sasl_mechanism="GSSAPI")


def test_clients_reach_an_api_by_its_url_or_by_its_bind_address() -> None:
    from shared.settings import Settings

    assert Settings().client_url("search") == "http://127.0.0.1:8000"
    # a container binds every interface; its own clients still go to loopback
    assert Settings(ingest_host="0.0.0.0", ingest_port=9001).client_url("ingest") == "http://127.0.0.1:9001"
    assert Settings(monitor_url="http://monitor:8002/").client_url("monitor") == "http://monitor:8002"
    assert Settings(search_url="").client_url("search") == "http://127.0.0.1:8000"
