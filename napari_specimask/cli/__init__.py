"""The ``specimask`` command: a thin shell over ``napari_specimask.core``.

Every command exits 0 on success and non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import argparse
import errno
import sys

from napari_specimask import __version__
from napari_specimask.core.errors import SpecimaskError

from . import _active, _data, _demo, _exchange, _masks, _project, _sample, _train, _workflows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="specimask",
        description="Human-in-the-loop specimen masks (herbarium sheets, plankton, ...).",
    )
    parser.add_argument("--version", action="version", version=f"specimask {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (_project, _exchange, _masks, _train, _active, _workflows, _sample, _data,
                   _demo):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SpecimaskError as exc:
        print(f"specimask: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("specimask: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, permission denied on output, ...
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        hint = ("; free some space on that disk and run the command again (files are"
                " written whole or not at all)" if exc.errno == errno.ENOSPC else "")
        print(f"specimask: error: {where}{exc.strerror or exc}{hint}", file=sys.stderr)
    return 1
