"""Helpers shared by the benchmarks: the machine's own fp32 matmul peak (measured in the
same run as the figure it scales) and synthetic project rows."""

from __future__ import annotations

import time

import torch


def matmul_peak_flops(n: int = 2048, repeats: int = 10, device: str = "cpu") -> float:
    """Best-of-``repeats`` FLOP/s of an n x n fp32 matmul (2 n^3 FLOP each)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    torch.mm(a, b)  # warm up
    best = float("inf")
    for _ in range(repeats):
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def forward_flops(model: torch.nn.Module, x: torch.Tensor) -> float:
    """FLOP of one forward pass, counted by PyTorch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    return float(counter.get_total_flops())


def add_image_rows(project, relpaths: list[str], height: int, width: int) -> None:
    """Register images by path without importing them (import speed is measured by
    coldstart_zooscan.py); the pool sizes here would take minutes to import."""
    from napari_specimask.core.store.db import now

    stamp = now()
    with project.store.transaction() as conn:
        conn.executemany(
            "INSERT INTO images (relpath, sha256, height, width, bytes, added_at)"
            " VALUES (?, ?, ?, ?, 1000, ?)",
            [(rel, f"{i:064x}", height, width, stamp) for i, rel in enumerate(relpaths)])
