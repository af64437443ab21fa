"""Models kept loaded between calls, for inference from the GUI."""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from ..store.project import MODELS_DIR, Project
from ..store.registry import version_or_active
from .weights import WEIGHTS_FILE, ModelConfig, load_model

_SHARED: OrderedDict[tuple, tuple[torch.nn.Module, ModelConfig]] = OrderedDict()
_SHARED_LOCK = threading.Lock()
SHARED_MODELS = 2  # versions kept loaded (the active one and one to compare with)


def shared_model(project: Project, version: str | None = None,
                 device: str | torch.device = "cpu") -> tuple[torch.nn.Module, ModelConfig, str]:
    """``load_model``, kept loaded for the next call: the GUI predicts image after image
    with the same version, and loading (checksum, weights, network) costs ~0.3 s each
    time. For inference only (the model is shared between callers); a weights file
    that changes on disk is loaded again."""
    version = version_or_active(project, version)
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
