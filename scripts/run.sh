#!/usr/bin/env bash
# Set up a virtual environment and serve the dashboard on the embedded SQLite
# store, with a demo athlete loaded on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q .
exec .venv/bin/lydiard serve --demo "$@"
