"""Predictions dock widget: the model's TTA mean probability and uncertainty for the image
shown in Annotate, its score and rank in the pool.

Maps come from the per-version prediction cache (read in the background, ahead of the
person); otherwise they are computed in a worker and shown when ready, so moving on
never freezes the viewer. Overlays of another image or another project never stay on
the canvas: they are hidden as soon as the image changes, and removed with the project.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QCheckBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout
from scipy import ndimage as ndi

from napari_specimask.core.active.scoring import ScoreSpec
from napari_specimask.core.inference.cache import cached_prediction, compute_predictions
from napari_specimask.core.store.scores import score_rank

from ._colormaps import PROBABILITY, UNCERTAINTY, uncertainty_limits
from ._corrections import editable_on_top
from ._dock import DockWidget
from ._jobs import start_job
from ._layers import put_image, put_labels
from ._prefetch import Prefetcher
from ._session import listen, session_for

OVERLAYS = ("probability", "uncertainty", "prediction")  # the layers this widget makes


def outline(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """The mask's border as labels (cheaper than napari's per-draw contour)."""
    inner = ndi.binary_erosion(mask, iterations=width, border_value=0)
    return (mask & ~inner).astype(np.uint8)


def score_text(project, version: str, image_id: int, tta: int, measure: str) -> str:
    """The image's uncertainty score and its rank among the scored images."""
    spec = ScoreSpec(measure, tta)
    ranked = score_rank(project, version, spec.measure, spec.views_key, image_id)
    if ranked is None:
        return f"model {version}: not scored yet (Select next batch scores the pool)"
    score, rank, n = ranked
    return f"model {version}: {measure} score {score:.4f}, rank {rank} of {n} scored"


# toggles, like the Annotate widget's keys (Alt + a letter, free in napari)
HOTKEYS = {"probability": "Alt-P", "uncertainty": "Alt-U", "contour": "Alt-C",
           "mask outline": "Alt-O"}


def toggle_outline(viewer) -> None:
    """The mask layer filled, or as its outline (to see the sheet under the paint)."""
    if "mask" in viewer.layers:
        layer = viewer.layers["mask"]
        layer.contour = 0 if layer.contour else 2


class PredictionsWidget(DockWidget):
    tab_name = "Predictions"

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.worker = None
        self.image_id: int | None = None
        self.wanted: tuple | None = None  # the (project, key) the overlays should show
        self.tta = QSpinBox(minimum=1, maximum=8, value=8)
        self.show_probability = QCheckBox(f"probability ({HOTKEYS['probability']})",
                                          checked=False)
        self.show_uncertainty = QCheckBox(f"uncertainty ({HOTKEYS['uncertainty']})",
                                          checked=True)
        self.show_contour = QCheckBox(f"prediction contour ({HOTKEYS['contour']})",
                                      checked=True)
        self.info = QLabel("Select an image in Annotate")
        self.info.setWordWrap(True)
        form = QFormLayout()
        form.addRow("TTA views", self.tta)
        layout = QVBoxLayout(self.body)
        layout.addLayout(form)
        for w in (self.show_probability, self.show_uncertainty, self.show_contour, self.info):
            layout.addWidget(w)
        layout.addStretch()
        # overlays follow the image on a 1 ms timer, not a posted event: Qt runs posted
        # events before overdue timers, so a posted chain (image, overlays, repaint) would
        # hold the loop's timers for the whole step; a timer lets them run in between
        self._follow = QTimer(self, singleShot=True, interval=1)  # dies with the widget
        self._follow.timeout.connect(lambda: self.update_for(self._following))
        self._following: int | None = None
        listen(self, self.session.events.canvas, self._canvas_changed)
        listen(self, self.session.models_changed, lambda: self.update_for(self.image_id))
        self.tta.valueChanged.connect(lambda _v: self.update_for(self.image_id))
        self.shown = None
        self.prefetcher: Prefetcher | None = None
        listen(self, self.session.events.project, self._project_changed)
        self._project_changed(self.session.project)
        for box in (self.show_probability, self.show_uncertainty, self.show_contour):
            box.toggled.connect(self._toggled)
        boxes = {"probability": self.show_probability, "uncertainty": self.show_uncertainty,
                 "contour": self.show_contour}
        for name, box in boxes.items():
            napari_viewer.bind_key(HOTKEYS[name], lambda _v, b=box: b.toggle(), overwrite=True)
        napari_viewer.bind_key(HOTKEYS["mask outline"], lambda _v: toggle_outline(napari_viewer),
                               overwrite=True)

    def _canvas_changed(self, canvas) -> None:
        image_id = canvas.image_id if canvas is not None else None
        if image_id != self.image_id:
            self._hide_overlays()  # another image's maps never lie over this one
        self._following = image_id
        self._follow.start()

    def _project_changed(self, project) -> None:
        if self.prefetcher is not None:
            self.prefetcher.close()
        self.shown, self.image_id, self.wanted = None, None, None
        self.info.setText("Select an image in Annotate")
        self.prefetcher = None if project is None else Prefetcher(
            lambda key: self._load(project, *key), parent=self)

    @staticmethod
    def _load(project, version: str, image_id: int, tta: int, measure: str):
        """Everything the overlays need, read and computed off the GUI thread: the cached
        maps, the contour, the uncertainty's range and the score line."""
        pred = cached_prediction(project, version, image_id, tta)
        if pred is None:
            return None
        limits = uncertainty_limits(pred.uncertainty) if pred.uncertainty is not None \
            else None
        return (pred, outline(pred.mask), limits,
                score_text(project, version, image_id, tta, measure))

    def _key(self, image_id: int) -> tuple:
        return (self.session.active_model, image_id, self.tta.value(),
                self.session.project.settings.selection.measure)

    def _read_ahead(self, image_id: int) -> None:
        queue = self.session.queue
        if image_id in queue and self.prefetcher is not None:
            here = queue.index(image_id)
            self.prefetcher.prefetch([self._key(queue[i]) for i in (here + 1, here + 2, here - 1)
                                      if 0 <= i < len(queue)])

    def update_for(self, image_id: int | None):
        self.image_id = image_id
        project, version = self.session.project, self.session.active_model
        if image_id is None or project is None or self.prefetcher is None:
            return None
        if version is None:
            self._remove_overlays()
            self.info.setText("No active model: train one (Train), or activate a trained "
                              "one there, to see predictions")
            return None
        key = self._key(image_id)
        self.wanted = (project, key)
        self.prefetcher.request(key, lambda loaded: self._cached(project, key, loaded))
        self._read_ahead(image_id)
        return self.worker

    def _cached(self, project, key: tuple, loaded) -> None:
        """What the cache held: show it, or predict the image in a worker."""
        if self.wanted != (project, key):
            return  # the person moved on meanwhile
        if isinstance(loaded, BaseException):
            self.info.setText(f"cannot read the prediction: {loaded}")
            return
        if loaded is not None:
            self._show(*loaded)
            return
        version, image_id, tta, _measure = key
        self.info.setText(f"predicting with {version} ({tta} views)…")

        def job():  # predict, then read back what the overlays need, all off the GUI thread
            yield from compute_predictions(project, version, [image_id], tta)
            return self._load(project, *key)

        self.worker = start_job(
            owner=self, make_job=job,
            on_done=lambda loaded: self._show_if_current(project, key, loaded))

    def _show_if_current(self, project, key: tuple, loaded) -> None:
        """Show what was predicted if the person is still on that image, with the same
        model and options, in the same project (another may also have a v001 and an id 3)."""
        self.worker = None
        if loaded is not None and self.wanted == (project, key) \
                and project is self.session.project and key == self._key(self.image_id):
            self._show(*loaded)

    def _show(self, pred, contour, limits, text) -> None:
        """Update only the layers that are switched on (each update costs a redraw); the
        others get the data when switched on."""
        self.shown = (pred, contour, limits, text)
        own = self.session.own
        if self.show_probability.isChecked():
            own(put_image(self.viewer, "probability", pred.probability, colormap=PROBABILITY,
                          contrast_limits=(0, 1), blending="translucent"))
        if self.show_uncertainty.isChecked() and pred.uncertainty is not None:
            own(put_image(self.viewer, "uncertainty", pred.uncertainty, colormap=UNCERTAINTY,
                          contrast_limits=limits, blending="translucent"))
        if self.show_contour.isChecked():
            own(put_labels(self.viewer, "prediction", contour,
                           {0: "transparent", 1: "cyan"}, opacity=0.9))
        self._visibility()
        self.info.setText(text)

    def _visibility(self, *_):
        for name, box in zip(OVERLAYS, (self.show_probability, self.show_uncertainty,
                                        self.show_contour)):
            shown = box.isChecked() and self.shown is not None
            if name in self.viewer.layers and self.viewer.layers[name].visible != shown:
                self.viewer.layers[name].visible = shown
        editable_on_top(self.viewer)  # the mask (and its corrections) on top, selected

    def _hide_overlays(self) -> None:
        self.shown = None
        for name in OVERLAYS:
            if name in self.viewer.layers and self.viewer.layers[name].visible:
                self.viewer.layers[name].visible = False

    def _remove_overlays(self) -> None:
        """No model to show: no overlay of an earlier one either."""
        self.shown = None
        for name in OVERLAYS:
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)

    def _toggled(self, *_):
        if self.shown is not None and self.image_id is not None:
            self._show(*self.shown)
        else:
            self._visibility()

    def closeEvent(self, event):  # closing the widget stops its reading ahead
        if self.prefetcher is not None:
            self.prefetcher.close()
            self.prefetcher = None
        super().closeEvent(event)
