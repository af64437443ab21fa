"""Model versions on disk (``models/<version>/``) and in the store.

A version folder holds ``weights.safetensors`` (tensors only: loading never unpickles
code), ``config.json`` (architecture, encoder, image size, normalisation, preset, loss,
and the weights' sha256), ``metrics.json`` and Lightning's CSV log (``metrics.csv``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import SpecimaskError
from ..io.atomic import atomic_write_bytes, atomic_write_with
from ..io.hashing import sha256_file
from ..store.db import now
from ..store.project import MODELS_DIR, Project
from ..vocabulary import ACTIVATE_WHEN
from .factory import ARCHS, IMAGENET_MEAN, IMAGENET_STD, create_model

WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
FORMAT_VERSION = 1


@dataclass
class ModelConfig:
    arch: str = "unet"
    encoder: str = "resnet34"
    encoder_weights: str = "none"
    img_size: int = 512
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    augment: str = "basic"
    loss: str = "tversky"
    weights_sha256: str = ""
    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str, source: str) -> ModelConfig:
        try:
            data = json.loads(text)
            cfg = cls(**data)
        except (json.JSONDecodeError, TypeError) as exc:
            raise SpecimaskError(f"{source}: not a specimask model config ({exc})") from None
        if cfg.arch not in ARCHS:
            raise SpecimaskError(f"{source}: unknown architecture {cfg.arch!r}")
        if cfg.format_version > FORMAT_VERSION:
            raise SpecimaskError(f"{source}: made by a newer specimask; upgrade to load it")
        return cfg


def new_version(project: Project, parent: str | None, iteration: int | None,
                train_ids: list[int], config: ModelConfig) -> str:
    """Reserve the next version name (v001, v002, ...) with status 'training'."""
    with project.store.transaction() as conn:
        n = conn.execute("SELECT COUNT(*) FROM models").fetchone()[0] + 1
        version = f"v{n:03d}"
        while conn.execute("SELECT 1 FROM models WHERE version = ?", (version,)).fetchone():
            n += 1
            version = f"v{n:03d}"
        conn.execute(
            "INSERT INTO models (version, parent, created_at, arch, encoder, img_size, path,"
            " iteration, train_image_ids, status, config) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (version, parent, now(), config.arch, config.encoder, config.img_size,
             f"{MODELS_DIR}/{version}", iteration, json.dumps(train_ids), "training",
             json.dumps(asdict(config))))
    (project.root / MODELS_DIR / version).mkdir(parents=True, exist_ok=True)
    return version


def save_weights(folder: Path, state_dict: dict, config: ModelConfig) -> None:
    """Write weights then config (with their sha256), each atomically."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    atomic_write_with(folder / WEIGHTS_FILE, lambda tmp: write_safetensors(tmp, tensors))
    config.weights_sha256 = sha256_file(folder / WEIGHTS_FILE)
    atomic_write_bytes(folder / CONFIG_FILE, json.dumps(asdict(config), indent=2).encode())


_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
           torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
           torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """The safetensors format (u64 header size, JSON header, raw little-endian bytes),
    written tensor by tensor with plain file writes.

    safetensors' own ``save_file`` holds the GIL for the whole file (about 0.2 s for a
    resnet34 Unet), which froze the viewer whenever training kept a better model; file
    writes release it. Files are read back with ``safetensors.load_file``.
    """
    header, offset, arrays = {}, 0, []
    for name, t in tensors.items():
        if t.dtype not in _DTYPES:
            raise SpecimaskError(f"cannot store tensor {name} of type {t.dtype}")
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + raw.nbytes]}
        offset += raw.nbytes
        arrays.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as fh:
        fh.write(len(text).to_bytes(8, "little"))
        fh.write(text)
        for raw in arrays:
            fh.write(raw.reshape(-1).view(np.uint8).data)


def finish_version(project: Project, version: str, status: str, metrics: dict) -> None:
    """Record the outcome in the store first (what every reader uses), then a copy in the
    version's folder, so a full disk cannot leave the version looking as if still training."""
    with project.store.transaction() as conn:
        conn.execute("UPDATE models SET status = ?, metrics = ? WHERE version = ?",
                     (status, json.dumps(metrics), version))
    folder = project.root / MODELS_DIR / version
    atomic_write_bytes(folder / METRICS_FILE, json.dumps(metrics, indent=2).encode())


def load_model(project: Project, version: str | None = None,
               device: str | torch.device = "cpu") -> tuple[torch.nn.Module, ModelConfig, str]:
    """Build the network of a version (default: the active one) with its weights."""
    version = version or active_version(project)
    if version is None:
        raise SpecimaskError(f"{project.root}: no trained model yet; run `specimask train`")
    check_not_removed(project, version)
    folder = project.root / MODELS_DIR / version
    return (*load_model_folder(folder, device), version)


def check_not_removed(project: Project, version: str) -> None:
    row = project.store.read_one("SELECT removed_at FROM models WHERE version = ?", (version,))
    if row is not None and row[0]:
        raise weights_removed(project, version, row[0])


def weights_removed(project: Project, version: str, when: str) -> SpecimaskError:
    return SpecimaskError(f"the weights of model {version} were removed on {when} to free "
                          f"disk; use another version (`specimask models {project.root}`)")


def unknown_version(project: Project, version: str, known: list[str]) -> SpecimaskError:
    return SpecimaskError(f"no model version {version!r} in {project.root} "
                          f"(known: {', '.join(known) or 'none'})")


_SHARED: OrderedDict[tuple, tuple[torch.nn.Module, ModelConfig]] = OrderedDict()
_SHARED_LOCK = threading.Lock()
SHARED_MODELS = 2  # versions kept loaded (the active one and one to compare with)


def shared_model(project: Project, version: str | None = None,
                 device: str | torch.device = "cpu") -> tuple[torch.nn.Module, ModelConfig, str]:
    """``load_model``, kept loaded for the next call: the GUI predicts image after image
    with the same version, and loading (checksum, weights, network) costs ~0.3 s each
    time. For inference only (the model is shared between callers); a weights file
    that changes on disk is loaded again."""
    version = version or active_version(project)
    if version is None:
        raise SpecimaskError(f"{project.root}: no trained model yet; run `specimask train`")
    weights = project.root / MODELS_DIR / version / WEIGHTS_FILE
    stat = weights.stat() if weights.is_file() else None
    key = (str(project.root), version, str(device),
           (stat.st_mtime_ns, stat.st_size) if stat else None)
    with _SHARED_LOCK:
        if key in _SHARED:
            _SHARED.move_to_end(key)
            return (*_SHARED[key], version)
    model, config, _ = load_model(project, version, device)
    with _SHARED_LOCK:
        _SHARED[key] = (model, config)
        while len(_SHARED) > SHARED_MODELS:
            _SHARED.popitem(last=False)
    return model, config, version


def load_model_folder(folder: Path, device="cpu") -> tuple[torch.nn.Module, ModelConfig]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    cfg_path, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not cfg_path.is_file() or not weights.is_file():
        raise SpecimaskError(f"{folder}: not a model folder (needs {CONFIG_FILE} and "
                             f"{WEIGHTS_FILE})")
    config = ModelConfig.from_json(cfg_path.read_text(), str(cfg_path))
    if config.weights_sha256 and sha256_file(weights) != config.weights_sha256:
        raise SpecimaskError(f"{weights}: sha256 differs from {cfg_path}; the file was changed "
                             "or damaged after training")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise SpecimaskError(f"{weights}: not a readable safetensors file ({exc})") from None
    model = create_model(config.arch, config.encoder, encoder_weights=None)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise SpecimaskError(
            f"{weights}: these weights do not fit a {config.arch}/{config.encoder} network "
            f"(from another architecture?): {str(exc).splitlines()[0][:160]}") from None
    return model.to(device).eval(), config


def list_models(project: Project) -> list[dict]:
    rows = project.store.read("SELECT * FROM models ORDER BY created_at, version")
    out = []
    for r in rows:
        d = dict(r)
        d["metrics"] = json.loads(d["metrics"]) if d["metrics"] else {}
        d["train_image_ids"] = json.loads(d["train_image_ids"] or "[]")
        d["config"] = json.loads(d["config"]) if d.get("config") else {}
        d["active"] = bool(d["active"])
        d["removed"] = bool(d.get("removed_at"))
        out.append(d)
    return out


def active_version(project: Project) -> str | None:
    row = project.store.read_one("SELECT version FROM models WHERE active = 1")
    return row[0] if row else None


def activate(project: Project, version: str) -> None:
    with project.store.transaction() as conn:  # checked under the write lock: a removal
        row = conn.execute(  # in another process cannot slip in between
            "SELECT status, removed_at FROM models WHERE version = ?", (version,)).fetchone()
        if row is None:
            known = conn.execute("SELECT version FROM models ORDER BY created_at, version")
            raise unknown_version(project, version, [r[0] for r in known])
        if row[0] not in ("ready", "stopped"):
            raise SpecimaskError(f"model {version} is {row[0]}; only finished models can be "
                                 "active")
        if row[1]:
            raise weights_removed(project, version, row[1])
        conn.execute("UPDATE models SET active = (version = ?)", (version,))


@dataclass(frozen=True)
class Comparison:
    """A model version's best val Dice next to its parent's (the model active when it was
    trained): what decides whether a new model should replace the active one."""

    version: str
    parent: str | None
    val_dice: float | None
    parent_val_dice: float | None

    @property
    def better(self) -> bool:
        """No parent, or a val Dice above the parent's (or the parent had none)."""
        if self.parent is None:
            return True
        return self.val_dice is not None and (self.parent_val_dice is None
                                              or self.val_dice > self.parent_val_dice)

    def should_activate(self, when: str) -> bool:
        """The activation rule (``ACTIVATE_WHEN``): always, never, or if better."""
        return check_activation_rule(when) == "always" or (when == "better" and self.better)

    def describe(self, status: str) -> str:
        """``v002 (ready): val Dice 0.8123 (previous v001: 0.7990)``"""
        dice = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
        before = "" if self.parent is None else \
            f" (previous {self.parent}: {dice(self.parent_val_dice)})"
        return f"{self.version} ({status}): val Dice {dice(self.val_dice)}{before}"


def check_activation_rule(when: str) -> str:
    if when not in ACTIVATE_WHEN:
        raise SpecimaskError(f"unknown activation rule {when!r}; choose one of "
                             f"{', '.join(ACTIVATE_WHEN)}")
    return when


def compare_with_parent(project: Project, version: str) -> Comparison:
    models = {m["version"]: m for m in list_models(project)}
    if version not in models:
        raise SpecimaskError(f"no model version {version!r} in {project.root}")
    parent = models[version]["parent"]
    dice = lambda v: models[v]["metrics"].get("best_val_dice") if v in models else None  # noqa: E731
    return Comparison(version, parent, dice(version), dice(parent))
