"""The training flags, generated from the fields of TrainConfig (their ``Option`` in
core/settings.py): a new setting gets its flag, its help and its checks from there."""

from __future__ import annotations

import sys

from napari_specimask.core.options import offered
from napari_specimask.core.training.config import TrainConfig
from napari_specimask.core.vocabulary import COLD_START, GRID_KEYS, OLD_COLD_START

TRAIN_OPTIONS = offered(TrainConfig)


def comma_list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def add_train_options(parser, grid: bool = False) -> None:
    """Every TrainConfig option, default None (unset: specimask.toml decides); with
    ``grid`` the searchable ones (GRID_KEYS) take comma lists of values."""
    g = parser.add_argument_group("model and training (defaults: specimask.toml)")
    for o in TRAIN_OPTIONS:
        if grid and o.name in GRID_KEYS:
            values = ",".join(o.option.choices) or ("yes,no" if o.kind is bool
                                                    else o.option.help)
            g.add_argument(o.flag, dest=o.name, help=f"comma list to search: {values}")
        elif o.kind is bool:
            g.add_argument(o.flag, *old_flag(o), dest=o.name, default=None,
                           help=o.option.help,
                           action="store_false" if o.flag.startswith("--no-")
                           else "store_true")
        else:
            g.add_argument(o.flag, *old_flag(o), dest=o.name, help=o.option.help,
                           type=comma_list if o.kind is list else o.kind,
                           choices=None if o.kind is list else o.option.choices or None)


def cold_start_word(text: str) -> str:
    """A value of ``--as`` or ``--which``, where ``pseudo`` is the former ``coldstart``."""
    if text == OLD_COLD_START:
        print(f"specimask: note: {OLD_COLD_START} is now called {COLD_START}; read as that",
              file=sys.stderr)
        return COLD_START.value
    return text


def old_flag(o) -> list[str]:
    """The flag of an option's former name (``Option.old``), still accepted; ``specimask``
    notes the rename when it is used (``renamed_flags``)."""
    return ["--" + o.option.old.replace("_", "-")] if o.option.old else []


def renamed_flags(argv: list[str]) -> list[str]:
    """Notes for the former flags in ``argv``: what each is called now."""
    renames = {f: o.flag for o in TRAIN_OPTIONS for f in old_flag(o)}
    given = (a.split("=")[0] for a in argv)
    return [f"{f} is now {renames[f]}" for f in given if f in renames]


def train_overrides(args) -> dict:
    """The training options given on the command line (an empty list counts as unset)."""
    return {o.name: getattr(args, o.name, None) for o in TRAIN_OPTIONS
            if getattr(args, o.name, None) not in (None, [])}


DEVICE_OPTIONS = {"devices": "1", "strategy": "auto", "num_nodes": 1}  # and their
# defaults for prediction and scoring: one process unless asked


def add_device_options(parser) -> None:
    """``--devices``, ``--strategy`` and ``--num-nodes`` for prediction and scoring:
    training's options (declared once, in core/settings.py), one process by default."""
    g = parser.add_argument_group("devices and nodes (Lightning, as for train; default: "
                                  "one process)")
    for o in TRAIN_OPTIONS:
        if o.name in DEVICE_OPTIONS:
            g.add_argument(o.flag, dest=o.name, type=o.kind, default=DEVICE_OPTIONS[o.name],
                           help=o.option.help)


def join_ranks(args):
    """This process's rank in the run ``--devices``/``--num-nodes`` ask for (Lightning
    starts the other local ranks by running this command again)."""
    from napari_specimask.core.devices import join

    return join(args.devices, args.strategy, args.num_nodes)
