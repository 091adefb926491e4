#!/usr/bin/env bash
# Quick start: set up .venv (first time only) and run the monthly audit on the bundled sample force
# (config.toml: SQLite store under data/, sources under sample/). Extra arguments go to `run`.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
exec .venv/bin/integrity-audit run --period "${PERIOD:-2026-10}" "$@"
