"""What the Annotate widget says: its keys, where a proposal came from, the batch's counts,
what a save did; and when the view needs fitting again."""

from __future__ import annotations

from napari_specimask.core.store.iterations import (
    proposal_source,
    source_model,
)
from napari_specimask.core.vocabulary import MaskKind

from ._click_tools import HOTKEYS as TOOL_KEYS
from ._corrections import HOTKEYS as BRUSH_KEYS

HOTKEYS = {"next": "Alt-Right", "previous": "Alt-Left", "accept": "Alt-A", "save": "Alt-S",
           "save_next": "Alt-N", "skip": "Alt-K"}


def changed_pixels(result: dict) -> str:
    """`` (+340 / -25 px)``: what a correction did to its proposal."""
    if not result.get("pixels_added") and not result.get("pixels_removed"):
        return ""
    return f" (+{result['pixels_added']} / -{result['pixels_removed']} px)"


def hotkey_help() -> str:
    """The keys of Annotate and of the Predictions overlays, for the widget and the docs."""
    from .predictions_widget import HOTKEYS as OVERLAY_KEYS

    names = {"next": "next", "previous": "previous", "accept": "accept as is",
             "save": "save", "save_next": "save and next", "skip": "skip"}
    keys = [f"{HOTKEYS[k]} {v}" for k, v in names.items()]
    keys += [f"{BRUSH_KEYS['add']} add brush", f"{BRUSH_KEYS['remove']} remove brush"]
    keys += [f"{key} {tool} at the cursor" for tool, key in TOOL_KEYS.items()]
    keys += [f"{key} toggle {what}" for what, key in OVERLAY_KEYS.items()]
    return "Keys: " + " · ".join(keys)


def proposal_origin(project, item) -> str:
    """``proposal from v002`` or ``cold-start proposal (otsu)``: what a person corrects."""
    if item.verified is not None:
        return "verified mask"
    if item.proposal is None:
        return "empty mask"
    if item.proposal_kind == MaskKind.COLD_START:
        return f"cold-start proposal ({project.settings.coldstart.method})"
    model = source_model(proposal_source(project, item.record.id))
    if model is None:
        return f"cold-start proposal ({project.settings.coldstart.method})"
    return f"proposal from model {model}"


def fits_view(shape, fitted, over: float = 0.1, under: float = 0.25) -> bool:
    """Whether the view fitted to ``fitted`` still shows ``shape`` well: no side over 10 %
    larger (napari's margin absorbs it) or over 25 % smaller (the image would sit small in
    a corner). Refitting costs a few ms of camera updates, so it is skipped otherwise."""
    if fitted is None:
        return False
    return all((1 - under) * b <= a <= (1 + over) * b for a, b in zip(shape, fitted))


def tally_text(tally: dict | None, place: int, queued: int) -> str:
    """``Iteration 2: image 3 / 20; 2 / 20 saved, 1 corrected, 1 accepted``."""
    if tally is None:
        return f"image {place} / {queued}" if queued else ""
    t = tally
    return (f"Iteration {t['iteration']}: image {place} / {queued}; {t['annotated']} / "
            f"{t['selected']} saved, {t['corrected']} corrected, {t['accepted']} accepted")
