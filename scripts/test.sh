#!/usr/bin/env bash
# Install everything into .venv and run the checks: ruff, mypy, the test suite (browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'
if [ -f scripts/install-browser.sh ]; then bash scripts/install-browser.sh; fi
.venv/bin/ruff check .
.venv/bin/mypy rag ingest ui evals benchmarks
.venv/bin/pytest -q "$@"
