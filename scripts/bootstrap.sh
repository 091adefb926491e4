#!/usr/bin/env bash
# Create .venv (if missing) and install integrity-audit with its test extras. Idempotent.
# pip's output goes to .venv/install.log and is shown only if the install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $("$PY" --version)" >&2
  "$PY" -m venv .venv
fi
echo "installing integrity-audit and its dependencies into .venv (first time: a few minutes)" >&2
if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[test]'; } \
    > .venv/install.log 2>&1; then
  tail -40 .venv/install.log >&2
  echo "install failed: full log in .venv/install.log" >&2
  exit 1
fi
