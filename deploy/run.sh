#!/usr/bin/env bash
# The README's two commands:
#   deploy/run.sh demo   installs, starts Kafka + Elasticsearch + every service, ingests the samples
#   deploy/run.sh test   installs, lints, type-checks and runs the whole test suite on the real stack
# Installing is idempotent: the virtualenv is rebuilt only when pyproject.toml or the lock
# changes. Dependencies come from requirements/dev.lock, every file checked against its hash
# (deploy/lock.sh refreshes it); then newsflow itself, editable, without resolving anything.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.installed-$(cat pyproject.toml requirements/dev.lock | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing newsflow and its locked dependencies into $venv ..."
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q --require-hashes -r requirements/dev.lock
  "$venv/bin/pip" install -q --no-deps -e .
  touch "$stamp"
fi

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  demo)
    exec "$venv/bin/python" -m deploy.local demo "$@" ;;
  test)
    # The page tests drive Debian's Chromium (Playwright downloads none); the alerting rules
    # are checked and unit-tested with promtool, and the shipped scrape config is run by a real
    # Prometheus, both from Debian's prometheus package; the Kubernetes manifests are rendered
    # with kubectl's kustomize (on these machines).
    missing=""
    command -v chromium > /dev/null || missing="$missing chromium"
    command -v promtool > /dev/null || missing="$missing prometheus"
    if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
      echo "installing Debian's$missing for the tests ..."
      apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing > /dev/null
    fi
    "$venv/bin/ruff" check .
    "$venv/bin/mypy" shared services deploy bench
    exec "$venv/bin/python" -m pytest --durations=8 "$@" ;;
  *)
    echo "usage: deploy/run.sh demo|test [args...]" >&2
    exit 2 ;;
esac
