"""QA dock widget: per-image Dice / IoU of a model version, worst first. A row opens the QA
view: the image with one version's true positives, false positives and false negatives in
distinct colours and, when comparing, a second version's errors and where the two disagree,
as labelled panels of napari's grid while the annotation layers are put away."""

from __future__ import annotations

from napari.layers import Image, Labels
from qtpy.QtCore import QEvent
from qtpy.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from napari_specimask.core.inference.qa import (
    A_RIGHT,
    B_RIGHT,
    DIFFERENCE,
    ERRORS,
    FN,
    FP,
    SPLITS,
    TP,
    Comparison,
    compare_on_image,
    evaluate_version,
)
from napari_specimask.core.store.registry import list_models

from ._dock import DockWidget
from ._jobs import start_job
from ._layers import fit_view_to
from ._session import listen, session_for
from ._table import RowsModel, sortable

ERROR_COLOURS = {0: "transparent", TP: "lime", FP: "red", FN: "dodgerblue"}
# neither lime / red / dodgerblue (the errors) nor magenta (Annotate's mask), and both
# saturated enough for white herbarium paper and dark plankton water
DIFFERENCE_COLOURS = {0: "transparent", A_RIGHT: "orange", B_RIGHT: "darkviolet"}
COLOURS = {ERRORS: ERROR_COLOURS, DIFFERENCE: DIFFERENCE_COLOURS}  # by Panel.kind
NONE = "(none)"


def _swatch(colour: str) -> str:
    return f"<span style='color:{colour}'>■</span>"


def grid_shape(n: int, image_hw: tuple[int, int], canvas_hw: tuple[int, int]) -> tuple[int, int]:
    """Rows x columns for ``n`` panels of an image that draw it largest on the canvas:
    portrait sheets side by side, wide images stacked (fewer rows on a tie)."""
    (h, w), (ch, cw) = image_hw, (max(1, canvas_hw[0]), max(1, canvas_hw[1]))
    return max(((r, -(-n // r)) for r in range(1, n + 1)),
               key=lambda s: min(ch / s[0] / h, cw / s[1] / w))


def _grid(viewer):
    """The grid model: napari >= 0.9 keeps it on the canvas, older ones on the viewer."""
    canvas = getattr(viewer, "canvas", None)
    return canvas.grid if hasattr(canvas, "grid") else viewer.grid


def _camera(viewer):
    scene = getattr(viewer, "scene", None)  # napari >= 0.9, as for the grid
    return scene.camera if hasattr(scene, "camera") else viewer.camera


def _canvas_hw(viewer) -> tuple[int, int]:
    canvas = getattr(viewer, "canvas", None)
    return tuple(canvas.size) if hasattr(canvas, "size") else tuple(viewer._canvas_size)


class QAView:
    """QA's panels in napari's grid, with the rest of the viewer put away meanwhile.

    Opening hides every other layer (each one's ``visible`` remembered) and turns the grid
    on, one image + map pair per cell; closing removes QA's layers and puts the grid, the
    camera, the selection and each layer's visibility back as they were. Other layers
    stay out of the view while it is open: one another widget adds is hidden, and one it
    (or the person) shows is hidden again, the wish kept for when the view closes. QA's
    layers go at the bottom of the list, so layers added above never shift the cells.
    """

    def __init__(self, viewer):
        self.viewer = viewer
        self.layers: list = []      # QA's own, image then map, panel after panel
        self.held: dict = {}        # every other layer -> its visible to restore
        self._saved = None          # grid, camera and selection before the view opened
        self._fitted = None         # the camera QA left, to tell if anyone moved it since

    @property
    def is_open(self) -> bool:
        return self._saved is not None

    def show(self, comparison: Comparison) -> None:
        viewer = self.viewer
        if not self.is_open:
            self._open()
        else:
            self._remove_own()
        image = comparison.image
        for i, panel in enumerate(comparison.panels):
            below = Image(image, rgb=image.ndim == 3,
                          name=f"qa {comparison.name} ({panel.what})")
            above = Labels(panel.data, name=panel.label, opacity=0.6)
            above.colormap = {**COLOURS[panel.kind], None: "transparent"}
            above.editable = False  # a QA map is read, never painted
            label = above.name_overlay  # the panel's title, in the top left of its cell
            label.visible, label.box, label.font_size = True, True, 10
            self.layers += [below, above]
            viewer.layers.insert(2 * i, below)
            viewer.layers.insert(2 * i + 1, above)
        grid = _grid(viewer)
        grid.stride = 2
        grid.shape = grid_shape(len(comparison.panels), image.shape[:2], _canvas_hw(viewer))
        grid.spacing = 8  # screen pixels between the cells
        grid.enabled = True
        viewer.layers.selection.active = self.layers[1]
        fit_view_to(viewer, self.layers[0])  # the hidden layers' extents do not count
        self._fitted = self._camera()

    def close(self, *, keep_camera_if_moved: bool = False) -> None:
        """Put the viewer back. ``keep_camera_if_moved``: leave the camera where another
        widget put it since (Annotate fitting a differently sized image) instead of
        restoring it, and fit the restored layers instead."""
        if not self.is_open:
            return
        viewer, (grid, camera, active) = self.viewer, self._saved
        layers = viewer.layers
        layers.events.inserted.disconnect(self._inserted)
        layers.events.removed.disconnect(self._removed)
        self._remove_own()
        now = _grid(viewer)
        now.enabled, now.shape, now.stride, now.spacing = grid
        for layer, visible in self.held.items():
            layer.events.visible.disconnect(self._keep_hidden)
            if visible and not layer.visible:
                layer.visible = True
        self.held, self._saved = {}, None
        if active is not None and active in layers:
            layers.selection.active = active
        if keep_camera_if_moved and self._camera() != self._fitted:
            viewer.reset_view()
        else:
            _camera(viewer).center, _camera(viewer).zoom = camera
        self._fitted = None

    def _open(self) -> None:
        viewer, grid = self.viewer, _grid(self.viewer)
        self._saved = ((grid.enabled, grid.shape, grid.stride, grid.spacing),
                       (_camera(viewer).center, _camera(viewer).zoom),
                       viewer.layers.selection.active)
        for layer in list(viewer.layers):
            self._hold(layer)
        viewer.layers.events.inserted.connect(self._inserted)
        viewer.layers.events.removed.connect(self._removed)

    def _camera(self):
        camera = _camera(self.viewer)
        return tuple(camera.center), camera.zoom

    def _hold(self, layer) -> None:
        self.held[layer] = layer.visible
        if layer.visible:  # only a shown one: hiding a hidden layer forgets its mode
            layer.visible = False
        layer.events.visible.connect(self._keep_hidden)

    def _remove_own(self) -> None:
        own, self.layers = self.layers, []
        for layer in own:
            if layer in self.viewer.layers:  # the person may have removed it
                self.viewer.layers.remove(layer)

    def _inserted(self, event) -> None:
        if event.value not in self.layers:
            self._hold(event.value)

    def _removed(self, event) -> None:
        if event.value in self.held:
            event.value.events.visible.disconnect(self._keep_hidden)
            del self.held[event.value]

    def _keep_hidden(self, event) -> None:
        """Another widget (or the person) set a held layer's visibility: remember it for
        the close, and keep the layer out of the grid meanwhile."""
        layer = event.source
        self.held[layer] = layer.visible
        if layer.visible:
            with layer.events.visible.blocker(self._keep_hidden):  # not a wish to keep
                layer.visible = False


class QAWidget(DockWidget):
    tab_name = "QA"

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.view = QAView(napari_viewer)
        self.worker = None
        self.rows = []
        self.rows_version: str | None = None  # the version the table was evaluated with
        self._wanted = None  # the (image, version, other) the last row click asked for
        self.version = QComboBox()
        self.compare = QComboBox()
        self.split = QComboBox()
        self.split.addItems(SPLITS)
        form = QFormLayout()
        form.addRow("model", self.version)
        form.addRow("compare with", self.compare)
        form.addRow("images", self.split)
        self.run_button = QPushButton("Evaluate")
        self.close_button = QPushButton("Close QA view", enabled=False)
        self.bar = QProgressBar()
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.legend = QLabel(f"{_swatch('lime')} true positive  {_swatch('red')} false "
                             f"positive  {_swatch('dodgerblue')} false negative")
        self.difference_legend = QLabel("")
        self.difference_legend.setWordWrap(True)
        self.model = RowsModel(("id", "image", "role", "dice", "iou", "FP", "FN"), self)
        self.proxy = sortable(self.model, self)
        self.table = QTableView(sortingEnabled=True)
        self.table.setModel(self.proxy)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        layout = QVBoxLayout(self.body)
        layout.addLayout(form)
        for w in (self.run_button, self.bar, self.summary, self.legend,
                  self.difference_legend, self.close_button, self.table):
            layout.addWidget(w)
        self.run_button.clicked.connect(self.evaluate)
        self.close_button.clicked.connect(lambda: self.close_view())
        self.compare.currentIndexChanged.connect(self._describe_difference)
        self.version.currentIndexChanged.connect(self._describe_difference)
        self.table.clicked.connect(lambda index: self.show_row(index.row()))
        listen(self, self.session.events.project, lambda _p: self.close_view())
        listen(self, self.session.events.project, self._load_models)
        listen(self, self.session.models_changed, self._load_models)
        # moving to another image in Annotate means annotating: give the canvas back
        listen(self, self.session.events.canvas,
               lambda _c: self.close_view(keep_camera_if_moved=True))
        self._load_models()

    def _load_models(self, *_):
        project = self.session.project
        versions = [m["version"] for m in list_models(project)
                    if m["status"] in ("ready", "stopped") and not m["removed"]] if project else []
        for box, extra in ((self.version, []), (self.compare, [NONE])):
            current = box.currentData()  # the version (None for "(none)"), not its text
            box.clear()
            for version in extra + versions:
                box.addItem(version, None if version == NONE else version)
            box.setCurrentIndex(max(0, box.findData(current)))
        if self.rows_version is not None and self.rows_version not in versions:
            self.summary.setText(f"{self.rows_version} is gone (removed, or another project); "
                                 "evaluate a version")
            self.rows, self.rows_version = [], None
            self.model.set_rows([])
            self.close_view()  # its panels showed the gone version
        if self.session.active_model in versions and not self.rows:
            self.version.setCurrentIndex(self.version.findData(self.session.active_model))
        self.run_button.setEnabled(bool(versions))

    def _describe_difference(self, *_):
        a, b = self.rows_version or self.version.currentData(), self.compare.currentData()
        self.difference_legend.setText(
            "" if b is None or b == a else
            f"{a} vs {b}: {_swatch(DIFFERENCE_COLOURS[A_RIGHT])} {a} right, {b} wrong  "
            f"{_swatch(DIFFERENCE_COLOURS[B_RIGHT])} {b} right, {a} wrong")

    def _start(self, make_job, on_done, bar=None):
        """One job at a time is ``self.worker``; an older one ending leaves it alone."""
        worker = None

        def finished():
            if self.worker is worker:
                self.worker = None
                self.run_button.setEnabled(self.version.count() > 0)

        worker = start_job(owner=self, make_job=make_job, bar=bar, on_done=on_done,
                           on_finished=finished)
        self.worker = worker
        return worker

    def evaluate(self):
        project, version, split = (self.session.project, self.version.currentData(),
                                   self.split.currentText())
        self.run_button.setEnabled(False)

        def done(rows):
            self.rows, self.rows_version = rows, version
            self.model.set_rows([(r.image_id, r.name, r.role, r.dice, r.iou,
                                  r.false_positive, r.false_negative) for r in rows])
            self.table.resizeColumnsToContents()
            self._describe_difference()
            if rows:
                mean = sum(r.dice for r in rows) / len(rows)
                self.summary.setText(f"{version} on {len(rows)} {split} image(s): mean Dice "
                                     f"{mean:.4f}; worst {rows[0].name} ({rows[0].dice:.4f})")
            else:
                self.summary.setText(f"no labelled {split} images to evaluate")

        return self._start(lambda: evaluate_version(project, version, split), done,
                           bar=self.bar)

    def show_row(self, proxy_row: int):
        """Open (or update) the QA view on a table row's image; predicting, reading and
        mapping run in a worker, the view changes when they are done."""
        image_id = int(self.proxy.index(proxy_row, 0).data())
        project = self.session.project
        version = self.rows_version or self.version.currentData()
        other = self.compare.currentData()
        other = None if other == version else other
        wanted = self._wanted = (image_id, version, other)

        def done(comparison):
            if self._wanted == wanted and self.session.project is project:
                self.view.show(comparison)
                self.close_button.setEnabled(True)

        return self._start(lambda: compare_on_image(project, version, other, image_id), done)

    def close_view(self, *, keep_camera_if_moved: bool = False) -> None:
        """Remove QA's layers and give the viewer back as it was before the view opened."""
        self._wanted = None  # a row still being prepared is not shown after all
        self.view.close(keep_camera_if_moved=keep_camera_if_moved)
        self.close_button.setEnabled(False)

    def event(self, event):
        """Follow the dock napari puts this widget in: its close button takes the widget
        out (parent None); raising another tab over it or hiding it reports through the
        dock's visibilityChanged (a tabbed-away dock's widgets get no hide event)."""
        if event.type() == QEvent.Type.ParentChange and hasattr(self, "view"):
            dock = self.parent()
            if dock is None:
                self.close_view()
            elif isinstance(dock, QDockWidget):
                dock.visibilityChanged.connect(self._dock_visibility)
        return super().event(event)

    def _dock_visibility(self, shown: bool) -> None:
        if not shown:
            self.close_view()
