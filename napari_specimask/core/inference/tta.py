"""Test-time augmentation (TTA): views, their exact inverses, and per-pixel uncertainty.

The 8 dihedral views (flips and 90-degree rotations of the square letterboxed input) are
inverted exactly on the output; optional photometric views (gamma, Gaussian noise) need
no inversion. All views of all images of a batch go through the network in one batched,
channels-last, inference-mode call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SpecimaskError
from ..vocabulary import MEASURES, PHOTOMETRIC

EPS = 1e-6


@dataclass(frozen=True)
class View:
    """One TTA view: flip left-right, then ``rot`` quarter turns; or a photometric change."""

    rot: int = 0
    flip: bool = False
    gamma: float = 1.0
    noise: float = 0.0

    @property
    def name(self) -> str:
        if self.gamma != 1.0:
            return f"gamma{self.gamma:g}"
        if self.noise:
            return f"noise{self.noise:g}"
        return f"{'flip+' if self.flip else ''}rot{90 * self.rot}"

    def apply(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x: (N, C, H, W) in [0, 1] -> the view of it."""
        if self.flip:
            x = torch.flip(x, dims=(3,))
        if self.rot:
            x = torch.rot90(x, self.rot, dims=(2, 3))
        if self.gamma != 1.0:
            x = x.clamp(0, 1) ** self.gamma
        if self.noise:
            x = (x + self.noise * torch.randn(x.shape, generator=generator, dtype=x.dtype)
                 .to(x.device)).clamp(0, 1)
        return x

    def invert(self, y: torch.Tensor) -> torch.Tensor:
        """Map an output of the view back onto the original frame (exact for dihedral)."""
        if self.rot:
            y = torch.rot90(y, -self.rot, dims=(-2, -1))
        if self.flip:
            y = torch.flip(y, dims=(-1,))
        return y


DIHEDRAL = tuple(View(rot, flip) for flip in (False, True) for rot in range(4))


def make_views(n: int = 8, photometric: tuple[str, ...] = ()) -> list[View]:
    """The first ``n`` dihedral views (identity first) plus the named photometric ones."""
    if not 1 <= n <= 8:
        raise SpecimaskError(f"--tta takes 1 to 8 dihedral views, not {n}")
    views = list(DIHEDRAL[:n])
    for name in photometric:
        if name not in PHOTOMETRIC:
            raise SpecimaskError(f"unknown photometric view {name!r}; choose from "
                                 f"{', '.join(PHOTOMETRIC)}")
        views += [View(gamma=g) for g in PHOTOMETRIC[name]] if name == "gamma" else [
            View(noise=s) for s in PHOTOMETRIC[name]]
    return views


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """Lower precision where the hardware does it natively: fp16 on CUDA, bf16 on CPUs with
    AMX or AVX512-BF16 (oneDNN); None means fp32."""
    if precision == "32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "16":
        return torch.float16
    if precision != "auto":
        raise SpecimaskError(f"unknown precision {precision!r}; choose auto, 32, bf16 or 16")
    if device.type == "cuda":
        return torch.float16
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    return torch.bfloat16 if amx else None


@torch.inference_mode()
def tta_probabilities(model: torch.nn.Module, images01: torch.Tensor, views: list[View],
                      mean, std, device: torch.device, precision: str = "auto",
                      seed: int = 0) -> torch.Tensor:
    """Probabilities (V, N, H, W) of every view, mapped back onto the input frame.

    ``images01``: (N, 3, H, W) float in [0, 1], square (letterboxed). One network call.
    """
    gen = torch.Generator().manual_seed(seed)
    x = images01.to(device)
    batch = torch.cat([v.apply(x, gen) for v in views])  # (V*N, 3, H, W), view-major
    m = torch.tensor(mean, device=device, dtype=batch.dtype)[:, None, None]
    s = torch.tensor(std, device=device, dtype=batch.dtype)[:, None, None]
    batch = ((batch - m) / s).contiguous(memory_format=torch.channels_last)
    dtype = autocast_dtype(device, precision)
    with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        logits = model(batch)
    probs = logits.float().sigmoid()[:, 0].view(len(views), len(x), *x.shape[2:])
    return torch.stack([v.invert(p) for v, p in zip(views, probs)])


def binary_entropy(p: torch.Tensor) -> torch.Tensor:
    """Entropy in bits (0 for a certain pixel, 1 at p = 0.5)."""
    p = p.clamp(EPS, 1 - EPS)
    return -(p * torch.log2(p) + (1 - p) * torch.log2(1 - p))


def uncertainty(probs: torch.Tensor, measure: str = "jsd", alpha: float = 0.5) -> torch.Tensor:
    """Per-pixel uncertainty from view probabilities (V, ...) -> (...).

    variance: spread of the views; entropy: entropy of the mean; mi: mutual information,
    entropy of the mean minus mean entropy (the views' disagreement); jsd: the weighted sum
    alpha * H(mean) + (1 - alpha) * mean H of the stochastic-batches reference code.
    All lie in [0, 1] (variance is scaled by 4, its maximum being 0.25).
    """
    if measure == "variance":
        return 4.0 * probs.var(0, unbiased=False)
    mean_h = binary_entropy(probs.mean(0))
    if measure == "entropy":
        return mean_h
    h_mean = binary_entropy(probs).mean(0)
    if measure == "mi":
        return (mean_h - h_mean).clamp_min(0)
    if measure == "jsd":
        return alpha * mean_h + (1 - alpha) * h_mean
    raise SpecimaskError(f"unknown uncertainty measure {measure!r}; choose one of "
                         f"{', '.join(MEASURES)}")


def to_unit_tensor(boxed: list[np.ndarray]) -> torch.Tensor:
    """Letterboxed uint8 RGB images -> (N, 3, H, W) float in [0, 1]."""
    x = torch.from_numpy(np.stack(boxed)).permute(0, 3, 1, 2)
    return x.float().div_(255.0)
