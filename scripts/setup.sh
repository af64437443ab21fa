#!/usr/bin/env bash
# Set up napari-specimask on a fresh Debian/Ubuntu machine: the system libraries Qt and
# napari need (plus Xvfb with --xvfb), a virtual environment in .venv, and the package.
# Safe to run again: it installs only what is missing.
#
#   bash scripts/setup.sh            # runtime (napari + PyQt6)
#   bash scripts/setup.sh --test     # + test tools, the dev group (ruff, build) and Xvfb
#   bash scripts/setup.sh --xvfb     # + Xvfb only (to run the GUI without a screen)
set -euo pipefail
cd "$(dirname "$0")/.."

extras="all"
groups=()
want_xvfb=0
for arg in "$@"; do
  case "$arg" in
    --test) extras="all,test"; groups=(--group dev); want_xvfb=1 ;;
    --xvfb) want_xvfb=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[specimask setup]\033[0m %s\n' "$*" >&2; }

# -- system packages (Qt's xcb platform, OpenGL through Mesa, fonts, D-Bus) ----------
apt_pkgs=(libgl1 libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0
  libxcb-shape0 libxcb-cursor0 libxcb-xkb1 libdbus-1-3 libfontconfig1 libglib2.0-0)
[ "$want_xvfb" = 1 ] && apt_pkgs+=(xvfb xauth)
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  apt_pkgs+=(python3-venv python3-pip)
fi
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      say "please install as root: apt-get install ${missing[*]}"; exit 1; fi
  fi
  say "installing system packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# -- disk: the environment (torch with its CUDA libraries) takes ~7 GB, the test suite
# ~1 GB at its peak (trained test models); say so before pip or pytest hit a full disk
need_gb=8
[ -x .venv/bin/python ] && need_gb=1
free_gb=$(df -Pk . /tmp 2>/dev/null | awk 'NR>1 {print int($4/1048576)}' | sort -n | head -1)
if [ -n "$free_gb" ] && [ "$free_gb" -lt "$need_gb" ]; then
  say "warning: only ${free_gb} GB free here or in /tmp; about ${need_gb} GB is needed" \
      "(free some space, or set TMPDIR to a larger disk)"
fi

# -- Python environment ---------------------------------------------------------------
"$PYTHON" - <<'PY' || { say "Python 3.10 or newer is needed (found $("$PYTHON" -V 2>&1))"; exit 1; }
import sys; sys.exit(sys.version_info < (3, 10))
PY
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
say "installing napari-specimask[$extras] (first time: a few minutes)"
.venv/bin/python -m pip install --quiet --progress-bar off -e ".[$extras]" "${groups[@]}"
say "ready: .venv/bin/specimask --help"
