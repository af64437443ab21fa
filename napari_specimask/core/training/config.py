"""One training run's options: the ``[model]`` and ``[train]`` settings plus run-only caps.

Kept apart from ``fit`` (torch, Lightning): the command line builds its training flags
from these fields without loading the deep-learning stack.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..errors import SpecimaskError
from ..settings import ModelSettings, Settings, TrainSettings, offered, option


@dataclass
class TrainConfig(TrainSettings, ModelSettings):
    """The settings' fields (model ones first) and their defaults, from settings.py."""

    max_steps: int = option(-1, "stop after this many optimizer steps", form="")
    iteration: int | None = option(None, "active-learning iteration for the +epochs/+px "
                                   "schedule (default: the project's current one)", form="")
    init_from: str = option("", "fine-tune: start from this model version's weights "
                                "('active': the active model)", form="")

    @classmethod
    def from_settings(cls, settings: Settings, iteration: int | None = None,
                      **overrides) -> TrainConfig:
        """Defaults from specimask.toml, then the per-iteration schedule, then overrides."""
        cfg = cls(**asdict(settings.train), **asdict(settings.model))
        cfg = replace(cfg, **{k: overrides[k] for k in ("epochs_per_iteration",
                                                         "px_per_iteration")
                              if overrides.get(k) is not None}).scheduled(iteration)
        return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})

    def scheduled(self, iteration: int | None) -> TrainConfig:
        """This config with the schedule of ``iteration`` added (+epochs, +px per round)."""
        n = iteration or 0
        return replace(self, iteration=iteration,
                       epochs=self.epochs + self.epochs_per_iteration * n,
                       img_size=self.img_size + self.px_per_iteration * n)

    def check(self) -> TrainConfig:
        """Values outside their options' choices (an architecture, a logger, ...), which
        would otherwise fail only inside training, checked before a run starts or before
        they are stored as defaults."""
        for o in offered(type(self)):
            allowed, value = o.option.choices, getattr(self, o.name)
            if not allowed:
                continue
            name = (o.option.flag or o.name).strip("-").replace("-", " ").replace("_", " ")
            if o.kind is list:
                unknown = [v for v in value if v not in allowed]
                if unknown:
                    raise SpecimaskError(f"unknown {name.removesuffix('s')}(s) "
                                         f"{', '.join(unknown)}; choose from "
                                         f"{', '.join(allowed)}")
            elif value not in allowed:
                raise SpecimaskError(f"{name} {value!r} is unknown; choose from "
                                     f"{', '.join(allowed)}")
        return self
