"""Overlay colormaps that read on light paper and on dark plankton backgrounds alike.

Additive blending (the old look) only ever brightens: on a white herbarium sheet it left
a pale wash. These ramp their alpha from 0 at the bottom of the range, so low values
leave the image as it is and high ones cover it in a saturated colour; they are drawn
with translucent blending.
"""

from __future__ import annotations

from napari.utils.colormaps import Colormap

UNCERTAINTY = Colormap(  # yellow -> orange -> deep red, transparent where certain
    [[1.0, 0.9, 0.0, 0.0], [1.0, 0.5, 0.0, 0.6], [0.8, 0.0, 0.1, 0.9]],
    name="specimask uncertainty")
PROBABILITY = Colormap(  # cyan -> blue, transparent where background is sure
    [[0.0, 0.9, 1.0, 0.0], [0.0, 0.6, 1.0, 0.35], [0.0, 0.25, 1.0, 0.7]],
    name="specimask probability")
