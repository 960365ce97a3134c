#!/usr/bin/env bash
# Set up a virtual environment and run every check and the whole test suite
# (SQLite and PostgreSQL; browser tests when /usr/bin/chromium exists).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "== ruff";          .venv/bin/ruff check src tests benchmarks
echo "== mypy (strict)"; .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== pytest"
.venv/bin/python -m pytest -n 2 --dist loadfile -p no:cacheprovider "$@"
