"""Two process-wide measures the GUI needs, taken only where specimask owns the moment.

Importing the plugin changes nothing in the napari process (other plugins share it):

- ``keep_triton_out`` runs right before a widget's module, and with it the torch stack,
  is first imported (``_widgets.__getattr__``, which napari's manifest goes through) and
  before each worker starts. triton (torch.compile's GPU compiler, pulled in by
  torch._dynamo, which torchvision and Lightning import) carries its own LLVM; importing
  it after Mesa has loaded its LLVM for napari's OpenGL context (llvmpipe, radeonsi)
  segfaults. The other order is fine, and so is a GL driver without LLVM, so triton is
  marked unavailable only when Mesa's LLVM is already mapped. specimask never uses
  torch.compile.
- ``settle_heap`` (collect, then ``gc.freeze``) runs in the ``specimask gui`` / ``demo``
  launcher once the widgets are docked, and nowhere else: in a napari that other
  plugins share, the process's heap is not specimask's to freeze. See
  docs/benchmarks.md for the 0.19 s collections it avoids.
"""

from __future__ import annotations

import gc
import sys

MAPS = "/proc/self/maps"


def mesa_llvm_loaded(maps: str = MAPS) -> bool:
    """Whether a shared libLLVM (Mesa's, for OpenGL) is mapped into this process.

    Where there is no /proc (macOS, Windows) there is no Mesa LLVM to clash with either.
    """
    try:
        with open(maps, encoding="utf-8", errors="replace") as lines:
            return any("/libLLVM" in line for line in lines)
    except OSError:
        return False


def keep_triton_out() -> bool:
    """Mark triton as not installed if importing it now could crash; True if it did."""
    if "triton" in sys.modules or not mesa_llvm_loaded():
        return False
    sys.modules["triton"] = None  # torch then reports triton as not installed
    return True


def settle_heap() -> None:
    """Collect once, then freeze what is alive (napari, torch, Lightning: ~500k objects).

    A full garbage collection over that heap holds the GIL for about 0.2 s, and worker
    threads trigger such collections; a frozen heap is never scanned again, so the
    viewer stays responsive while training runs. The launcher calls it after docking,
    where a pause is expected anyway.
    """
    gc.collect()
    gc.freeze()
