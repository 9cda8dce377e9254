#!/usr/bin/env bash
# Set up everything (virtual environment, dependencies, Docker engine, base images) and run tests.
#   scripts/test.sh example   the example server's integration tests, through the plugin
#   scripts/test.sh all       the whole suite, then ruff and mypy
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
shift || true
venv=${CONTAINERKIT_VENV:-.venv}

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.containerkit-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]' >"$venv/pip.log" 2>&1; then
    cat "$venv/pip.log" >&2
    exit 1
  fi
  touch "$stamp"
fi
bash scripts/engine.sh

case "$what" in
  example) exec "$venv/bin/python" -m pytest example_app/tests "$@" ;;
  all)
    "$venv/bin/python" -m pytest "$@"
    "$venv/bin/ruff" check .
    "$venv/bin/ruff" format --check .
    "$venv/bin/mypy"
    ;;
  *) echo "usage: scripts/test.sh example|all [pytest arguments]" >&2; exit 2 ;;
esac
