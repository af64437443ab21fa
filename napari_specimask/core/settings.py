"""Project settings in ``specimask.toml``: one place the GUI and the CLI both read defaults from."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field, fields
from pathlib import Path

import tomli_w

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as the tomli package
    import tomli as tomllib

from .errors import ProjectError
from .io.atomic import atomic_write_bytes
from .io.images import DEFAULT_MAX_PIXELS
from .options import offered, option
from .vocabulary import ARCHS, LOGGERS, LOSSES, PRESETS, TRAIN_ROLES

SETTINGS_FILE = "specimask.toml"


@dataclass
class ImageSettings:
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass
class ColdStartSettings:
    """Defaults measured on the demo set (docs/cold-start.md): dilation and hole filling
    lower Dice there (hole filling closes the label box), so both start off. The method
    starts ``auto``: chosen on the project's own images the first time cold start runs
    (``core.coldstart.proposals``), then stored here."""

    method: str = "auto"
    kernel: int = 3
    iters: int = 0
    fill_holes: bool = False
    min_size: int = 30
    drop_frame: bool = True   # measured: +0.09 Dice on real sheets, no change elsewhere


def how_to_set(name: str, value: object = True) -> str:
    """How a person sets a training option, in both places: for an error message that
    serves the CLI and napari alike ("--no-val, or in napari's Train: untick ...")."""
    o = next(x for cls in (ModelSettings, TrainSettings) for x in offered(cls)
             if x.name == name)
    flag, label = o.flag, o.label
    if not o.option.form:
        return flag
    where = "Train" + (" › more options" if o.option.form == "more" else "")
    if o.kind is bool:
        gui = f"{'untick' if value is False else 'tick'} '{label}'"  # the box is the field
        return f"{flag}, or in napari's {where}: {gui}"
    return f"{flag} {value}, or in napari's {where}: '{label}' {value}"


# offered in the form (any smp encoder name can be typed): small to large, all ImageNet
ENCODER_SUGGESTIONS = ("resnet18", "resnet34", "resnet50", "efficientnet-b0", "mobilenet_v2")


@dataclass
class ModelSettings:
    arch: str = option("unet", "network architecture", form="main", label="architecture",
                       choices=tuple(ARCHS))
    encoder: str = option("resnet34", "any segmentation-models-pytorch encoder (resnet34)",
                          form="main", suggestions=ENCODER_SUGGESTIONS)
    encoder_weights: str = option(
        "auto", "auto (ImageNet when cached here or downloadable, else from scratch), "
        "imagenet, none, or a weights file", form="main",
        suggestions=("auto", "imagenet", "none"))
    img_size: int = option(512, "model input size (px, square)", form="main",
                           label="image size", min=32, max=4096, step=32)


@dataclass
class TrainSettings:
    """Training defaults shared by `specimask train`, the Train widget and rounds."""

    epochs: int = option(30, "most epochs to train (early stopping may end sooner)",
                         form="main", min=1, max=10_000)
    batch_size: int = option(8, "images per optimizer step", form="main", min=1, max=1024)
    lr: float = option(1e-3, "learning rate (AdamW, cosine schedule)", form="main",
                       label="learning rate", min=1e-6, max=1.0, step=1e-4)
    loss: str = option("tversky", "training loss", form="main", choices=LOSSES)
    augment: str = option("basic", "augmentation preset", form="main", label="augmentation",
                          choices=PRESETS)
    freeze_encoder: bool = option(False, "keep the encoder's weights fixed")
    two_stage: bool = option(False, "frozen encoder first, then all layers at lr / 10",
                             form="main", label="two-stage (frozen encoder first)")
    stage1_epochs: int = option(5, "two-stage: epochs with the encoder frozen")
    hand_weight: float = option(10.0, "sampling weight of hand-verified target images (10)",
                                min=0, max=1000)
    use_cold_start: bool = option(False, "also train on cold-start masks", form="main",
                                  label="also train on cold-start masks", old="use_pseudo")
    cold_start_roles: list = option(["pool", "source"], "roles whose cold-start masks are "
                                    "used: pool,source (default) or source (transfer)",
                                    label="cold-start masks of", choices=TRAIN_ROLES,
                                    old="pseudo_roles")
    val_fraction: float = option(
        0.2, "with no validation images: hold out this fraction of the verified pool "
        "masks as val first (0: never)", form="main", label="auto validation split",
        min=0.0, max=0.9, step=0.05,
        tip="when no image has role val, training moves this fraction of the verified "
            "masks there: new models are compared with the current proposals on them")
    require_val: bool = option(True, "allow training without validation images",
                               flag="--no-val", label="require validation images",
                               tip="refuse to train without validation images (role val)")
    patience: int = option(10, "early stopping patience (0: off)")
    devices: str = option("auto", "auto, a count, or GPU ids like 0,1")
    strategy: str = option("auto", "Lightning strategy: auto, ddp, ...",
                           suggestions=("auto", "ddp"))
    num_nodes: int = option(1, "machines to train on (Lightning)", min=1)
    precision: str = option("auto", "auto, 32-true, 16-mixed, bf16-mixed",
                            suggestions=("auto", "32-true", "16-mixed", "bf16-mixed"),
                            tip="auto: 16-mixed on a GPU, 32-true on the CPU")
    epochs_per_iteration: int = option(
        0, "schedule: add this many epochs per active-learning iteration")
    px_per_iteration: int = option(
        0, "schedule: add this many px of image size per iteration")
    loggers: list = option(["csv"], "comma list of csv,tensorboard,wandb", flag="--logger",
                           form="main", label="experiment logs", choices=LOGGERS)
    num_workers: int = option(0, "data loader processes (0: load in the training process)")
    samples_per_epoch: int = option(0, "images drawn per epoch (0: one pass over the "
                                       "training set)")
    seed: int = option(0, "seed of sampling, augmentation and the network's start")


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
class ContinuousSettings:
    """Continuous training (``core.loop.continuous``): a short fine-tuning run after
    every ``every`` masks a person saves, of ``epochs`` epochs."""

    every: int = 4
    epochs: int = 3


@dataclass
class Settings:
    name: str = "specimask project"
    images: ImageSettings = field(default_factory=ImageSettings)
    coldstart: ColdStartSettings = field(default_factory=ColdStartSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    continuous: ContinuousSettings = field(default_factory=ContinuousSettings)

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
    data = _renamed(cls, data, source, prefix)
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


def _renamed(cls, data: dict, source: str, prefix: str) -> dict:
    """``data`` with settings under a former name (``Option.old``) under their own, and
    a note saying so; the next save writes the new name."""
    renames = {o.option.old: o.name for o in offered(cls) if o.option.old}
    if not renames.keys() & data.keys():
        return data
    out = {}
    for key, value in data.items():
        if key in renames and renames[key] not in data:
            logging.getLogger("napari_specimask").warning(
                "%s: %s%s is now called %s%s; read as that (saving the project's settings "
                "writes the new name)", source, prefix, key, prefix, renames[key])
            key = renames[key]
        out[key] = value
    return out


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
