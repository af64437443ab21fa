"""Stratified, taxon-weighted sampling of a large labelled collection.

A herbarium collection is dominated by a few common taxa; a uniform sample of a family
is mostly its largest genus. Here each group at the *sample level* (e.g. every family)
gets its own quota of N images, and inside a group every taxon at the *weight level*
(e.g. every genus) carries the same total weight, so rare genera are as likely to be
drawn as common ones. See ``docs/sampling.md``.

The collection's taxon table is read by ``taxon_tables``; this module draws and writes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from ..errors import SpecimaskError
from ..io.atomic import atomic_path, atomic_write_bytes
from .taxon_tables import Row, check_duplicates, name_a_few, raise_duplicates

LINKS = ("copy", "symlink", "list")


@dataclass(frozen=True, slots=True)
class Pick:
    """A drawn image; ``weight`` is its probability of being the group's first draw."""

    row: Row
    group: str
    weight: float


@dataclass(frozen=True)
class GroupSummary:
    group: str
    available: int
    drawn: int
    taxa: int  # weight-level taxa in the group


@dataclass
class Sample:
    chosen: list[Pick]
    groups: list[GroupSummary]
    n: int
    sample_level: str
    weight_level: str
    seed: int
    levels: tuple[str, ...]
    skipped: list[Row] = field(default_factory=list)  # rows with no taxon at a used level
    source: Path | None = None

    @property
    def short(self) -> list[GroupSummary]:
        """Groups that had fewer than N images (and gave all of them)."""
        return [g for g in self.groups if g.available < self.n]


# ---------------------------------------------------------------- sampling


def _group_rng(seed: int, group: str) -> np.random.Generator:
    """A generator for one group from (seed, group name): a group's draw does not depend
    on which other groups exist or in what order they come."""
    digest = hashlib.sha256(group.encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def draw_weighted(weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` items drawn without replacement, each draw proportional to weight.

    Efraimidis–Spirakis with exponential keys: give item i an exponential clock of rate
    w_i (key E_i / w_i with E_i ~ Exp(1)) and keep the k that ring first. The first clock
    to ring is item i with probability w_i / sum(w); by memorylessness the race among the
    others then starts afresh, so the k smallest keys, in order, have exactly the law of
    k successive draws proportional to weight among the items not yet drawn, the same
    law as ``Generator.choice(n, k, replace=False, p=w / w.sum())``, in one vectorised
    pass that costs O(n) whatever k is.
    """
    n = len(weights)
    if k >= n:
        return np.arange(n)
    keys = rng.standard_exponential(n) / weights
    top = np.argpartition(keys, k - 1)[:k]
    return top[np.argsort(keys[top], kind="stable")]


def stratified_sample(
    rows: Sequence[Row],
    n: int,
    sample_level: str,
    weight_level: str,
    seed: int = 0,
    *,
    levels: Sequence[str] | None = None,
    source: str | Path | None = None,
) -> Sample:
    """Draw ``n`` images per ``sample_level`` group, weight-level taxa equally likely.

    Inside a group with T taxa at ``weight_level``, an image of a taxon with m images in
    the group has weight 1 / m, so every taxon's images weigh 1 in all: the first draw
    picks each taxon with probability 1 / T and then an image of it uniformly; later
    draws repeat this over what is left (without replacement, see ``draw_weighted``).
    Each group's quota is ``n`` on its own: a group with fewer images gives all of them
    and the others are not affected. Rows without a taxon at either level are skipped
    and returned in ``Sample.skipped`` (one unlabeled image should not stop a sample of
    a million). Groups, and images within a group, are ordered by name, and each group
    draws from its own generator seeded by (seed, group name), so the result depends
    only on the seed and the rows, not on their order.
    """
    where = f"{source}: " if source else ""
    _check_whole(n, seed)
    if levels is None:
        levels = tuple(dict.fromkeys(k for r in rows for k in r.taxa))
    levels = tuple(levels)
    sample_level, weight_level = sample_level.strip().lower(), weight_level.strip().lower()
    for level in (sample_level, weight_level):
        if level not in levels:
            raise SpecimaskError(f"{where}unknown level '{level}'; the levels present are: "
                                 f"{', '.join(levels) or 'none'}")
    if not rows:
        raise SpecimaskError(f"{where}no images to sample from")
    check_duplicates(rows, Path(source) if source else None)
    groups, skipped = _by_group(rows, sample_level, weight_level)
    if not groups:
        raise SpecimaskError(f"{where}no image has both a {sample_level} and a {weight_level}; "
                             "fill in those columns")

    chosen, summary = [], []
    for group in sorted(groups):
        members = sorted(groups[group], key=lambda r: r.file)
        per_taxon = Counter(r.taxa[weight_level] for r in members)
        weights = np.array([1.0 / per_taxon[r.taxa[weight_level]] for r in members])
        weights /= len(per_taxon)  # first-draw probabilities: they sum to 1
        picked = np.sort(draw_weighted(weights, n, _group_rng(int(seed), group)))
        chosen.extend(Pick(members[i], group, float(weights[i])) for i in picked)
        summary.append(GroupSummary(group, len(members), len(picked), len(per_taxon)))
    return Sample(chosen, summary, int(n), sample_level, weight_level, int(seed), levels,
                  skipped, Path(source) if source else None)


def _check_whole(n, seed) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SpecimaskError(f"N must be a whole number of at least 1, not {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecimaskError(f"the seed must be a whole number >= 0, not {seed!r}")


def _by_group(
    rows: Sequence[Row], sample_level: str, weight_level: str
) -> tuple[dict[str, list[Row]], list[Row]]:
    """Rows by their ``sample_level`` group, and those lacking a taxon at either level."""
    groups: dict[str, list[Row]] = defaultdict(list)
    skipped = []
    for r in rows:
        group, taxon = r.taxa.get(sample_level, ""), r.taxa.get(weight_level, "")
        if group and taxon:
            groups[group].append(r)
        else:
            skipped.append(r)
    return groups, skipped


# ---------------------------------------------------------------- writer


def _relative(file: str, root: Path) -> PurePosixPath:
    """Where an image goes under ``images/``: its path relative to ``root``; never outside."""
    p = Path(file)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(root.resolve())
        except ValueError:
            raise SpecimaskError(f"{file}: an absolute path outside the images root {root}; "
                                 "give --images-root a folder that holds it") from None
    rel = _normal(p)
    if ".." in rel.parts or not rel.parts:
        raise SpecimaskError(f"{file}: a path that leaves the images root; "
                             "list files relative to it")
    return rel


def _normal(p: Path) -> PurePosixPath:
    """A relative path with ``a\\b.jpg``, ``./a/b.jpg`` and ``a//b.jpg`` alike."""
    return PurePosixPath(*PureWindowsPath(str(p)).parts)


def write_sample(
    sample: Sample,
    out_dir: str | Path,
    images_root: str | Path | None = None,
    link: str = "copy",
) -> Path:
    """Write ``out_dir/sample.csv`` (+ ``sample.json``) and the images, returns the CSV.

    ``copy`` and ``symlink`` put each image at ``out_dir/images/<its relative path>``, so
    ``specimask init PROJECT --images out_dir/images`` takes the sample as it is; ``list``
    writes only the table (for images fetched later, so none need exist). Files are
    relative to ``images_root`` (default: the metadata file's folder). Every image is
    checked before anything is written: a sample with holes is not a sample.
    """
    if link not in LINKS:
        raise SpecimaskError(f"unknown link mode {link!r}; use one of {', '.join(LINKS)}")
    out_dir = Path(out_dir)
    if images_root is None:
        if sample.source is None and link != "list":
            raise SpecimaskError("no images root; give images_root (--images-root)")
        images_root = sample.source.parent if sample.source else Path(".")
    root = Path(images_root)
    for name in ("sample.csv", "images"):
        if (out_dir / name).exists():
            raise SpecimaskError(f"{out_dir / name}: already there from an earlier sample; "
                                 "choose another --out or remove it")

    rels = _place_images(sample, root, out_dir / "images", link)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _write_tables(sample, out_dir, root, link, rels)


def _place_images(sample: Sample, root: Path, images: Path, link: str) -> list[str]:
    """Copy or link every drawn image under ``images`` (all checked first); their paths."""
    if link == "list":
        return [p.row.file for p in sample.chosen]
    if not root.is_dir():
        raise SpecimaskError(f"{root}: images root is not a folder; give --images-root")
    places = [(root / p.row.file, _relative(p.row.file, root)) for p in sample.chosen]
    rels = [str(rel) for _, rel in places]
    same: dict[str, list[str]] = defaultdict(list)  # absolute and relative spellings
    for p, rel in zip(sample.chosen, rels):
        same[rel].append(p.row.file)
    if len(same) < len(rels):
        raise_duplicates([v for v in same.values() if len(v) > 1], sample.source)
    missing = [p.row.file for p, (src, _) in zip(sample.chosen, places) if not src.is_file()]
    if missing:
        raise SpecimaskError(
            f"{len(missing)} of {len(places)} drawn image(s) not found under {root}: "
            f"{name_a_few(missing)}; give --images-root the folder the paths are relative "
            "to, or --link list to write only the table")
    for src, rel in places:
        dest = images.joinpath(*rel.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if link == "copy":
            shutil.copy2(src, dest)
        else:
            os.symlink(src.resolve(), dest)
    return rels


def _write_tables(sample: Sample, out_dir: Path, root: Path, link: str, rels: list[str]) -> Path:
    """``sample.json`` (how it was drawn) and ``sample.csv`` (what was drawn); the CSV."""
    info = {
        "source": str(sample.source) if sample.source else None,
        "images_root": str(root), "link": link, "n": sample.n, "seed": sample.seed,
        "sample_level": sample.sample_level, "weight_level": sample.weight_level,
        "drawn": len(sample.chosen), "skipped_rows": len(sample.skipped),
        "groups": [vars(g) for g in sample.groups],
    }
    atomic_write_bytes(out_dir / "sample.json", (json.dumps(info, indent=1) + "\n").encode())
    csv_path = out_dir / "sample.csv"
    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", *sample.levels, "group", "weight"])
        for rel, p in zip(rels, sample.chosen):
            w.writerow([rel, *(p.row.taxa.get(k, "") for k in sample.levels), p.group,
                        f"{p.weight:.6g}"])
    return csv_path
