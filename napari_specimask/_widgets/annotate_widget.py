"""Annotate dock widget: step through the queued batch, correct or accept each proposal.

The image is shown with its proposal (or its verified mask) as an editable Labels layer,
brush ready. Saving goes through ``core.annotations.submit_mask``, which records accepted
vs corrected, the fraction changed and the seconds spent. Moving on saves, asks about or
discards unsaved edits, by a setting.
"""

from __future__ import annotations

import time

import numpy as np
from napari.utils.notifications import show_info
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_specimask._widgets._prefetch import Prefetcher, load_annotation_item
from napari_specimask.core.active.annotations import iteration_summary, submit_mask
from napari_specimask.core.store.iterations import latest_iteration_item
from napari_specimask.core.store.leases import (
    LEASE_SECONDS,
    leased_by_others,
    new_holder,
    release_all,
    take_lease,
)
from napari_specimask.core.store.masks import (
    ANY,
    SaveConflict,
    default_author,
    latest_annotation_id,
)

from ._click_tools import HOTKEYS as TOOL_KEYS
from ._click_tools import ClickTools
from ._continuous import ContinuousTraining
from ._corrections import HOTKEYS as BRUSH_KEYS
from ._corrections import CorrectiveMode, current_mask, editable_on_top
from ._layers import fit_view_to, put_image, put_labels
from ._session import session_for

ON_MOVE = ("save", "ask", "discard")
AHEAD = 2  # images read ahead in the direction the person is stepping


def _pixels(result: dict) -> str:
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
    if item.proposal_kind == "pseudo":
        return f"cold-start proposal ({project.settings.coldstart.method})"
    row = latest_iteration_item(project, item.record.id)
    source = row["proposal"] if row is not None else None
    if source in (None, "pseudo"):
        return f"cold-start proposal ({project.settings.coldstart.method})"
    return f"proposal from model {source}"


def fits_view(shape, fitted, over: float = 0.1, under: float = 0.25) -> bool:
    """Whether the view fitted to ``fitted`` still shows ``shape`` well: no side over 10 %
    larger (napari's margin absorbs it) or over 25 % smaller (the image would sit small in
    a corner). Refitting costs a few ms of camera updates, so it is skipped otherwise."""
    if fitted is None:
        return False
    return all((1 - under) * b <= a <= (1 + over) * b for a, b in zip(shape, fitted))


HOTKEYS = {"next": "Alt-Right", "previous": "Alt-Left", "accept": "Alt-A", "save": "Alt-S",
           "save_next": "Alt-N", "skip": "Alt-K"}


class AnnotateWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.image_id: int | None = None
        self.initial: np.ndarray | None = None
        self.shown_at = 0.0
        self.direction = 1
        self.prefetcher: Prefetcher | None = None
        self._saving = False
        self.base: int | None = None  # the verified annotation shown (the conflict check)
        self.holder: str | None = None  # this window's name in the leases table
        self.leases_in = None  # the project it holds leases in
        self.author = QLineEdit(default_author())
        self.author.setToolTip("who your saves are recorded as")
        self.renew = QTimer(self)  # keeps the shown image's lease while the window lives
        self.renew.setInterval(int(LEASE_SECONDS * 1000 / 4))
        self.renew.timeout.connect(self._lease_shown)
        self.status = QLabel("Open a project and select a batch")
        self.status.setWordWrap(True)
        self.progress = QLabel("")
        self.buttons = {name: QPushButton(f"{label} ({HOTKEYS[name]})") for name, label in (
            ("previous", "◀ Previous"), ("next", "Next ▶"), ("accept", "Accept as is"),
            ("save", "Save"), ("save_next", "Save and next"), ("skip", "Skip"))}
        self.done_bar = QProgressBar()  # how much of the batch is saved
        self.done_bar.setFormat("%v / %m of the batch saved")
        self.done_bar.setVisible(False)
        self.tools = ClickTools(napari_viewer, self._tool_applied)
        self.corrective = CorrectiveMode(napari_viewer, self.tools.attach)
        self.tool_note = QLabel("")  # what the last click tool did
        self.keys = QLabel(hotkey_help())
        self.keys.setWordWrap(True)
        self.continuous = ContinuousTraining(self.session, self)
        self.on_move = QComboBox()
        self.on_move.addItems(ON_MOVE)
        self._lay_out()
        actions = {"next": lambda: self.step(1), "previous": lambda: self.step(-1),
                   "accept": self.accept, "save": self.save,
                   "save_next": self.save_and_next, "skip": self.skip}
        for name, fn in actions.items():
            self.buttons[name].clicked.connect(fn)
            napari_viewer.bind_key(HOTKEYS[name], lambda _v, f=fn: f(), overwrite=True)
        self.session.queue_changed.connect(self._queue_changed)
        self.session.show_requested.connect(self.show_image)
        self.session.project_changed.connect(self._project_changed)
        self.session.images_changed.connect(self._images_changed)
        self.session.models_changed.connect(self._images_changed)
        self._project_changed(self.session.project)
        self.session.set_edits_probe(self.unsaved_image)

    def _lay_out(self) -> None:
        grid = QGridLayout()
        for i, name in enumerate(("previous", "next", "accept", "save", "save_next", "skip")):
            grid.addWidget(self.buttons[name], i // 2, i % 2)
        layout = QVBoxLayout(self)
        for w in (self.status, self.progress, self.done_bar):
            layout.addWidget(w)
        layout.addLayout(grid)
        layout.addWidget(self.corrective.toggle)
        layout.addLayout(self.continuous.row())
        layout.addWidget(self.continuous.status)
        for label, control in (("unsaved edits when moving on:", self.on_move),
                               ("click tool:", self.tools.chooser), ("saved as:", self.author)):
            row = QHBoxLayout()
            row.addWidget(QLabel(label))
            row.addWidget(control)
            layout.addLayout(row)
            if control is self.tools.chooser:
                layout.addWidget(self.tool_note)
        layout.addWidget(self.keys)
        layout.addStretch()

    def unsaved_image(self) -> int | None:
        """The shown image's id while it has unsaved edits (for other widgets' work)."""
        return self.image_id if self.image_id is not None and self.edited else None

    # -- showing -----------------------------------------------------------------------

    def show_image(self, image_id: int) -> None:
        if self.prefetcher is None:  # no project open (or the widget was closed)
            return
        item = self.prefetcher.get(image_id)
        record, image, start = item.record, item.image, item.start
        self.image_id = image_id
        self.initial = start.copy()
        self.base = latest_annotation_id(self.session.project, image_id)
        held = self._lease_shown()
        image_layer = put_image(self.viewer, "image", image, rgb=True)
        new = "mask" not in self.viewer.layers
        labels = put_labels(self.viewer, "mask", start.astype(np.uint8), {0: "transparent",
                            1: "magenta"})
        if new:  # the first image: a brush that suits it; later the person's tool stays
            labels.brush_size = max(2, round(max(image.shape[:2]) / 80))
            labels.mode = "paint"
            self.tools.attach(labels)
            self.corrective.attach_when_shown()
        if labels.selected_label not in (0, 1):
            labels.selected_label = 1
        self.corrective.new_image()
        editable_on_top(self.viewer)
        if not fits_view(image.shape[:2], getattr(self, "_fitted", None)):
            # fit to this image alone: the overlays still hold the previous image's maps
            # until the Predictions widget updates them a moment later
            fit_view_to(self.viewer, image_layer)
            self._fitted = image.shape[:2]
        self.shown_at = time.monotonic()
        self.tool_note.setText("")  # the last click tool's note was about another image
        origin = "verified mask" if item.verified is not None else (
            proposal_origin(self.session.project, item) if item.proposal is not None
            else "empty mask")
        self.status.setText(f"{record.relpath} ({record.width} x {record.height}, "
                            f"{record.role}, {record.status}); showing its {origin}"
                            + (f"; {held.describe()}" if held is not None else ""))
        self._update_progress()
        self._read_ahead()
        self.session.current_changed.emit(image_id)

    def _read_ahead(self) -> None:
        """Start reading the next images in the direction of travel, and the one back."""
        queue = self.session.queue
        if self.image_id not in queue or self.prefetcher is None:
            return
        here = queue.index(self.image_id)
        ahead = [here + self.direction * k for k in range(1, AHEAD + 1)] + [here - self.direction]
        self.prefetcher.prefetch([queue[i] for i in ahead if 0 <= i < len(queue)])

    @property
    def mask(self) -> np.ndarray | None:
        """What a save stores: the mask layer, with the corrections in corrective mode."""
        return current_mask(self.viewer)

    @property
    def edited(self) -> bool:
        return self.initial is not None and self.mask is not None and \
            not np.array_equal(self.mask, self.initial)

    # -- actions -----------------------------------------------------------------------

    def save(self) -> dict | None:
        if self.image_id is None:
            return None
        result = self._submit(self.base)
        if result is None:
            return None
        self.base = result["annotation_id"]
        self.corrective.fold()  # the saved mask is the new base to correct
        self.initial = self.mask.copy()
        self._saving = True  # this image is not among those read ahead: keep them
        try:
            self.session.images_changed.emit()
        finally:
            self._saving = False
        show_info(f"saved ({result['origin']})")
        record = self.session.project.image(self.image_id)
        self.status.setText(f"{record.relpath} ({record.width} x {record.height}, "
                            f"{record.role}, {record.status}); saved as {result['origin']}"
                            f"{_pixels(result)} at {time.strftime('%H:%M:%S')}")
        self._update_progress()
        self.continuous.saved()
        return result

    def _submit(self, expect) -> dict | None:
        """Save, or ask when someone else saved this image since it was shown."""
        try:
            return submit_mask(self.session.project, self.image_id, self.mask,
                               seconds=round(time.monotonic() - self.shown_at, 1),
                               author=self.author.text().strip() or default_author(),
                               expect=expect)
        except SaveConflict as exc:
            buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
            answer = QMessageBox.question(
                self, "Saved by someone else", f"{exc}.\n\nReplace their mask with yours?"
                " (No keeps theirs; your edits stay on the canvas, unsaved.)", buttons)
            if answer == QMessageBox.StandardButton.Yes:
                return self._submit(ANY)
            self.status.setText(f"not saved: {exc}")
            return None

    def _lease_shown(self):
        """Take or renew the shown image's lease; returns another annotator's, if held."""
        project = self.session.project
        if project is None or self.image_id is None:
            return None
        if self.holder is None:
            self.holder = new_holder(self.author.text().strip() or default_author())
            self.leases_in = project
        self.renew.start()
        return take_lease(project, self.image_id, self.holder, self.author.text().strip())

    def accept(self) -> dict | None:
        """Save the proposal exactly as it was shown, then move on. Painted edits are not
        thrown away by this key: they are saved (recorded as corrected), or asked about,
        as the "unsaved edits" setting says; only 'discard' drops them."""
        if self.image_id is None:
            return None
        mode = self._edits_mode("You painted on this proposal. Save your edits (corrected)"
                                " or discard them and accept the proposal as it was?") \
            if self.edited else "discard"
        if mode is None:
            return None
        if mode == "discard":
            self.viewer.layers["mask"].data = self.initial.astype(np.uint8)
            self.corrective.new_image()
        result = self.save()
        if result is not None:
            self.step(1, check_edits=False)
        return result

    def _tool_applied(self, tool: str, n: int) -> None:
        self.tool_note.setText(f"{tool}: {n} pixel(s) changed (Ctrl+Z undoes it)" if n else
                               f"{tool}: nothing to change there")

    def save_and_next(self) -> dict | None:
        """Save the mask as it is on the canvas (corrected, or accepted when unedited) and
        move to the next image: one key per finished image."""
        result = self.save()
        if result is not None:
            self.step(1, check_edits=False)
        return result

    def skip(self) -> None:
        """Mark the image skipped (left out of training) and move on; painted edits follow
        the setting, so a saved mask stays in the image's history."""
        if self.image_id is None:
            return
        mode = self._edits_mode("Save your edits to this mask before skipping the image?") \
            if self.edited else "discard"
        if mode is None or (mode == "save" and self.save() is None):
            return
        self.session.project.set_status([self.image_id], "skipped")
        self.session.images_changed.emit()
        self.step(1, check_edits=False)

    def step(self, delta: int, check_edits: bool = True) -> None:
        queue = self.session.queue
        if not queue:
            return
        if check_edits and self.edited and not self._settle_edits():
            return  # the person chose to stay on this image
        here = queue.index(self.image_id) if self.image_id in queue else -1
        target = self._free_target(queue, here, delta)
        self.direction = 1 if delta >= 0 else -1
        if target != here or self.image_id not in queue:
            self.show_image(queue[target])

    def _free_target(self, queue: list[int], here: int, delta: int) -> int:
        """The image ``delta`` steps away, passing over those another annotator holds
        (staying put if all ahead are held)."""
        target = min(max(here + delta, 0), len(queue) - 1)
        project, step = self.session.project, 1 if delta >= 0 else -1
        held = leased_by_others(project, self.holder) if self.holder else {}
        while queue[target] in held and 0 <= target + step < len(queue):
            target += step
        return here if queue[target] in held and here >= 0 else target

    def _settle_edits(self) -> bool:
        """Save, ask or discard unsaved edits (the setting); False means stay here."""
        mode = self._edits_mode("Save your edits to this mask?")
        if mode == "save":
            self.save()
        return mode is not None

    def _edits_mode(self, question: str) -> str | None:
        """'save' or 'discard' for the painted edits, by the setting (asking in 'ask'
        mode); None when the person cancels."""
        mode = self.on_move.currentText()
        if mode != "ask":
            return mode
        buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                   | QMessageBox.StandardButton.Cancel)
        answer = QMessageBox.question(self, "Unsaved edits", question, buttons)
        if answer == QMessageBox.StandardButton.Cancel:
            return None
        return "save" if answer == QMessageBox.StandardButton.Save else "discard"

    def _project_changed(self, project) -> None:
        self._release_leases()
        if self.prefetcher is not None:
            self.prefetcher.close()
        self.prefetcher = None if project is None else Prefetcher(
            lambda i: load_annotation_item(project, i))
        if project is not None and self.image_id is None:
            self.status.setText("Select a batch in Active learning, or double-click an image "
                                "in Project to look at it")
        self._update_progress()

    def _images_changed(self) -> None:
        """Masks or proposals may have been rewritten: read them again when needed."""
        if self.prefetcher is not None and not self._saving:
            self.prefetcher.forget()

    def _queue_changed(self, queue) -> None:
        if queue:
            self.show_image(queue[0])
        self._update_progress()

    def _update_progress(self) -> None:
        project = self.session.project
        if project is None:
            self.progress.setText("")
            return
        rows = iteration_summary(project)
        queue = self.session.queue
        place = (queue.index(self.image_id) + 1) if self.image_id in queue else 0
        self.done_bar.setVisible(bool(rows) and bool(queue))
        if rows:
            r = rows[-1]
            self.done_bar.setRange(0, max(1, r["selected"]))
            self.done_bar.setValue(r["annotated"])
            self.progress.setText(
                f"Iteration {r['iteration']}: image {place} / {len(queue)}; "
                f"{r['annotated']} / {r['selected']} saved, {r['corrected']} corrected, "
                f"{r['accepted']} accepted")
        else:
            self.progress.setText(f"image {place} / {len(queue)}" if queue else "")

    def _release_leases(self) -> None:
        self.renew.stop()
        if self.holder is not None:
            release_all(self.leases_in, self.holder)
        self.holder = self.leases_in = None

    def closeEvent(self, event):  # closing the widget stops its reading ahead, frees leases
        self._release_leases()
        if self.prefetcher is not None:
            self.prefetcher.close()
            self.prefetcher = None
        super().closeEvent(event)
