"""Overlay colormaps and ranges that read on white and beige paper and on dark plankton
backgrounds alike, from a model's first weak version to a good one.

Both ramp their alpha from 0, so low values leave the sheet as it is; they are drawn with
translucent blending (additive blending only ever brightens: a pale wash on white paper).

- Probability is transparent below 0.35 and a saturated deep blue from 0.5 (the
  proposal's threshold) up: a weak model's 0.3-0.45 over the whole sheet, which used
  to lie on the paper as a faint cyan haze, leaves it untouched; what the proposal
  takes in is solid blue, which reads on white, cream and beige alike.
- Uncertainty is scaled per image to its most uncertain part (``uncertainty_limits``):
  with a weak model uncertain everywhere, the old fixed range turned a whole sheet
  orange-red; now only the top tenth of its pixels is coloured, and a good model's
  small uncertainties still show where they are (its outlines), not as noise.
"""

from __future__ import annotations

import numpy as np
from napari.utils.colormaps import Colormap

UNCERTAINTY = Colormap(  # yellow -> orange -> deep red, transparent where certain
    [[1.0, 0.9, 0.0, 0.0], [1.0, 0.5, 0.0, 0.6], [0.8, 0.0, 0.1, 0.9]],
    name="specimask uncertainty")
PROBABILITY = Colormap(  # transparent below 0.35, then deep blue, solid above 0.5
    [[0.0, 0.2, 1.0, 0.0], [0.0, 0.2, 1.0, 0.0], [0.0, 0.15, 0.95, 0.3],
     [0.05, 0.05, 0.7, 0.68]],
    controls=[0.0, 0.35, 0.5, 1.0], name="specimask probability")

TOP = 0.90          # uncertainty: colour starts at this quantile of the image's pixels
FLOOR = 0.05        # ... and never below this share of the image's highest uncertainty
SAMPLE = 250_000    # pixels the quantiles are measured on (a full sheet has 54 million)


def uncertainty_limits(uncertainty: np.ndarray) -> tuple[float, float]:
    """(low, high) for the uncertainty overlay of one image: transparent at ``low``
    (its ``TOP`` quantile, at least ``FLOOR`` x its maximum), full colour from ``high``
    (its 99.5 % quantile). Measured on an even sample of the pixels, so a 54 MP map
    costs milliseconds (it runs off the GUI thread all the same)."""
    step = max(1, int(np.sqrt(uncertainty.size / SAMPLE)))
    sample = uncertainty[::step, ::step]
    top = float(sample.max()) if sample.size else 0.0
    if top <= 0:
        return 0.0, 1.0
    low = max(float(np.quantile(sample, TOP)), FLOOR * top)
    high = max(float(np.quantile(sample, 0.995)), low + 0.25 * (top - low), low + 1e-3)
    return low, high
