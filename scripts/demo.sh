#!/usr/bin/env bash
# Quick start: set up, build the demo project in ./specimask-demo and open napari on it.
# Extra arguments go to `specimask demo` (e.g. --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  # No screen (a server, a container): show it on a virtual one and save a screenshot.
  bash scripts/setup.sh --xvfb
  echo "No display found: rendering the viewer on Xvfb to specimask-demo.png instead." >&2
  exec xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/specimask demo \
    --screenshot specimask-demo.png "$@"
fi
bash scripts/setup.sh
exec .venv/bin/specimask demo "$@"
