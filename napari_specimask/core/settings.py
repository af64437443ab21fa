"""Project settings in ``specimask.toml``: one place the GUI and the CLI both read defaults from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path

import tomli_w
import tomllib

from .errors import ProjectError
from .io.atomic import atomic_write_bytes
from .io.images import DEFAULT_MAX_PIXELS

SETTINGS_FILE = "specimask.toml"


@dataclass
class ImageSettings:
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass
class ColdStartSettings:
    """Defaults measured on the demo set (docs/cold-start.md): dilation and hole filling
    lower Dice there (hole filling closes the label box), so both start off."""

    method: str = "background"
    kernel: int = 3
    iters: int = 0
    fill_holes: bool = False
    min_size: int = 30


@dataclass
class ModelSettings:
    arch: str = "unet"
    encoder: str = "resnet34"
    encoder_weights: str = "imagenet"
    img_size: int = 512


@dataclass
class TrainSettings:
    """Training defaults shared by `specimask train` and the Train widget."""

    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-3
    loss: str = "tversky"             # tversky | dice | bce | dicefocal
    augment: str = "basic"            # basic | occlusion | affine | domain | specialized
    freeze_encoder: bool = False
    two_stage: bool = False           # frozen encoder first, then all layers at lr / 10
    stage1_epochs: int = 5
    hand_weight: float = 10.0         # sampling weight of hand-verified target images
    use_pseudo: bool = False          # also train on cold-start (pseudo) masks
    pseudo_roles: list = field(default_factory=lambda: ["pool", "source"])  # ... of these
    require_val: bool = True
    patience: int = 10                # early stopping on val Dice (0: off)
    devices: str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "auto"           # auto: 16-mixed on GPU, 32 on CPU
    epochs_per_iteration: int = 0     # +E epochs per active-learning iteration
    px_per_iteration: int = 0         # +P px of image size per iteration
    loggers: list = field(default_factory=lambda: ["csv"])  # + tensorboard, wandb
    num_workers: int = 0
    samples_per_epoch: int = 0        # 0: one pass over the training set per epoch
    seed: int = 0


@dataclass
class SelectionSettings:
    strategy: str = "stochastic"      # stochastic | uncertainty | random
    batch_size: int = 20
    n_batches: int = 50               # random batches drawn; 0: disjoint batches
    aggregation: str = "mean"         # batch score: mean | max | sum
    seed: int = 0
    tta: int = 8                      # dihedral views
    photometric: list = field(default_factory=list)  # + "gamma", "noise"
    measure: str = "jsd"              # variance | entropy | mi | jsd
    precision: str = "auto"           # TTA scoring: auto (bf16/fp16 where native) or 32


@dataclass
class Settings:
    name: str = "specimask project"
    images: ImageSettings = field(default_factory=ImageSettings)
    coldstart: ColdStartSettings = field(default_factory=ColdStartSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    selection: SelectionSettings = field(default_factory=SelectionSettings)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = SETTINGS_FILE) -> Settings:
        return _build(cls, data, source, "")


def load_settings(folder: str | Path) -> Settings:
    path = Path(folder) / SETTINGS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path}: not found; is {folder} a specimask project?") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path}: not valid TOML ({exc}); fix or delete it") from None
    return Settings.from_dict(data, str(path))


def save_settings(folder: str | Path, settings: Settings) -> None:
    atomic_write_bytes(Path(folder) / SETTINGS_FILE, tomli_w.dumps(settings.to_dict()).encode())


def _build(cls, data: dict, source: str, prefix: str):
    if not isinstance(data, dict):
        raise ProjectError(f"{source}: [{prefix.rstrip('.')}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ProjectError(
            f"{source}: unknown setting(s) {', '.join(prefix + k for k in unknown)}; "
            f"known here: {', '.join(prefix + k for k in known)}"
        )
    kwargs = {}
    for name, value in data.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            kwargs[name] = _build(type(default), value, source, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, type(default), source, prefix + name)
    return cls(**kwargs)


def _coerce(value, kind: type, source: str, key: str):
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProjectError(
            f"{source}: {key} = {value!r} should be {kind.__name__}, not {type(value).__name__}"
        )
    return value


def save_training_defaults(project, cfg) -> None:
    """Store a run's options (``cfg``: a TrainConfig without the per-iteration schedule
    applied) as the project's ``[model]`` and ``[train]`` defaults in specimask.toml, so
    the CLI, the Train widget and rounds train the same way. Checked first: a bad value
    stored here would break every later run."""
    cfg.check()
    for section in (project.settings.model, project.settings.train):
        for key in vars(section):
            if hasattr(cfg, key):
                setattr(section, key, getattr(cfg, key))
    project.save_settings()
