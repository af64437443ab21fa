"""``specimask sample``: a taxon-weighted, stratified sample of a large collection."""

from __future__ import annotations

from pathlib import Path

from napari_specimask.core.sampling.stratified import LINKS, stratified_sample, write_sample
from napari_specimask.core.sampling.taxon_tables import SHOW, read_collection


def register(sub) -> None:
    p = sub.add_parser(
        "sample",
        help="draw N images per group (e.g. family), each taxon (e.g. genus) equally likely",
        description="Draw N images from every group at --sample-level; inside a group each "
                    "taxon at --weight-level is equally likely (see docs/sampling.md).",
    )
    p.add_argument("metadata", type=Path,
                   help="Herbarium 2021 metadata.json, or a CSV/TSV with file and taxon columns")
    p.add_argument("n", type=int, metavar="N", help="images per group")
    p.add_argument("--sample-level", required=True, help="level that forms groups (family)")
    p.add_argument("--weight-level", required=True,
                   help="level whose taxa are equally likely inside a group (genus)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--images-root", type=Path,
                   help="folder the file paths are relative to (default: the metadata's folder)")
    p.add_argument("--link", choices=LINKS, default="copy",
                   help="copy or symlink the images into OUT/images, or only list them")
    p.set_defaults(func=cmd_sample)


def cmd_sample(args) -> int:
    collection = read_collection(args.metadata)
    sample = stratified_sample(collection.rows, args.n, args.sample_level, args.weight_level,
                               args.seed, levels=collection.levels, source=collection.path)
    csv_path = write_sample(sample, args.out, args.images_root, args.link)

    width = max([len(sample.sample_level), *(len(g.group) for g in sample.groups)])
    print(f"{sample.sample_level:<{width}}  {sample.weight_level + ' taxa':>12}  "
          f"{'available':>9}  {'drawn':>5}")
    for g in sample.groups:
        print(f"{g.group:<{width}}  {g.taxa:>12}  {g.available:>9}  {g.drawn:>5}")
    short = sample.short
    if short:
        names = ", ".join(g.group for g in short)
        print(f"{len(short)} group(s) had fewer than {sample.n} image(s) and gave all: {names}")
    if sample.skipped:
        where = ", ".join(r.where or r.file for r in sample.skipped[:SHOW])
        more = ", ..." if len(sample.skipped) > SHOW else ""
        print(f"skipped {len(sample.skipped)} image(s) with no {sample.sample_level} or "
              f"{sample.weight_level}: {where}{more}")
    available = sum(g.available for g in sample.groups)
    done = {"copy": "copied to", "symlink": "linked in", "list": "listed in"}[args.link]
    place = args.out / "images" if args.link != "list" else csv_path
    print(f"drew {len(sample.chosen)} image(s) from {len(sample.groups)} group(s) "
          f"({available} available, seed {sample.seed}); {done} {place}")
    print(f"wrote {csv_path}")
    return 0
