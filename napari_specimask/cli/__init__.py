"""The ``specimask`` command: a thin shell over ``napari_specimask.core``.

Every command exits 0 on success and non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import sys

from napari_specimask import __version__
from napari_specimask.core.errors import SpecimaskError

from . import (
    _active,
    _check,
    _continuous,
    _data,
    _demo,
    _exchange,
    _masks,
    _project,
    _sample,
    _train,
    _workflows,
)
from ._options import renamed_flags


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="specimask",
        description="Human-in-the-loop specimen masks (herbarium sheets, plankton, ...).",
    )
    parser.add_argument("--version", action="version", version=f"specimask {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (_project, _exchange, _masks, _train, _continuous, _active, _workflows,
                   _sample, _data, _demo, _check):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; output cut short by a closed pipe (``| head``) ends quietly with
    141 (128 + SIGPIPE), as git and coreutils do."""
    try:
        try:
            return _run(argv)
        finally:  # a closed pipe shows when the output is flushed: here, not at exit
            sys.stdout.flush()
    except BrokenPipeError:
        # Python docs, "Note on SIGPIPE": point stdout at devnull so that the flush at
        # exit does not fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    _say_warnings()
    for note in renamed_flags(sys.argv[1:] if argv is None else argv):
        print(f"specimask: note: {note}", file=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except SpecimaskError as exc:
        print(f"specimask: error: {exc}", file=sys.stderr)
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        print("specimask: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, permission denied on output, ...
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        hint = ("; free some space on that disk and run the command again (files are"
                " written whole or not at all)" if exc.errno == errno.ENOSPC else "")
        print(f"specimask: error: {where}{exc.strerror or exc}{hint}", file=sys.stderr)
    return 1


def _say_warnings() -> None:
    """Core's warnings (a project tidied after a kill, one on a network file system) as
    ``specimask: ...`` lines on stderr."""
    log = logging.getLogger("napari_specimask")
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("specimask: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.WARNING)


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now (``main`` may run many times in one
    process, as in the tests, each with its own stderr)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)
