# Sourced by the other scripts: make .venv with the project installed (idempotent).
# EXTRAS (default "dev") picks the optional dependencies: the quickstart needs none.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
EXTRAS="${EXTRAS-dev}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
KEY="$( (cat "$ROOT/pyproject.toml"; echo "$EXTRAS") | sha256sum | cut -c1-16)"
FULL="$( (cat "$ROOT/pyproject.toml"; echo dev) | sha256sum | cut -c1-16)"
# An install with the dev extras serves every script; a bare one only the quickstart.
if [ ! -f "$VENV/.installed-$KEY" ] && [ ! -f "$VENV/.installed-$FULL" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  rm -f "$VENV"/.installed-*
  touch "$VENV/.installed-$KEY"
fi
export PATH="$VENV/bin:$PATH"
# The quickstart prints commands to run later, when this PATH is gone: name the script.
# (Not for scripts/test: the tests check what a plain `specdistill` prints.)
if [ "$(basename "$0")" = quickstart ]; then
  export SPECDISTILL_INVOKED_AS="$VENV/bin/specdistill"
fi
