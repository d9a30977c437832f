"""Which Elasticsearch the local stack runs: the default line on a JDK 21+, 8.19 on a JDK 17;
and the docs name what the code runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import versions
from deploy.local.processes import StackError
from deploy.local.stack import choose_elasticsearch, java_feature
from tests.conftest import REPO_ROOT


def _java_home(tmp_path: Path, release: str) -> Path:
    home = tmp_path / release.replace(".", "_")
    home.mkdir()
    (home / "release").write_text(f'IMPLEMENTOR="test"\nJAVA_VERSION="{release}"\n')
    return home


@pytest.mark.parametrize(("release", "expected"), [
    ("25.0.3", versions.ELASTICSEARCH_VERSION),
    ("21.0.1", versions.ELASTICSEARCH_VERSION),
    ("17.0.15", versions.ELASTICSEARCH_FALLBACK_VERSION),
])
def test_the_named_java_home_decides_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              release: str, expected: str) -> None:
    home = _java_home(tmp_path, release)
    monkeypatch.setenv("NEWSFLOW_ES_JAVA_HOME", str(home))
    assert choose_elasticsearch() == (expected, home)


def test_a_java_too_old_is_refused_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_ES_JAVA_HOME", str(_java_home(tmp_path, "11.0.2")))
    with pytest.raises(StackError, match="Java 11"):
        choose_elasticsearch()


def test_java_feature_reads_the_release_file(tmp_path: Path) -> None:
    assert java_feature(_java_home(tmp_path, "25.0.3")) == 25
    assert java_feature(tmp_path / "missing") is None


def test_the_docs_name_the_default_and_the_fallback() -> None:
    page = (REPO_ROOT / "docs" / "getting-started.md").read_text()
    assert (f"Elasticsearch {versions.ELASTICSEARCH_VERSION} by default, "
            f"{versions.ELASTICSEARCH_FALLBACK_VERSION} as the fallback") in page
