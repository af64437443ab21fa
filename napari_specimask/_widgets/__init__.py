"""The napari dock widgets: wiring and display over ``napari_specimask.core``.

Importing triton (torch.compile's GPU compiler, which torch._dynamo pulls in through
torchvision and Lightning) after napari has made its OpenGL context crashes the process
under Mesa: triton's bundled LLVM clashes with the one llvmpipe loaded. specimask never
uses torch.compile, so in the GUI process triton is marked unavailable unless something
loaded it already (``specimask gui`` imports the torch stack before any window exists).
"""

import sys

if "triton" not in sys.modules:
    sys.modules["triton"] = None  # torch then reports triton as not installed
