"""`python -m deploy.generate [--check]`: writes every config drawn from the topology table, or
(with --check) lists the files that differ and exits 1."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from deploy.generate import configuration, diagram, kubernetes, prometheus
from deploy.generate.common import REPO_ROOT


def rendered() -> dict[Path, str]:
    readme = REPO_ROOT / "README.md"
    architecture, home = REPO_ROOT / "docs" / "architecture.md", REPO_ROOT / "docs" / "index.md"
    prom = REPO_ROOT / "deploy" / "prometheus"
    return {prom / "prometheus.yml": prometheus.local_config(),
            prom / "compose.yml": prometheus.compose_config(),
            prom / "targets.rules.yml": prometheus.target_rules(),
            **kubernetes.rendered(),
            readme: diagram.replace_in(readme.read_text(), table=False),
            architecture: diagram.replace_in(architecture.read_text()),
            home: diagram.replace_in(home.read_text(), table=False),
            REPO_ROOT / "docs" / "configuration.md": configuration.page()}


def differences() -> dict[Path, str]:
    """Each stale file with a unified diff of what the table wants."""
    stale = {}
    for path, text in rendered().items():
        current = path.read_text() if path.exists() else ""
        if current != text:
            stale[path] = "".join(difflib.unified_diff(
                current.splitlines(keepends=True), text.splitlines(keepends=True),
                str(path.relative_to(REPO_ROOT)), "from the table", n=1))
    return stale


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = differences()
        for diff in stale.values():
            sys.stdout.write(diff)
        return 1 if stale else 0
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
