"""One training run's options: the ``[model]`` and ``[train]`` settings plus run-only caps.

Kept apart from ``fit`` (torch, Lightning): the command line builds its training flags
from these fields without loading the deep-learning stack.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..errors import SpecimaskError
from ..options import offered, option
from ..settings import ModelSettings, Settings, TrainSettings


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
        """The run's options by the one rule the CLI, the Train form, rounds and
        continuous training share: the base values (specimask.toml, then whatever was
        given for this run: flags, the form; None gives nothing), then the schedule of
        ``iteration`` added on top (+epochs, +px per iteration). So ``--img-size 512``
        at iteration 3 with 16 px per iteration trains at 560 px, as the form does;
        ``schedule_note`` says so in the run's first line."""
        cfg = cls(**asdict(settings.train), **asdict(settings.model))
        cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
        return cfg.scheduled(iteration)

    def scheduled(self, iteration: int | None) -> TrainConfig:
        """This config (its base values) with the schedule of ``iteration`` added; a
        config already scheduled is refused, so nothing adds the schedule twice."""
        if self.iteration is not None and iteration is not None:
            raise ValueError(f"this config already has iteration {self.iteration}'s "
                             "schedule; schedule its base values")
        n = iteration or 0
        return replace(self, iteration=iteration,
                       epochs=self.epochs + self.epochs_per_iteration * n,
                       img_size=self.img_size + self.px_per_iteration * n)

    def schedule_note(self) -> str:
        """``iteration 3 schedule: 512 + 3 x 16 px = 560 px, 30 + 3 x 2 = 36 epochs``, or
        "" when the schedule adds nothing."""
        n = self.iteration or 0
        parts = [f"{now - step * n} + {n} x {step}{unit} = {now}{unit}{name}"
                 for now, step, unit, name in (
                     (self.img_size, self.px_per_iteration, " px", ""),
                     (self.epochs, self.epochs_per_iteration, "", " epochs")) if step]
        return f"iteration {n} schedule: " + ", ".join(parts) if n and parts else ""

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
