"""Stratified, taxon-weighted sampling of a large labelled collection.

A herbarium collection is dominated by a few common taxa; a uniform sample of a family
is mostly its largest genus. Here each group at the *sample level* (e.g. every family)
gets its own quota of N images, and inside a group every taxon at the *weight level*
(e.g. every genus) carries the same total weight, so rare genera are as likely to be
drawn as common ones. See ``docs/sampling.md``.

Inputs: the Herbarium 2021 (Half-Earth, FGVC8) COCO-like ``metadata.json``, or a CSV/TSV
with a file column and one column per taxon level.
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

from .atomic import atomic_path, atomic_write_bytes
from .errors import SpecimaskError

FILE_COLUMNS = ("file_name", "file", "path", "image", "filename")
LINKS = ("copy", "symlink", "list")
# Category keys of a metadata.json that are not taxon levels.
NOT_LEVELS = {"id", "name", "scientificname", "authors", "category_id", "supercategory"}
SHOW = 5  # how many offending rows/files an error or report names


@dataclass(frozen=True, slots=True)
class Row:
    """One image: its file (as written in the metadata) and its taxon at each level.

    ``taxa`` maps a lower-case level name to a taxon (``""`` when unknown); rows of one
    category share one dict, so millions of rows stay cheap. ``where`` locates the row in
    its source ("line 7", "image id 123") for messages.
    """

    file: str
    taxa: dict[str, str]
    where: str = ""


@dataclass(frozen=True)
class Collection:
    path: Path | None
    levels: tuple[str, ...]
    rows: list[Row]
    unlabeled: int = 0  # metadata.json images without an annotation (kept as empty-taxon rows)


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


def _few(items: Sequence[str]) -> str:
    shown = ", ".join(str(i) for i in items[:SHOW])
    return shown + (f", ... ({len(items)} in all)" if len(items) > SHOW else "")


# ---------------------------------------------------------------- readers


def read_collection(path: str | Path) -> Collection:
    """Read a ``metadata.json`` (by suffix .json) or a CSV/TSV (anything else)."""
    path = Path(path)
    if not path.is_file():
        raise SpecimaskError(f"{path}: no such file; give the collection's metadata.json or CSV")
    if path.suffix.lower() == ".json":
        return read_metadata_json(path)
    return read_table(path)


def _load_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecimaskError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise SpecimaskError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_metadata_json(path: str | Path) -> Collection:
    """The Herbarium 2021 (FGVC8) COCO-like metadata: images, annotations, categories.

    Levels are the category's string fields (``order``, ``family``, ``genus`` if given, ...)
    plus ``genus`` (first word of ``name`` when absent) and ``species`` (the full ``name``,
    or ``genus`` + epithet when only an epithet is given), and ``institution`` when the
    annotations carry an ``institution_id``. Images without an annotation are kept with
    empty taxa, so sampling skips and counts them.
    """
    path = Path(path)
    try:
        data = json.loads(_load_text(path))
    except json.JSONDecodeError as exc:
        raise SpecimaskError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                             f"{exc.msg}); check the file is complete") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise SpecimaskError(f"{path}: no 'images' list; expected a COCO-like metadata.json "
                             "(Herbarium 2021) or a CSV with file and taxon columns")
    for key in ("annotations", "categories"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise SpecimaskError(
                f"{path}: no '{key}'; a test-set metadata.json has no labels, use the "
                "training metadata.json (or a CSV with taxon columns)")

    taxa_of: dict[object, dict[str, str]] = {}
    levels: dict[str, None] = {}
    for cat in data["categories"]:
        if not isinstance(cat, dict) or "id" not in cat:
            raise SpecimaskError(f"{path}: a category without an 'id': {str(cat)[:80]}")
        taxa = {k.lower(): v.strip() for k, v in cat.items()
                if isinstance(v, str) and k.lower() not in NOT_LEVELS}
        name = str(cat.get("name") or cat.get("scientificName") or "").strip()
        if not taxa.get("genus") and name:
            taxa["genus"] = name.split()[0]
        epithet = taxa.get("species", "")
        if name:
            taxa["species"] = name
        elif epithet and " " not in epithet and taxa.get("genus"):
            taxa["species"] = f"{taxa['genus']} {epithet}"
        taxa_of[cat["id"]] = taxa
        levels.update(dict.fromkeys(taxa))

    institutions = {i.get("id"): str(i.get("name", i.get("id")))
                    for i in data.get("institutions") or [] if isinstance(i, dict)}
    label: dict[object, tuple[object, object]] = {}
    unknown_cat, unknown_img, twice = [], [], []
    image_ids = {img.get("id") for img in data["images"] if isinstance(img, dict)}
    for ann in data["annotations"]:
        if not isinstance(ann, dict):
            continue
        iid, cid = ann.get("image_id"), ann.get("category_id")
        if cid not in taxa_of:
            unknown_cat.append(f"image id {iid} (category {cid})")
        elif iid not in image_ids:
            unknown_img.append(f"image id {iid}")
        elif iid in label and label[iid][0] != cid:
            twice.append(f"image id {iid}")
        label[iid] = (cid, ann.get("institution_id"))
    for found, what in ((unknown_cat, "refer to categories that are not listed"),
                        (unknown_img, "refer to images that are not listed"),
                        (twice, "give one image two different categories")):
        if found:
            raise SpecimaskError(f"{path}: {len(found)} annotation(s) {what}: {_few(found)}; "
                                 "fix or regenerate the metadata")
    with_inst = any(inst is not None for _, inst in label.values())
    if with_inst:
        levels["institution"] = None

    empty = dict.fromkeys(levels, "")
    rows, unlabeled, cache = [], 0, {}
    for img in data["images"]:
        if not isinstance(img, dict) or not str(img.get("file_name") or "").strip():
            raise SpecimaskError(f"{path}: an image without a 'file_name': {str(img)[:80]}")
        iid = img.get("id")
        cid, inst = label.get(iid, (None, None))
        if cid is None:
            unlabeled += 1
            taxa = empty
        elif with_inst:
            key = (cid, inst)
            if key not in cache:
                cache[key] = {**taxa_of[cid],
                              "institution": institutions.get(inst, "" if inst is None
                                                              else str(inst))}
            taxa = cache[key]
        else:
            taxa = taxa_of[cid]
        rows.append(Row(str(img["file_name"]).strip(), taxa, f"image id {iid}"))
    _check_duplicates(rows, path)
    return Collection(path, tuple(levels), rows, unlabeled)


def _delimiter(path: Path, header: str) -> str:
    """Tab for .tsv/.tab; otherwise the separator the header line uses most (',' if none).

    The header alone decides: column names rarely contain separators, while the data may
    (quoted commas in locality strings)."""
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(path: str | Path) -> Collection:
    """A CSV/TSV with a file column (file_name, file, path, image) and taxon columns.

    Every other column is a level, named by its header in lower case. A taxon cell may be
    empty (sampling skips and counts such rows); an empty file cell is an error.
    """
    path = Path(path)
    text = _load_text(path)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise SpecimaskError(f"{path}: empty file; expected a header line like "
                             "'file,family,genus,species'")
    reader = csv.reader(text.splitlines(keepends=True), delimiter=_delimiter(path, lines[0]))
    try:
        header = [h.strip() for h in next(reader)]
        keys = [h.lower() for h in header]
        file_col = next((keys.index(c) for c in FILE_COLUMNS if c in keys), None)
        if file_col is None:
            raise SpecimaskError(
                f"{path}: no file column; name one of {', '.join(FILE_COLUMNS)} "
                f"(columns present: {', '.join(header) or 'none'})")
        level_cols = [(i, k) for i, k in enumerate(keys) if i != file_col and k]
        dupes = sorted(k for k, c in Counter(k for _, k in level_cols).items() if c > 1)
        if dupes:
            raise SpecimaskError(f"{path}: column(s) {', '.join(dupes)} appear twice "
                                 "(names are case-insensitive); rename one")
        if not level_cols:
            raise SpecimaskError(
                f"{path}: no taxon columns; add columns such as family, genus, species "
                f"(columns present: {', '.join(header)})")
        rows, no_file, interned = [], [], {}
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            line = f"line {reader.line_num}"
            cells = cells + [""] * (len(keys) - len(cells))
            file = cells[file_col].strip()
            if not file:
                no_file.append(line)
                continue
            taxa = tuple((k, cells[i].strip()) for i, k in level_cols)
            if taxa not in interned:
                interned[taxa] = dict(taxa)
            rows.append(Row(file, interned[taxa], line))
    except csv.Error as exc:
        raise SpecimaskError(f"{path}: unreadable CSV at line {reader.line_num}: {exc}; "
                             "check the quoting") from None
    if no_file:
        raise SpecimaskError(f"{path}: {len(no_file)} row(s) with an empty {header[file_col]}: "
                             f"{_few(no_file)}; fill them in or delete those rows")
    if not rows:
        raise SpecimaskError(f"{path}: a header but no rows")
    _check_duplicates(rows, path)
    return Collection(path, tuple(k for _, k in level_cols), rows)


def _check_duplicates(rows: Sequence[Row], path: Path | None) -> None:
    """One row per image, however its path is spelt (``a/b.jpg``, ``./a/b.jpg``,
    ``a\\b.jpg`` are one file and would land on one place under ``images/``)."""
    counts = Counter(_file_key(r.file) for r in rows)
    if len(counts) == len(rows):
        return
    spellings: dict[str, dict[str, None]] = defaultdict(dict)
    for r in rows:
        key = _file_key(r.file)
        if counts[key] > 1:
            spellings[key][r.file] = None
    _raise_duplicates([list(v) for v in spellings.values()], path)


def _raise_duplicates(spellings: Sequence[Sequence[str]], path: Path | None) -> None:
    where = f"{path}: " if path else ""
    named = [" = ".join(v) for v in spellings]  # each file as the rows spell it
    raise SpecimaskError(f"{where}{len(named)} file(s) listed more than once: "
                         f"{_few(named)}; keep one row per image")


def _file_key(file: str) -> str:
    """A file as the writer places it (``_normal``: either separator, no empty or ``.``
    parts), in plain string operations: pathlib would take seconds for a million rows."""
    if not ("\\" in file or "//" in file or "/." in file or file.startswith(".")
            or file.endswith("/")):
        return file  # nearly every row: already as the writer would spell it
    s = file.replace("\\", "/")
    return ("/" if s.startswith("/") else "") + "/".join(
        p for p in s.split("/") if p and p != ".")


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
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SpecimaskError(f"N must be a whole number of at least 1, not {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecimaskError(f"the seed must be a whole number >= 0, not {seed!r}")
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
    _check_duplicates(rows, Path(source) if source else None)

    groups: dict[str, list[Row]] = defaultdict(list)
    skipped = []
    for r in rows:
        group, taxon = r.taxa.get(sample_level, ""), r.taxa.get(weight_level, "")
        if group and taxon:
            groups[group].append(r)
        else:
            skipped.append(r)
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

    if link == "list":
        rels = [p.row.file for p in sample.chosen]
    else:
        if not root.is_dir():
            raise SpecimaskError(f"{root}: images root is not a folder; give --images-root")
        places = [(root / p.row.file, _relative(p.row.file, root)) for p in sample.chosen]
        rels = [str(rel) for _, rel in places]
        same: dict[str, list[str]] = defaultdict(list)  # absolute and relative spellings
        for p, rel in zip(sample.chosen, rels):
            same[rel].append(p.row.file)
        if len(same) < len(rels):
            _raise_duplicates([v for v in same.values() if len(v) > 1], sample.source)
        missing = [p.row.file for p, (src, _) in zip(sample.chosen, places) if not src.is_file()]
        if missing:
            raise SpecimaskError(
                f"{len(missing)} of {len(places)} drawn image(s) not found under {root}: "
                f"{_few(missing)}; give --images-root the folder the paths are relative "
                "to, or --link list to write only the table")
        images = out_dir / "images"
        for src, rel in places:
            dest = images.joinpath(*rel.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if link == "copy":
                shutil.copy2(src, dest)
            else:
                os.symlink(src.resolve(), dest)

    out_dir.mkdir(parents=True, exist_ok=True)
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
