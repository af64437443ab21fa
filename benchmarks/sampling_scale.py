"""How long does stratified sampling take on a collection the size of Herbarium 2021?

    .venv/bin/python benchmarks/sampling_scale.py [N_IMAGES]

Writes a synthetic Half-Earth style ``metadata.json`` of N images (default 1,000,000;
the real training set has about 2.26 million) over 2,500 families and 18,000 genera
with a long-tailed (Zipf) distribution, then times reading it and drawing 20 images per
family weighted by genus, as `specimask sample` does.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_specimask.core.sampling.stratified import stratified_sample
from napari_specimask.core.sampling.taxon_tables import read_collection


def write_metadata(path: Path, n: int, families: int = 2_500, genera: int = 18_000) -> None:
    rng = np.random.default_rng(0)
    genus_family = rng.integers(0, families, genera)
    genus_of = np.minimum(rng.zipf(1.3, n) - 1, genera - 1)
    categories = [{"id": g, "name": f"Genus{g} species", "family": f"Family{genus_family[g]}",
                   "order": "Order"} for g in range(genera)]
    images = [{"id": i, "file_name": f"images/{i // 1000:04d}/{i}.jpg"} for i in range(n)]
    annotations = [{"id": i, "image_id": i, "category_id": int(g)}
                   for i, g in enumerate(genus_of)]
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": categories}))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        meta = Path(tmp) / "metadata.json"
        write_metadata(meta, n)
        size = meta.stat().st_size / 1e6
        t0 = time.perf_counter()
        collection = read_collection(meta)
        t1 = time.perf_counter()
        sample = stratified_sample(collection.rows, 20, "family", "genus", seed=0,
                                   levels=collection.levels)
        t2 = time.perf_counter()
    print(f"{n:,} images ({size:.0f} MB metadata.json): read {t1 - t0:.1f} s, "
          f"sample 20 per family by genus {t2 - t1:.1f} s; {len(sample.chosen):,} drawn "
          f"from {len(sample.groups):,} families ({len(sample.short):,} had fewer than 20)")


if __name__ == "__main__":
    main()
