"""Segmentation networks from segmentation-models-pytorch, one output channel (logits).

Encoder weights: ``imagenet`` (fetched once from the Hugging Face hub, where smp keeps
them, then cached), ``none`` (train from scratch), a path to a weights file a person
made or copied (``.safetensors``, or a ``.pt``/``.pth`` read with ``weights_only=True``),
or ``auto`` (a new project's default): ImageNet when this machine has them cached or can
reach the hub, else from scratch with a note saying how to get them, so a first run
works offline. Asked for explicitly, ``imagenet`` offline stops with that advice instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from pathlib import Path

import torch
from torch import nn

from ..errors import SpecimaskError, one_line
from ..vocabulary import ARCHS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class EncoderWeightsError(SpecimaskError):
    """Pretrained encoder weights could not be had (offline, bad file, unknown name)."""


def create_model(arch: str = "unet", encoder: str = "resnet34",
                 encoder_weights: str | None = "imagenet", freeze_encoder: bool = False,
                 endpoint: str | None = None, cache_dir: str | Path | None = None) -> nn.Module:
    """``endpoint`` and ``cache_dir`` default to the hub and its usual cache; set
    SPECIMASK_WEIGHTS_ENDPOINT / SPECIMASK_WEIGHTS_CACHE to use a mirror or another cache."""
    import segmentation_models_pytorch as smp

    if arch not in ARCHS:
        raise SpecimaskError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    if encoder not in smp.encoders.get_encoder_names() and not encoder.startswith("tu-"):
        raise SpecimaskError(f"unknown encoder {encoder!r}; see "
                             "segmentation_models_pytorch.encoders.get_encoder_names()")
    model = smp.create_model(arch, encoder_name=encoder, encoder_weights=None,
                             in_channels=3, classes=1)
    if encoder_weights == AUTO:
        encoder_weights, note = resolve_encoder_weights(encoder, AUTO, endpoint, cache_dir)
        if note:
            logging.getLogger("napari_specimask").warning(note)
    weights = None if encoder_weights in (None, "", "none", "None") else encoder_weights
    if weights is not None:
        state = load_encoder_weights(encoder, weights, endpoint, cache_dir)
        try:
            model.encoder.load_state_dict(state)
        except RuntimeError as exc:
            raise EncoderWeightsError(
                f"encoder weights {weights} do not fit encoder {encoder}: {one_line(exc)}"
            ) from None
    set_encoder_frozen(model, freeze_encoder)
    return model


AUTO = "auto"


def resolve_encoder_weights(encoder: str, weights: str, endpoint: str | None = None,
                            cache_dir: str | Path | None = None) -> tuple[str, str | None]:
    """What ``auto`` means on this machine now: ``("imagenet", None)`` when the weights are
    cached or the hub is reachable, else ``("none", note)`` with how to get them. Other
    values come back as they are, so the recorded config names what was really used."""
    if weights != AUTO:
        return weights, None
    if "imagenet" not in _pretrained(encoder):
        return "none", f"encoder {encoder} has no ImageNet weights; training from scratch"
    where = _endpoint(endpoint)
    if _cached(encoder, "imagenet", cache_dir) or _reachable(where):
        return "imagenet", None
    return "none", (f"training {encoder} from scratch: its ImageNet weights are not cached "
                    f"on this machine and {where} cannot be reached. From-scratch models need "
                    "more verified masks; to start from ImageNet, connect once (the weights "
                    "are cached in ~/.cache/huggingface), copy that cache from a connected "
                    "machine, or set encoder weights to a weights file")


def set_encoder_frozen(model: nn.Module, frozen: bool) -> None:
    for p in model.encoder.parameters():
        p.requires_grad_(not frozen)


def load_encoder_weights(encoder: str, weights: str, endpoint: str | None = None,
                         cache_dir: str | Path | None = None) -> dict:
    """State dict for ``model.encoder``: from a local file or smp's hub repository."""
    from safetensors.torch import load_file

    path = Path(weights).expanduser()
    if path.suffix in (".safetensors", ".pt", ".pth") or path.exists():
        if not path.is_file():
            raise EncoderWeightsError(f"{path}: encoder weights file not found")
        try:
            if path.suffix == ".safetensors":
                return load_file(path)
            state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            if "weights only" not in str(exc).lower():
                raise EncoderWeightsError(f"{path}: not a readable weights file "
                                          f"({one_line(exc)})") from None
            raise EncoderWeightsError(_PICKLE_REFUSED.format(path=path)) from None
        except Exception as exc:
            raise EncoderWeightsError(f"{path}: not a readable weights file "
                                      f"({one_line(exc)})") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                                  for v in state.values()):
            raise EncoderWeightsError(f"{path}: holds a {type(state).__name__} that is not a "
                                      "state dict of tensors (name -> tensor)")
        return state
    return load_file(_download(encoder, weights, endpoint, cache_dir))


_PICKLE_REFUSED = (
    "{path}: refused: it holds pickled Python objects besides tensors, and loading a pickle "
    "can run code; if you trust it, convert it to safetensors with `python -c \"import "
    "torch, safetensors.torch as st; st.save_file(torch.load('{path}', weights_only=False),"
    " 'encoder.safetensors')\"` and pass --encoder-weights encoder.safetensors")


def _download(encoder: str, weights: str, endpoint: str | None,
              cache_dir: str | Path | None) -> str:
    from huggingface_hub import hf_hub_download

    options = _pretrained(encoder)
    if weights not in options:
        raise EncoderWeightsError(
            f"no {weights!r} weights for encoder {encoder}; available: "
            f"{', '.join(options) or 'none'} (or --encoder-weights none, or a file path)")
    repo, rev = options[weights]["repo_id"], options[weights]["revision"]
    endpoint = endpoint or os.environ.get("SPECIMASK_WEIGHTS_ENDPOINT")
    cached = _cached(encoder, weights, cache_dir)
    if cached:  # no network at all
        return cached
    cache_dir = cache_dir or os.environ.get("SPECIMASK_WEIGHTS_CACHE")
    where = _endpoint(endpoint)
    advice = (f"could not download the {weights} weights of encoder {encoder} from "
              f"{where}/{repo} ({{}}). Connect once to cache them (~/.cache/huggingface), copy "
              "that cache from a connected machine, pass a weights file with "
              "--encoder-weights PATH, or train from scratch with --encoder-weights none")
    if not _reachable(where):  # offline: say so now, not after the hub client's retries
        raise EncoderWeightsError(advice.format("no connection"))
    try:
        return hf_hub_download(repo, "model.safetensors", revision=rev, endpoint=endpoint,
                               cache_dir=cache_dir, etag_timeout=10)
    except Exception as exc:
        raise EncoderWeightsError(advice.format(type(exc).__name__)) from None


def _cached(encoder: str, weights: str, cache_dir: str | Path | None) -> str | None:
    """The cached weights file of ``encoder``'s ``weights`` on the hub, or None."""
    from huggingface_hub import hf_hub_download

    options = _pretrained(encoder)
    if weights not in options:
        return None
    cache_dir = cache_dir or os.environ.get("SPECIMASK_WEIGHTS_CACHE")
    with contextlib.suppress(Exception):
        return hf_hub_download(options[weights]["repo_id"], "model.safetensors",
                               revision=options[weights]["revision"], cache_dir=cache_dir,
                               local_files_only=True)
    return None


def _pretrained(encoder: str) -> dict:
    """smp's pretrained weights of ``encoder``: name -> hub repository and revision."""
    import segmentation_models_pytorch as smp

    return smp.encoders.encoders.get(encoder, {}).get("pretrained_settings", {})


def _endpoint(endpoint: str | None) -> str:
    return (endpoint or os.environ.get("SPECIMASK_WEIGHTS_ENDPOINT")
            or os.environ.get("HF_ENDPOINT") or "https://huggingface.co")


def _reachable(url: str, timeout: float = 3.0) -> bool:
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False
