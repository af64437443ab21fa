"""Reading a collection's taxon table: which image belongs to which family, genus, ...

Inputs: the Herbarium 2021 (Half-Earth, FGVC8) COCO-like ``metadata.json``, or a CSV/TSV
with a file column and one column per taxon level. Errors name the file, the rows and
the fix; a million rows read in a few seconds (``benchmarks/sampling_scale.py``).
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecimaskError

FILE_COLUMNS = ("file_name", "file", "path", "image", "filename")
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


def name_a_few(items: Sequence[str]) -> str:
    """The first few offending items for a message, and how many there are in all."""
    shown = ", ".join(str(i) for i in items[:SHOW])
    return shown + (f", ... ({len(items)} in all)" if len(items) > SHOW else "")


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
    data = _load_metadata(path)
    taxa_of, levels = _category_taxa(path, data["categories"])
    institutions = {i.get("id"): str(i.get("name", i.get("id")))
                    for i in data.get("institutions") or [] if isinstance(i, dict)}
    label = _image_labels(path, data, taxa_of)
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
    check_duplicates(rows, path)
    return Collection(path, tuple(levels), rows, unlabeled)


def _load_metadata(path: Path) -> dict:
    """The parsed metadata.json, refused early when it cannot be a labelled training set."""
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
    return data


def _category_taxa(
    path: Path, categories: list
) -> tuple[dict[object, dict[str, str]], dict[str, None]]:
    """Each category id's taxa by level, and the levels in the order first seen."""
    taxa_of: dict[object, dict[str, str]] = {}
    levels: dict[str, None] = {}
    for cat in categories:
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
    return taxa_of, levels


def _image_labels(
    path: Path, data: dict, taxa_of: dict[object, dict[str, str]]
) -> dict[object, tuple[object, object]]:
    """(category id, institution id) of each annotated image id; bad annotations raise."""
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
            raise SpecimaskError(f"{path}: {len(found)} annotation(s) {what}: "
                                 f"{name_a_few(found)}; fix or regenerate the metadata")
    return label


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
                             f"{name_a_few(no_file)}; fill them in or delete those rows")
    if not rows:
        raise SpecimaskError(f"{path}: a header but no rows")
    check_duplicates(rows, path)
    return Collection(path, tuple(k for _, k in level_cols), rows)


def check_duplicates(rows: Sequence[Row], path: Path | None) -> None:
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
    raise_duplicates([list(v) for v in spellings.values()], path)


def raise_duplicates(spellings: Sequence[Sequence[str]], path: Path | None) -> None:
    where = f"{path}: " if path else ""
    named = [" = ".join(v) for v in spellings]  # each file as the rows spell it
    raise SpecimaskError(f"{where}{len(named)} file(s) listed more than once: "
                         f"{name_a_few(named)}; keep one row per image")


def _file_key(file: str) -> str:
    """A file as the writer places it (``_normal``: either separator, no empty or ``.``
    parts), in plain string operations: pathlib would take seconds for a million rows."""
    if not ("\\" in file or "//" in file or "/." in file or file.startswith(".")
            or file.endswith("/")):
        return file  # nearly every row: already as the writer would spell it
    s = file.replace("\\", "/")
    return ("/" if s.startswith("/") else "") + "/".join(
        p for p in s.split("/") if p and p != ".")
