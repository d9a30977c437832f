"""The front door: the README fits on two screens, the docs build strictly (a broken link, a
missing anchor or a page left out of the navigation fails), and user docs carry no notes about
how newsflow was built."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def test_the_readme_is_at_most_150_lines() -> None:
    assert len((REPO_ROOT / "README.md").read_text().splitlines()) <= 150


def test_the_docs_build_strictly(tmp_path: Path) -> None:
    # Not --quiet: it hides warnings from the count that --strict fails on.
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                            "--site-dir", str(tmp_path / "site")],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "site" / "configuration" / "index.html").exists()


def test_every_readme_link_into_the_docs_names_a_page() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    targets = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert targets, "the README links into the docs"
    assert [t for t in targets if not (REPO_ROOT / t).is_file()] == []


NOT_FOR_USERS = re.compile(r"\bissues? #?\d+|\bthis machine\b|\bthese machines\b|\bbuild machine",
                           re.IGNORECASE)


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda p: p.name)
def test_user_docs_carry_no_issue_numbers_or_build_machine_remarks(page: Path) -> None:
    found = [line for line in page.read_text().splitlines() if NOT_FOR_USERS.search(line)]
    assert found == []
