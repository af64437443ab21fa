"""Model versions on disk (``models/<version>/``): the weights format and loading.

A version folder holds ``weights.safetensors`` (tensors only: loading never unpickles
code), ``config.json`` (architecture, encoder, image size, normalisation, preset, loss,
and the weights' sha256), ``metrics.json`` and Lightning's CSV log (``metrics.csv``).
The versions' records (status, metrics, the active one) are ``store.registry``'s.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import SpecimaskError
from ..faults import crash_point
from ..io.atomic import atomic_write_bytes, publish, stage_file
from ..io.hashing import sha256_file
from ..settings import ModelSettings, TrainSettings
from ..store.project import MODELS_DIR, Project
from ..store.registry import check_not_removed, version_or_active
from .factory import ARCHS, IMAGENET_MEAN, IMAGENET_STD, create_model

WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("arch", "encoder", "img_size")  # the network cannot be built without them


@dataclass
class ModelConfig:
    """What a version was trained with, saved beside its weights. The defaults are the
    project settings' (``ModelSettings``, ``TrainSettings``): declared there once."""
    arch: str = ModelSettings.arch
    encoder: str = ModelSettings.encoder
    encoder_weights: str = "none"  # a saved version's weights are its own, never fetched
    img_size: int = ModelSettings.img_size
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    augment: str = TrainSettings.augment
    loss: str = TrainSettings.loss
    weights_sha256: str = ""
    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | bytes, source: str) -> ModelConfig:
        """The config of a model folder, each value checked: a hand-edited or damaged file
        is said in one line instead of failing deep inside the network."""
        try:
            data = json.loads(text)
            cfg = cls(**data)
        except (ValueError, TypeError, RecursionError) as exc:  # JSON, UTF-8, fields
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise SpecimaskError(f"{source}: not a specimask model config ({reason})") from None
        _check_config(data, source)
        return cfg


def _check_config(data: dict, source: str) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise SpecimaskError(f"{source}: lacks {', '.join(missing)}; not a config "
                             "specimask wrote (retrain, or restore the file)")
    fv = data.get("format_version", FORMAT_VERSION)
    if not _is_int(fv):
        raise SpecimaskError(f"{source}: format_version {fv!r} is not a whole number")
    if fv > FORMAT_VERSION:
        raise SpecimaskError(f"{source}: made by a newer specimask; upgrade to load it")
    if not isinstance(data["arch"], str) or data["arch"] not in ARCHS:
        raise SpecimaskError(f"{source}: unknown architecture {str(data['arch'])[:40]!r}; "
                             f"choose one of {', '.join(ARCHS)}")
    if not isinstance(data["encoder"], str) or not data["encoder"]:
        raise SpecimaskError(f"{source}: encoder {data['encoder']!r:.40} is not a name")
    size = data["img_size"]
    if not _is_int(size) or not 32 <= size <= 16384:
        raise SpecimaskError(f"{source}: img_size {size!r:.40} is not a whole number of "
                             "pixels from 32 to 16384 (the model's input size)")
    for key in ("mean", "std"):
        value = data.get(key, (1.0,) * 3)
        if not (isinstance(value, (list, tuple)) and len(value) == 3
                and all(_is_number(v) and (key == "mean" or v > 0) for v in value)):
            raise SpecimaskError(f"{source}: {key} must be three finite numbers"
                                 f"{' above 0' if key == 'std' else ''}, got {value!r:.60}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def save_weights(folder: Path, state_dict: dict, config: ModelConfig) -> None:
    """Write weights then config (with their sha256), each atomically."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    tmp = stage_file(folder / WEIGHTS_FILE, lambda p: write_safetensors(p, tensors))
    try:
        crash_point("weights.staged")  # a kill here leaves the temp file recovery removes
        publish(tmp, folder / WEIGHTS_FILE)
    finally:
        tmp.unlink(missing_ok=True)
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


def load_model(project: Project, version: str | None = None,
               device: str | torch.device = "cpu") -> tuple[torch.nn.Module, ModelConfig, str]:
    """Build the network of a version (default: the active one) with its weights."""
    version = version_or_active(project, version)
    check_not_removed(project, version)
    folder = project.root / MODELS_DIR / version
    return (*load_model_folder(folder, device), version)


def load_model_folder(folder: Path, device="cpu") -> tuple[torch.nn.Module, ModelConfig]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    cfg_path, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not cfg_path.is_file() or not weights.is_file():
        raise SpecimaskError(f"{folder}: not a model folder (needs {CONFIG_FILE} and "
                             f"{WEIGHTS_FILE})")
    config = ModelConfig.from_json(cfg_path.read_bytes(), str(cfg_path))
    if config.weights_sha256 and sha256_file(weights) != config.weights_sha256:
        raise SpecimaskError(f"{weights}: sha256 differs from {cfg_path}; the file was changed "
                             "or damaged after training")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise SpecimaskError(f"{weights}: not a readable safetensors file ({exc})") from None
    try:
        model = create_model(config.arch, config.encoder, encoder_weights=None)
    except SpecimaskError as exc:  # e.g. an unknown encoder: say which file names it
        raise SpecimaskError(f"{cfg_path}: {exc}") from None
    except Exception as exc:  # timm ("tu-...") encoders fail in their own ways
        raise SpecimaskError(f"{cfg_path}: cannot build a {config.arch} network with encoder "
                             f"{config.encoder!r} ({str(exc).splitlines()[0][:120]})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise SpecimaskError(
            f"{weights}: these weights do not fit a {config.arch}/{config.encoder} network "
            f"(from another architecture?): {str(exc).splitlines()[0][:160]}") from None
    return model.to(device).eval(), config
