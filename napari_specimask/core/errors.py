"""Errors that name the file and say what to do, so a CLI can print them as one line."""

from __future__ import annotations

from pathlib import Path


class SpecimaskError(Exception):
    """Base class: an error a person can act on (printed without a traceback)."""


class ImageReadError(SpecimaskError):
    """An image or mask file that cannot be used; the message names the file."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ProjectError(SpecimaskError):
    """A project folder that is missing, damaged or of a newer version."""


def one_line(exc: BaseException, limit: int = 200) -> str:
    """Another library's exception as a short phrase on one line, for our messages."""
    text = " ".join(str(exc).split())
    return (text[:limit] + "...") if len(text) > limit else text or type(exc).__name__
