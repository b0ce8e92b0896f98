#!/usr/bin/env bash
# Installs what tests/test_browser.py needs, when it is missing:
#   Debian's chromium (apt; needs root) and the `playwright` Python package in .venv.
# Never runs `playwright install` (that downloads a browser build; we use Debian's).
# Safe to run again: it does nothing when both are present.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "install_browser: chromium is missing and this is not root: run 'sudo apt-get install chromium'" >&2
        exit 1
    fi
    echo "install_browser: apt-get install chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if ! "$PY" -c "import playwright" >/dev/null 2>&1; then
    echo "install_browser: pip install playwright"
    "$PY" -m pip install --quiet --disable-pip-version-check playwright
fi
chromium --version
"$PY" -c "import playwright, importlib.metadata as m; print('playwright', m.version('playwright'))"
