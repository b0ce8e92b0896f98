#!/usr/bin/env bash
# Installs what the JupyterHub smoke test (tests/test_classroom.py) and deploy/jupyterhub_config.py need,
# when missing: the `jupyterhub` Python package in .venv and the `configurable-http-proxy` npm package
# (with Debian's nodejs/npm if there is no npm). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if ! "$PY" -c "import jupyterhub" >/dev/null 2>&1; then
    echo "install_hub: pip install jupyterhub"
    "$PY" -m pip install --quiet --disable-pip-version-check jupyterhub
fi
if ! command -v configurable-http-proxy >/dev/null 2>&1; then
    if ! command -v npm >/dev/null 2>&1; then
        if [ "$(id -u)" != 0 ]; then
            echo "install_hub: npm is missing and this is not root: run 'sudo apt-get install nodejs npm'" >&2
            exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    echo "install_hub: npm install -g configurable-http-proxy"
    npm install -g --silent configurable-http-proxy
fi
"$PY" -c "import jupyterhub; print('jupyterhub', jupyterhub.__version__)"
configurable-http-proxy --version
