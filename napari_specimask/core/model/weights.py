"""Model versions on disk (``models/<version>/``): the weights format and loading.

A version folder holds ``weights.safetensors`` (tensors only: loading never unpickles
code), ``config.json`` (architecture, encoder, image size, normalisation, preset, loss,
and the weights' sha256), ``metrics.json`` and Lightning's CSV log (``metrics.csv``).
The versions' records (status, metrics, the active one) are ``store.registry``'s.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import SpecimaskError
from ..io.atomic import atomic_write_bytes, atomic_write_with
from ..io.hashing import sha256_file
from ..store.project import MODELS_DIR, Project
from ..store.registry import check_not_removed, version_or_active
from .factory import ARCHS, IMAGENET_MEAN, IMAGENET_STD, create_model

WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"
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
