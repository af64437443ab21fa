"""The overlay colours on a real herbarium sheet and a real plankton crop, for the user guide.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/overlay_colours.py \
        ../shared/data/violaceae_pool/V01_02_450.jpg \
        ../shared/data/zooscan_pool/000_Physonectae_0.jpg

The maps are stand-ins (a blurred cold-start mask and its edge), not a model's: the point
is how the colours read on light paper and on a plankton background. Writes the four
views side by side to docs/images/overlays.png.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PIL import Image
from scipy import ndimage as ndi

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "overlays.png"


def views(path: str, method) -> list[Image.Image]:
    import napari

    from napari_specimask._widgets._colormaps import PROBABILITY, UNCERTAINTY
    from napari_specimask.core.io.images import read_image, to_rgb8

    rgb = to_rgb8(read_image(path))
    prob = ndi.gaussian_filter(method(rgb).astype(float), 4)
    maps = {"uncertainty": (4 * prob * (1 - prob), UNCERTAINTY),  # high at the edges
            "probability": (prob, PROBABILITY)}
    viewer = napari.Viewer()
    viewer.window.resize(1000, 800)
    viewer.add_image(rgb, name="image", rgb=True)
    shots = []
    for name, (data, cmap) in maps.items():
        layer = viewer.add_image(data, name=name, colormap=cmap, contrast_limits=(0, 1),
                                 blending="translucent")
        settle()
        shots.append(Image.fromarray(viewer.screenshot(canvas_only=True)).convert("RGB"))
        viewer.layers.remove(layer)
    viewer.close()
    return shots


def settle() -> None:
    import napari

    app = napari.qt.get_qapp()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    from napari_specimask.core.coldstart.methods import background_mask, otsu_mask

    shots = views(sys.argv[1], otsu_mask) + views(sys.argv[2], background_mask)
    shots = [s.resize((400, int(400 * s.height / s.width))) for s in shots]
    out = Image.new("RGB", (400 * len(shots), max(s.height for s in shots)), "white")
    for k, shot in enumerate(shots):
        out.paste(shot, (400 * k, 0))
    out.save(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
