#!/usr/bin/env bash
# Create .venv (if missing) and install integrity-audit with its test extras, only when needed:
# .venv/install.stamp holds a hash of pyproject.toml and the venv's Python version, written after a
# successful install; while both are unchanged the install is skipped, so a second quick start
# reaches the audit in about a second. The package is installed editable (-e), so a change to the
# code needs no reinstall; a change to pyproject.toml (dependencies, entry points) installs again.
# During an install pip's "Collecting ..." lines show the progress; its whole output goes to
# .venv/install.log, whose end is shown if the install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STAMP=.venv/install.stamp
LOG=.venv/install.log
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $("$PY" --version)" >&2
  "$PY" -m venv .venv
fi
wanted=$({ cat pyproject.toml; .venv/bin/python --version 2>&1; } | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ] && [ -x .venv/bin/integrity-audit ]; then
  exit 0  # installed from this pyproject.toml already
fi

progress() {  # every line to the log; pip's progress lines, shortened, to the terminal
  local line
  while IFS= read -r line; do
    printf '%s\n' "$line" >> "$LOG"
    case $line in
      Collecting*|"Installing collected"*|"Building wheel"*|"Successfully installed"*)
        printf '  %s\n' "${line:0:76}" >&2 ;;
    esac
  done
}

rm -f "$STAMP"
: > "$LOG"
echo "installing integrity-audit and its dependencies into .venv (first time: a few minutes; log in $LOG)" >&2
if ! { .venv/bin/python -m pip install --upgrade pip 2>&1 | progress \
       && .venv/bin/python -m pip install -e '.[test]' 2>&1 | progress; }; then
  tail -40 "$LOG" >&2
  echo "install failed: full log in $LOG" >&2
  exit 1
fi
echo "$wanted" > "$STAMP"
echo "installed; the next run skips this step until pyproject.toml changes" >&2
