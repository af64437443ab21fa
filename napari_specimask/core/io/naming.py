"""Output names for commands that write one file per input, so none overwrites another.

Named by stem alone, ``a/leaf.png`` and ``b/leaf.png`` (or ``x.png`` and ``x.tif``) both
became ``leaf.png`` / ``x.png`` and one silently replaced the other.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Collection, Iterable
from pathlib import Path

SHOW = 3  # renames named in a report line


def output_names(paths: Iterable[str | Path], base: str | Path | None = None, *,
                 keep_folders: bool = False, reserved: Collection[str] = ()
                 ) -> tuple[list[str], list[tuple[str, str]]]:
    """A distinct output name per input (a relative POSIX path without suffix), and the
    renames as (input under ``base``, name).

    The plain name is the stem, or with ``keep_folders`` the path under ``base`` (default:
    the inputs' common folder). Names that clash, ignoring case as macOS and Windows do,
    keep their subfolder (``a/leaf``: the tree ``import-masks`` pairs by), unless it is in
    ``reserved``; then their suffix (``x__png``, ``x__tif``); then a counter (``__2``).
    The same inputs always get the same names.
    """
    rels = _relative([Path(p) for p in paths], base)
    plain = [(r.parent / r.stem).as_posix() if keep_folders else r.stem for r in rels]
    taboo = {f.casefold() for f in reserved}
    names = list(plain)
    for i in _clashing(names):
        if len(rels[i].parts) > 1 and rels[i].parts[0].casefold() not in taboo:
            names[i] = (rels[i].parent / rels[i].stem).as_posix()
    for i in _clashing(names):
        if rels[i].suffix:
            names[i] = f"{names[i]}__{rels[i].suffix[1:].lower()}"
    names = numbered(names, sorted(range(len(names)), key=lambda i: names[i] != plain[i]))
    renamed = [(r.as_posix(), n) for r, n, p in zip(rels, names, plain) if n != p]
    return names, renamed


def tagged_names(stems: dict[object, str]) -> dict[object, str]:
    """key -> stem, or ``<stem>__<key>`` where stems clash (ignoring case). Export keys by
    image id: it stays the same from export to export and names the image's record."""
    clash = set(_clashing(list(stems.values())))
    names = [f"{v}__{k}" if i in clash else v for i, (k, v) in enumerate(stems.items())]
    return dict(zip(stems, numbered(names, sorted(range(len(names)), key=clash.__contains__))))


def rename_note(renamed: list[tuple[str, str]], suffix: str = "") -> str:
    """One report line naming the first few renames; empty when there are none."""
    if not renamed:
        return ""
    shown = ", ".join(f"{src} -> {name}{suffix}" for src, name in renamed[:SHOW])
    more = f", ... ({len(renamed)} in all)" if len(renamed) > SHOW else ""
    return (f"renamed {len(renamed)} output(s) that shared a name, so none overwrote "
            f"another: {shown}{more}")


def _relative(paths: list[Path], base: str | Path | None) -> list[Path]:
    absolute = [Path(os.path.abspath(p)) for p in paths]
    try:
        root = Path(os.path.abspath(base)) if base is not None else Path(
            os.path.commonpath([p.parent for p in absolute]))
    except ValueError:  # no inputs, or on different drives: no common folder
        return [Path(p.name) for p in paths]
    return [p.relative_to(root) if p.is_relative_to(root) else Path(p.name) for p in absolute]


def _clashing(names: list[str]) -> list[int]:
    counts = Counter(n.casefold() for n in names)
    return [i for i, n in enumerate(names) if counts[n.casefold()] > 1]


def numbered(names: list[str], order: list[int] | None = None) -> list[str]:
    """Names still equal (``x.png``, ``x.PNG``; or an input named ``x__png``): all but
    the first in ``order`` (an unchanged name goes first) get a free ``__2``, ``__3``."""
    out, used, seen = list(names), {n.casefold() for n in names}, set()
    for i in range(len(names)) if order is None else order:
        if out[i].casefold() in seen:
            k = 2
            while f"{names[i]}__{k}".casefold() in used:
                k += 1
            out[i] = f"{names[i]}__{k}"
            used.add(out[i].casefold())
        seen.add(out[i].casefold())
    return out
