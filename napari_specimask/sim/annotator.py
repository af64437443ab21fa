"""A person's effort per good mask: a scripted annotator that corrects a proposal.

It sees what the GUI shows (the proposal, the image, the model's probability map when a
model is active) and the true mask stands in for what the person knows is right. The
action model, the same for both modes:

- brush diameter ``d = max(2, round(max(H, W) / 80))`` (what Annotate starts with);
- errors: the 8-connected components of FN = truth & ~mask and FP = mask & ~truth;
- greedy: while Dice(mask, truth) < 0.95, take the largest error component and fix it.
  A proposal already at Dice >= 0.95 costs 1 action (accept as is); otherwise every
  finished mask costs 1 more action (save);
- a brush stroke paints (FN) or erases (FP) a path ``STROKE_CELLS`` = 10 brush widths
  long: a component needs ``max(1, ceil(n_cells / 10))`` strokes, ``n_cells`` being the
  d x d grid cells (the image tiled from (0, 0)) it touches. A stroke fixes exactly its
  component (a careful person, no overshoot). Changing between painting and erasing
  costs 1 action each time the needed kind differs from the previous stroke's (the
  brush starts painting);
- with tools: first the click tools at the component's most interior pixel (maximum of
  its distance transform): ``remove_blob`` for FP; for FN ``fill_object_holes`` (clicked
  on the mask pixel bordering the component nearest that point: a click inside a hole
  hits no object) and ``grow_probability`` (a probability map shown) or else
  ``grow_colour``, each on the current mask. A tool is used where it does the job: of
  the results that fix at least ``USEFUL_SHARE`` (half) of the component's pixels and
  raise Dice, the one that raises it most costs 1 action (a hotkey at the cursor, no
  brush change). A person does not click grow where it would add 32 of a stem's 1,922
  missed pixels (measured on a real sheet: that rule, "any rise in Dice", cost 1.5x the
  brush's actions there, as the rest of the stem then needed strokes piece by piece);
  otherwise the component is brushed as above (the corrective add / remove brushes cost what paint /
  erase strokes cost).

``pixels_to_change`` is what the brush-only annotator changed (the sizes of the
components it fixed). Fixing one component exactly leaves every other one as it was, so
brush-only labels once and takes the components largest first, which is the greedy loop
without relabelling; with tools the components are labelled again after each step.
Guards: a brush step must lower the wrong
pixels (an exact stroke always does; it need not raise Dice: erasing FP while nothing
overlaps the truth leaves Dice at 0), and at most ``MAX_STEPS`` steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..core.masks.click_tools import fill_object_holes, grow_colour, grow_probability, remove_blob
from ..core.masks.metrics import dice_iou

TARGET_DICE = 0.95
USEFUL_SHARE = 0.5  # a click tool is used when it fixes at least this share of its target
STROKE_CELLS = 10   # brush widths one stroke covers
MAX_STEPS = 10_000
EIGHT = np.ones((3, 3), bool)
PAINT, ERASE = "paint", "erase"
TOOLS = ("remove_blob", "fill_object_holes", "grow_probability", "grow_colour")


@dataclass(frozen=True)
class Effort:
    """One image: what the proposal needed, brush only and with the click tools."""

    dice_before: float
    pixels_to_change: int   # changed by the brush-only annotator
    brush_actions: int      # strokes + paint/erase changes + save (or 1: accept)
    tool_actions: int       # clicks + strokes + changes + save (or 1: accept)
    brush_strokes: int
    dice_after_brush: float
    dice_after_tools: float
    remove_blob: int = 0
    fill_object_holes: int = 0
    grow_probability: int = 0
    grow_colour: int = 0
    tool_mode_strokes: int = 0  # components the tools could not fix


def brush_diameter(shape) -> int:
    return max(2, round(max(shape[:2]) / 80))


def _dice(mask: np.ndarray, truth: np.ndarray) -> float:
    return float(dice_iou(mask, truth)[0])


def _strokes(n_cells: int) -> int:
    return max(1, -(-int(n_cells) // STROKE_CELLS))


def _cells_per_label(labels: np.ndarray, n: int, d: int) -> np.ndarray:
    """For labels 1..n: the d x d grid cells each touches (index 0 unused)."""
    rows, cols = np.nonzero(labels)
    ncols = labels.shape[1] // d + 1
    key = labels[rows, cols].astype(np.int64) * (labels.size + 1) + (rows // d) * ncols + cols // d
    unique = np.unique(key)
    return np.bincount(unique // (labels.size + 1), minlength=n + 1)


def _error_labels(mask: np.ndarray, truth: np.ndarray):
    """(labels, n, kind per label) of FN (paint) then FP (erase) components, one array."""
    fn, n_fn = ndi.label(truth & ~mask, structure=EIGHT)
    fp, n_fp = ndi.label(mask & ~truth, structure=EIGHT)
    labels = fn + np.where(fp > 0, fp + n_fn, 0)
    kinds = np.array([None] + [PAINT] * n_fn + [ERASE] * n_fp, dtype=object)
    return labels, n_fn + n_fp, kinds


def _brush_cost(kind: str, n_cells: int, current: str) -> tuple[int, str]:
    """Actions to brush one component (strokes, plus 1 to change paint / erase)."""
    return _strokes(n_cells) + (kind != current), kind


def brush_only(mask: np.ndarray, truth: np.ndarray, d: int,
               target: float = TARGET_DICE) -> tuple[int, int, int, float]:
    """(actions before saving, strokes, pixels changed, final Dice) with the brush alone."""
    labels, n, kinds = _error_labels(mask, truth)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    cells = _cells_per_label(labels, n, d)
    inter = np.count_nonzero(mask & truth)
    m, t = np.count_nonzero(mask), np.count_nonzero(truth)
    actions = strokes = pixels = 0
    current = PAINT
    for lab in np.argsort(-sizes[1:], kind="stable") + 1:
        if (2.0 * inter / (m + t) if m + t else 1.0) >= target:
            break
        cost, current = _brush_cost(kinds[lab], cells[lab], current)
        actions, strokes, pixels = actions + cost, strokes + _strokes(cells[lab]), \
            pixels + int(sizes[lab])
        if kinds[lab] == PAINT:
            inter, m = inter + sizes[lab], m + sizes[lab]
        else:
            m -= sizes[lab]
    return actions, strokes, pixels, float(2.0 * inter / (m + t) if m + t else 1.0)


def interior_point(component: np.ndarray) -> tuple[int, int]:
    """The component's most interior pixel (max of its distance transform)."""
    box = ndi.find_objects(component.astype(np.uint8))[0]
    crop = np.pad(component[box], 1)
    dist = ndi.distance_transform_edt(crop)
    r, c = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(box[0].start + r - 1), int(box[1].start + c - 1)


def bordering_point(mask: np.ndarray, component: np.ndarray, point) -> tuple | None:
    """The mask pixel next to ``component`` nearest ``point``: where to click to fill a
    hole (a click inside the hole hits no object), or None when none borders it."""
    box = ndi.find_objects(component.astype(np.uint8))[0]
    box = tuple(slice(max(0, s.start - 1), s.stop + 1) for s in box)
    ring = ndi.binary_dilation(component[box], EIGHT) & mask[box]
    rows, cols = np.nonzero(ring)
    if not rows.size:
        return None
    rows, cols = rows + box[0].start, cols + box[1].start
    k = int(np.argmin((rows - point[0]) ** 2 + (cols - point[1]) ** 2))
    return int(rows[k]), int(cols[k])


def _try_tools(mask, truth, component, kind, rgb, probability):
    """(tool name, new mask) of the tool that raises Dice most among those that fix at
    least ``USEFUL_SHARE`` of the component aimed at, or (None, None)."""
    point = interior_point(component)
    if kind == ERASE:
        tries = {"remove_blob": lambda: remove_blob(mask, point)}
    else:
        edge = bordering_point(mask, component, point)
        tries = {} if edge is None else {
            "fill_object_holes": lambda: fill_object_holes(mask, edge)}
        if probability is not None:
            tries["grow_probability"] = lambda: grow_probability(mask, probability, point)
        elif rgb is not None:
            tries["grow_colour"] = lambda: grow_colour(mask, rgb, point)
    best, best_mask, best_dice = None, None, _dice(mask, truth)
    needed = USEFUL_SHARE * np.count_nonzero(component)
    for name, make in tries.items():
        out = make()
        dice = _dice(out, truth)
        fixed = np.count_nonzero(out[component] == truth[component])
        if dice > best_dice and fixed >= needed:
            best, best_mask, best_dice = name, out, dice
    return best, best_mask


def with_tools(mask: np.ndarray, truth: np.ndarray, d: int, rgb=None, probability=None,
               target: float = TARGET_DICE) -> tuple[int, dict, float]:
    """(actions before saving, counts per tool and ``strokes``, final Dice)."""
    mask = mask.copy()
    counts = dict.fromkeys((*TOOLS, "strokes"), 0)
    actions, current = 0, PAINT
    wrong = np.count_nonzero(mask != truth)
    for _ in range(MAX_STEPS):
        if _dice(mask, truth) >= target:
            break
        labels, n, kinds = _error_labels(mask, truth)
        lab = int(np.argmax(np.bincount(labels.ravel(), minlength=n + 1)[1:])) + 1
        component = labels == lab
        tool, new = _try_tools(mask, truth, component, kinds[lab], rgb, probability)
        if tool is None:
            cells = _cells_per_label(component.astype(np.int32), 1, d)[1]
            cost, current = _brush_cost(kinds[lab], cells, current)
            actions, counts["strokes"] = actions + cost, counts["strokes"] + _strokes(cells)
            new = mask.copy()
            new[component] = kinds[lab] == PAINT
        else:
            actions, counts[tool] = actions + 1, counts[tool] + 1
        now_wrong = np.count_nonzero(new != truth)
        if tool is None and now_wrong >= wrong:
            break  # no progress: cannot happen with an exact stroke, guarded anyway
        mask, wrong = new, now_wrong
    return actions, counts, _dice(mask, truth)


def annotation_effort(proposal: np.ndarray | None, truth: np.ndarray, rgb=None,
                      probability=None, target: float = TARGET_DICE) -> Effort:
    """The effort to turn ``proposal`` (None: an empty mask) into a mask with Dice >=
    ``target`` against ``truth``, brush only and with the click tools."""
    truth = np.asarray(truth, bool)
    mask = np.zeros_like(truth) if proposal is None else np.asarray(proposal, bool)
    if mask.shape != truth.shape:
        raise ValueError(f"proposal is {mask.shape}, truth {truth.shape}")
    before = _dice(mask, truth)
    if before >= target:
        return Effort(before, 0, 1, 1, 0, before, before)
    d = brush_diameter(truth.shape)
    b_actions, b_strokes, pixels, b_dice = brush_only(mask, truth, d, target)
    t_actions, counts, t_dice = with_tools(mask, truth, d, rgb, probability, target)
    return Effort(before, pixels, b_actions + 1, t_actions + 1, b_strokes, b_dice, t_dice,
                  counts["remove_blob"], counts["fill_object_holes"],
                  counts["grow_probability"], counts["grow_colour"], counts["strokes"])
