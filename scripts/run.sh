#!/usr/bin/env bash
# The README's run command: install the project, then start the playground (prints its URL).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e .
exec python3 -m server "$@"
