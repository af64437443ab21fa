"""Corrective mode: paint only the errors, RootPainter's way, over an untouched proposal.

A ``corrections`` Labels layer lies over Annotate's ``mask`` layer: label 1 adds
(green), label 2 removes (blue). The mask that is saved, and that the click tools work
on, is the mask layer with the corrections applied (``current_mask``), so a stroke can
never spoil the part of the proposal it was not meant for, and what was added and what
was taken away stays visible until the save. Turning the mode off folds the corrections
into the mask layer: nothing painted is lost.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import QCheckBox

MASK, CORRECTIONS = "mask", "corrections"
ADD, REMOVE = 1, 2
COLOURS = {0: "transparent", ADD: "#00e060", REMOVE: "#00b4ff"}  # apart from the
# magenta mask and from the reds and oranges of colour charts on the sheets
HOTKEYS = {"add": "Alt-D", "remove": "Alt-R"}


def apply_corrections(mask: np.ndarray, marks: np.ndarray | None) -> np.ndarray:
    """``mask`` (bool) with corrective marks applied: ADD sets, REMOVE clears."""
    if marks is None or marks.shape != mask.shape:
        return mask
    return (mask | (marks == ADD)) & (marks != REMOVE)


def current_mask(viewer) -> np.ndarray | None:
    """The mask as it would be saved: the mask layer with the corrections applied."""
    if MASK not in viewer.layers:
        return None
    marks = viewer.layers[CORRECTIONS].data if CORRECTIONS in viewer.layers else None
    return apply_corrections(viewer.layers[MASK].data > 0, marks)


def write_mask(viewer, new: np.ndarray) -> int:
    """Make the canvas show ``new`` as one undoable edit (Ctrl+Z): as corrections in
    corrective mode, else in the mask layer. Returns the pixels changed."""
    old = current_mask(viewer)
    if old is None:
        return 0
    changed = np.nonzero(new != old)
    if not len(changed[0]):
        return 0
    if CORRECTIONS in viewer.layers:
        layer = viewer.layers[CORRECTIONS]
        base = viewer.layers[MASK].data[changed] > 0
        wanted = new[changed]
        values = np.where(wanted, np.where(base, 0, ADD), np.where(base, REMOVE, 0))
    else:
        layer, values = viewer.layers[MASK], new[changed].astype(np.uint8)
    with layer.block_history():  # one Ctrl+Z undoes the whole edit
        for value in np.unique(values):
            pick = values == value
            layer.data_setitem(tuple(axis[pick] for axis in changed), int(value))
    return len(changed[0])


def editable(viewer):
    """The layer a person paints on: the corrections in corrective mode, else the mask."""
    for name in (CORRECTIONS, MASK):
        if name in viewer.layers:
            return viewer.layers[name]
    return None


def editable_on_top(viewer) -> None:
    """The mask, then the corrections over it, on top of the overlays; the one a person
    paints on selected."""
    layers = viewer.layers
    for name in (MASK, CORRECTIONS):
        if name in layers and layers.index(name) != len(layers) - 1:
            layers.move(layers.index(name), len(layers))
    top = editable(viewer)
    if top is not None and layers.selection.active is not top:
        layers.selection.active = top


class CorrectiveMode:
    """The toggle, the add / remove brush keys, and the corrections layer's life."""

    def __init__(self, viewer, on_layer=None):
        self.viewer = viewer
        self.on_layer = on_layer or (lambda layer: None)  # the click tools listen there
        self.toggle = QCheckBox("corrective mode: paint only the errors (add / remove)")
        self.toggle.setToolTip("green adds to the proposal, blue takes away; the saved "
                               "mask is the proposal with both applied")
        self.toggle.toggled.connect(self._toggled)
        viewer.bind_key(HOTKEYS["add"], lambda _v: self.brush(True), overwrite=True)
        viewer.bind_key(HOTKEYS["remove"], lambda _v: self.brush(False), overwrite=True)

    @property
    def on(self) -> bool:
        return self.toggle.isChecked()

    def brush(self, add: bool) -> None:
        """Alt-D / Alt-R: the add or remove brush (paint / erase outside corrective mode)."""
        name = CORRECTIONS if self.on else MASK
        if name not in self.viewer.layers:
            return
        layer = self.viewer.layers[name]
        self.viewer.layers.selection.active = layer
        if self.on:
            layer.mode, layer.selected_label = "paint", ADD if add else REMOVE
        else:
            layer.mode, layer.selected_label = ("paint", 1) if add else ("erase", 1)

    def new_image(self) -> None:
        """A new image is shown: no corrections on it yet."""
        if CORRECTIONS in self.viewer.layers:
            shape = self.viewer.layers[MASK].data.shape
            self.viewer.layers[CORRECTIONS].data = np.zeros(shape, np.uint8)

    def fold(self) -> None:
        """Corrections into the mask layer (after a save, or leaving the mode)."""
        if CORRECTIONS in self.viewer.layers and MASK in self.viewer.layers:
            marks = self.viewer.layers[CORRECTIONS].data
            if marks.any():
                self.viewer.layers[MASK].data = current_mask(self.viewer).astype(np.uint8)
                self.viewer.layers[CORRECTIONS].data = np.zeros_like(marks)

    def _toggled(self, on: bool) -> None:
        if MASK not in self.viewer.layers:
            return
        if on:
            self._add_layer()
        elif CORRECTIONS in self.viewer.layers:
            self.fold()
            self.viewer.layers.remove(CORRECTIONS)
            self.viewer.layers.selection.active = self.viewer.layers[MASK]
        editable_on_top(self.viewer)

    def _add_layer(self) -> None:
        if CORRECTIONS in self.viewer.layers:
            return
        mask = self.viewer.layers[MASK]
        layer = self.viewer.add_labels(np.zeros(mask.data.shape, np.uint8), name=CORRECTIONS,
                                       opacity=0.85)
        layer.colormap = {**COLOURS, None: "transparent"}
        layer.brush_size, layer.mode, layer.selected_label = mask.brush_size, "paint", ADD
        self.on_layer(layer)

    def attach_when_shown(self) -> None:
        """The first image appeared: create the layer if the mode was ticked before."""
        if self.on:
            self._add_layer()
            editable_on_top(self.viewer)
