#!/usr/bin/env bash
# Set up (with test tools and Xvfb) and run the default test suite; pytest-xvfb gives the
# GUI tests a virtual screen. Extra arguments go to pytest (e.g. -m slow, -k store).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
