"""One-click tools on Annotate's mask layer (``core.masks.click_tools``), by hotkey at
the cursor or by a click while a tool is chosen; each is one undoable edit (Ctrl+Z), made
as corrections in corrective mode (``_corrections``).

Growing uses the shown image's probability map when the Predictions widget has put one
on the canvas (the model saw the leaf faintly), else the image's colour.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import QComboBox

from napari_specimask.core.masks.click_tools import (
    fill_object_holes,
    grow_colour,
    grow_probability,
    remove_blob,
)

from ._corrections import current_mask, editable, write_mask

OFF = "off (paint)"
HOTKEYS = {"remove blob": "Alt-X", "grow region": "Alt-G", "fill holes": "Alt-H"}


def edited_mask(viewer, tool: str, point) -> np.ndarray | None:
    """The mask after ``tool`` at data ``point``; None when there is no mask layer."""
    mask = current_mask(viewer)
    if mask is None:
        return None
    if tool == "remove blob":
        return remove_blob(mask, point)
    if tool == "fill holes":
        return fill_object_holes(mask, point)
    prob = viewer.layers["probability"].data if "probability" in viewer.layers else None
    if prob is not None and prob.shape == mask.shape:
        return grow_probability(mask, prob, point)
    image = viewer.layers["image"]
    return grow_colour(mask, image.data[0] if image.multiscale else image.data, point)


def apply_tool(viewer, tool: str, point) -> int:
    """Apply ``tool`` at data ``point`` as one undoable edit (in corrective mode, as
    corrections); returns the pixels changed."""
    new = edited_mask(viewer, tool, point)
    return 0 if new is None else write_mask(viewer, new)


class ClickTools:
    """The tool chooser, the hotkeys and the click handler for one viewer."""

    def __init__(self, viewer, on_applied=None):
        self.viewer = viewer
        self.on_applied = on_applied or (lambda tool, n: None)
        self.chooser = QComboBox()
        self.chooser.addItems([OFF, *HOTKEYS])
        self.chooser.setToolTip("click tools: a click on the image applies the chosen one; "
                                "the hotkeys apply one at the cursor")
        self.chooser.currentTextChanged.connect(self._chosen)
        self._mode_before = "paint"
        for tool, key in HOTKEYS.items():
            viewer.bind_key(key, lambda v, t=tool: self.at_cursor(t), overwrite=True)

    def at_cursor(self, tool: str) -> int:
        layer = editable(self.viewer)
        if layer is None:
            return 0
        return self._apply(tool, layer.world_to_data(self.viewer.cursor.position))

    def attach(self, layer) -> None:
        """Listen to clicks on Annotate's mask layer, or the corrections over it (once
        per layer)."""
        if self._on_click not in layer.mouse_drag_callbacks:
            layer.mouse_drag_callbacks.append(self._on_click)

    def _on_click(self, layer, event):
        tool = self.chooser.currentText()
        if tool != OFF and event.type == "mouse_press":
            self._apply(tool, layer.world_to_data(event.position))

    def _apply(self, tool: str, point) -> int:
        layer = editable(self.viewer)
        if layer is None or not layer.editable:
            return 0  # held while the next image is read: the edit would land on the last
        n = apply_tool(self.viewer, tool, point)
        self.on_applied(tool, n)
        return n

    def _chosen(self, tool: str) -> None:
        """A click tool needs the brush out of the way; choosing off gives it back."""
        layer = editable(self.viewer)
        if layer is None:
            return
        if tool != OFF:
            if layer.mode != "pan_zoom":
                self._mode_before = layer.mode
            layer.mode = "pan_zoom"
        else:
            layer.mode = self._mode_before
