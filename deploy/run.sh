#!/usr/bin/env bash
# The README's two commands:
#   deploy/run.sh demo   installs, starts Kafka + Elasticsearch + every service, ingests the samples
#   deploy/run.sh test   installs, lints, type-checks and runs the whole test suite on the real stack
# Installing is idempotent: the virtualenv is rebuilt only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing newsflow and its dependencies into $venv ..."
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -e '.[local,dev]'
  touch "$stamp"
fi

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  demo)
    exec "$venv/bin/python" -m deploy.local demo "$@" ;;
  test)
    # The search page's end-to-end test drives Debian's Chromium (Playwright downloads none).
    if ! command -v chromium > /dev/null && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
      echo "installing Debian's chromium for the search page test ..."
      apt-get update -qq && apt-get install -y -qq chromium > /dev/null
    fi
    "$venv/bin/ruff" check .
    "$venv/bin/mypy" shared services deploy bench
    exec "$venv/bin/python" -m pytest --durations=8 "$@" ;;
  *)
    echo "usage: deploy/run.sh demo|test [args...]" >&2
    exit 2 ;;
esac
