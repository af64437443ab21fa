"""How a setting is offered: declared once, beside its default, and from there made
into its CLI flag (cli/_options.py) and its field in the Train form (_widgets/_form.py)."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class Option:
    """How a setting is offered: the CLI flag and the Train widget's form are generated
    from this (cli/_options.py, _widgets/_form.py), so an option is declared once."""

    help: str                     # --help text; the form's tooltip unless ``tip``
    # in the Train widget's form: "main" (in view), "more" (under *more options*), or
    # "" (not there: run-only caps such as max_steps)
    form: str = "more"
    label: str = ""               # the form's label (default: the name, spaced)
    flag: str = ""                # the CLI flag when not --name-with-dashes
    choices: tuple = ()           # the allowed values (of each item, for a list)
    suggestions: tuple = ()       # offered values; others allowed (a file, a count, ...)
    min: float | None = None      # the form's range
    max: float | None = None
    step: float | None = None
    tip: str = ""                 # the form's tooltip where ``help`` reads as the CLI's
    old: str = ""                 # a former name, still read (specimask.toml, --old-flag)


def option(default, help: str, **how):
    """A dataclass field with its default and how it is offered (``Option``)."""
    meta = {"option": Option(help, **how)}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Offered:
    name: str
    kind: type                    # int, float, str, bool or list (of str)
    default: object
    option: Option

    @property
    def flag(self) -> str:
        """The CLI flag (``--name-with-dashes`` unless the option says otherwise)."""
        return self.option.flag or "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        """The Train form's label (the name, spaced, unless the option says otherwise)."""
        return self.option.label or self.name.replace("_", " ")


def offered(cls) -> list[Offered]:
    """The fields of a settings dataclass that carry an ``Option``, in order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):
        if "option" not in f.metadata:
            continue
        kind = hints[f.name]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):  # int | None
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        kind = typing.get_origin(kind) or kind  # list[str] -> list
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        out.append(Offered(f.name, kind, default, f.metadata["option"]))
    return out
