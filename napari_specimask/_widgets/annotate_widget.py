"""Annotate dock widget: step through the queued batch, correct or accept each proposal.

The image is shown with its proposal (or its verified mask) as an editable Labels layer,
brush ready. A save goes through ``core.annotations.submit_mask`` in a background
thread (``_canvas_writes``), which records accepted vs corrected, the fraction changed
and the seconds spent, into the project the image was opened from (``Canvas``), never
the one the widgets have switched to since. Moving on, switching projects and closing
napari save, ask about or discard unsaved edits, by a setting; while painting, the edits
are staged as a draft every few seconds, so a napari that is killed loses seconds of
painting: the draft is offered back when the image is opened again.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
from napari.utils.notifications import show_error, show_warning
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from napari_specimask.core.store.leases import (
    LEASE_SECONDS,
    leased_by_others,
    new_holder,
    release_all,
)
from napari_specimask.core.store.masks import ANY, SaveConflict, default_author
from napari_specimask.core.vocabulary import Status

from ._annotate_text import (
    HOTKEYS,
    changed_pixels,
    fits_view,
    hotkey_help,
    proposal_origin,
    tally_text,
)
from ._canvas_writes import CanvasWrites, Snapshot
from ._click_tools import ClickTools
from ._continuous import ContinuousTraining
from ._corrections import CORRECTIONS, MASK, CorrectiveMode, editable_on_top
from ._dock import DockWidget
from ._drafts import DraftKeeper
from ._layers import fit_view_to, put_image, put_labels
from ._prefetch import Prefetcher, Tally, load_annotation_item
from ._quit_guard import QuitGuard
from ._session import Canvas, listen, session_for

ON_MOVE = ("save", "ask", "discard")
AHEAD = 2  # images read ahead in the direction the person is stepping


class AnnotateWidget(DockWidget):
    tab_name = "Annotate"

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.canvas: Canvas | None = None  # what is shown, and the project it came from
        self.clean: np.ndarray | None = None  # the mask layer as last shown or saved
        self.dirty = False  # the canvas changed since (a cheap flag before comparing)
        self._quiet = False  # the widget itself is setting the layers' data
        self._held_mode: str | None = None  # the person's tool while the brush is held
        self.loading: int | None = None  # the image being read, before it is shown
        self.shown_at = 0.0
        self.direction = 1
        self.prefetcher: Prefetcher | None = None
        self.writes = CanvasWrites(self)
        self.base: int | None = None  # the verified annotation shown (the conflict check)
        self.tally: Tally | None = None  # the newest iteration counts read
        self.holder: str | None = None  # this window's name in the leases table
        self.leases_in = None  # the project it holds leases in
        self._make_timers()
        self._make_controls(napari_viewer)
        self._lay_out()
        self._wire(napari_viewer)

    def _make_timers(self) -> None:
        self.renew = QTimer(self)  # keeps the shown image's lease while the window lives
        self.renew.setInterval(int(LEASE_SECONDS * 1000 / 4))
        self.renew.timeout.connect(self._lease_shown)
        self._show_turn = QTimer(self, singleShot=True, interval=0)  # see show_image
        self._show_turn.timeout.connect(self._request_shown)
        self._mask_turn = QTimer(self, singleShot=True, interval=0)  # see _display
        self._mask_turn.timeout.connect(self._display_mask)
        self._pending_mask = None
        self._canvas_gone = QTimer(self, singleShot=True, interval=0)
        self._canvas_gone.timeout.connect(self._tell_canvas_gone)
        self.drafts = DraftKeeper(self)

    def _make_controls(self, napari_viewer) -> None:
        self.author = QLineEdit(default_author())
        self.author.setToolTip("who your saves are recorded as")
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
        self.corrective = CorrectiveMode(napari_viewer, self._layer_made)
        self.tool_note = QLabel("")  # what the last click tool did
        self.keys = QLabel(hotkey_help())
        self.keys.setWordWrap(True)
        self.continuous = ContinuousTraining(self.session, self)
        self.on_move = QComboBox()
        self.on_move.addItems(ON_MOVE)
        self.on_move.setToolTip("what happens to unsaved edits when you move on, switch "
                                "project or close napari")

    def _wire(self, napari_viewer) -> None:
        actions = {"next": lambda: self.step(1), "previous": lambda: self.step(-1),
                   "accept": self.accept, "save": self.save,
                   "save_next": self.save_and_next, "skip": self.skip}
        for name, fn in actions.items():
            self.buttons[name].clicked.connect(fn)
            napari_viewer.bind_key(HOTKEYS[name], lambda _v, f=fn: f(), overwrite=True)
        listen(self, self.session.events.queue, self._queue_changed)
        listen(self, self.session.show_requested, self.show_image)
        listen(self, self.session.events.project, self._project_changed)
        listen(self, self.session.images_changed, self._images_changed)
        listen(self, self.session.models_changed, self._images_changed)
        self._project_changed(self.session.project)
        self.session.set_keeper(self)
        self.quit_guard: QuitGuard | None = None  # once docked in napari's window
        napari_viewer.layers.events.removing.connect(self._layer_removing)

    def docked(self) -> None:
        if self.quit_guard is None and isinstance(self.window(), QMainWindow):
            self.quit_guard = QuitGuard(self, self.window())

    def _lay_out(self) -> None:
        grid = QGridLayout()
        for i, name in enumerate(("previous", "next", "accept", "save", "save_next", "skip")):
            grid.addWidget(self.buttons[name], i // 2, i % 2)
        layout = QVBoxLayout(self.body)
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

    @property
    def image_id(self) -> int | None:
        return self.canvas.image_id if self.canvas is not None else None

    def unsaved_image(self) -> int | None:
        """The shown image's id while it has unsaved edits (for other widgets' work)."""
        return self.image_id if self.edited else None

    def who(self) -> str:
        return self.author.text().strip() or default_author()

    # -- showing -----------------------------------------------------------------------

    def show_image(self, image_id: int) -> None:
        """Show ``image_id`` of the open project, at the next turn of the event loop (so
        a save and the next sheet are not one long stall): at once if it was read
        ahead, else once it is read in the background (the canvas cannot be painted
        meanwhile)."""
        project = self.session.project
        if self.prefetcher is None or project is None:  # no project open (or closed)
            return
        self.loading = image_id
        if self.canvas is not None and MASK in self.viewer.layers:
            self._hold_brush(True)  # settled: no strokes on it while the next is read
        self._show_turn.start()

    def _request_shown(self) -> None:
        project, image_id = self.session.project, self.loading
        if image_id is None or self.prefetcher is None or project is None:
            return
        if not self.prefetcher.request(image_id, lambda item: self._loaded(
                project, image_id, item)):
            self.status.setText(f"opening image {image_id}…")

    def _loaded(self, project, image_id: int, item) -> None:
        if project is not self.session.project or self.loading != image_id:
            return  # the person moved on (or switched project) while it was read
        if isinstance(item, BaseException):
            self.loading = None
            if MASK in self.viewer.layers and self.clean is self.viewer.layers[MASK].data:
                with self.setting_layers():  # handed to a save: the canvas paints a copy
                    self.viewer.layers[MASK].data = self.clean.copy()
            self._hold_brush(False)
            show_error(f"specimask: cannot show image {image_id}: {item}")
            return
        self._display(project, item)

    def _display(self, project, item) -> None:
        """Show a read item: the sheet now, its mask at the next turn of the event loop
        (each costs napari tens of milliseconds at a megapixel; together they were one
        visible stall per step). Until the mask is shown the image is still loading."""
        self.loading = item.record.id
        levels = item.levels if item.levels is not None else item.image
        if "image" in self.viewer.layers and isinstance(levels, list) != \
                self.viewer.layers["image"].multiscale:
            self.viewer.layers.remove("image")  # a layer is one kind or the other
        self.session.own(put_image(self.viewer, "image", levels, rgb=True,
                                   multiscale=isinstance(levels, list)))
        self._pending_mask = (project, item)
        self._mask_turn.start()

    def _display_mask(self) -> None:
        project, item = self._pending_mask
        self._pending_mask = None
        if project is not self.session.project or self.loading != item.record.id:
            return  # moved on (or switched project) in between
        self.loading = None
        record, image = item.record, item.image
        start = item.labels if item.labels is not None else item.start.astype(np.uint8)
        self.canvas = Canvas(project, item.ref)
        self.base = item.base
        self._take_tally(item.tally)
        with self.setting_layers():
            new = MASK not in self.viewer.layers
            labels = self.session.own(put_labels(self.viewer, MASK, start,
                                                 {0: "transparent", 1: "magenta"}))
            self._hold_brush(False)
            if new:  # the first image: a brush that suits it; later the person's tool stays
                labels.brush_size = max(2, round(max(image.shape[:2]) / 80))
                labels.mode = "paint"
                self._layer_made(labels)
                self.corrective.attach_when_shown()
            if labels.selected_label not in (0, 1):
                labels.selected_label = 1
            self.corrective.new_image()
        # the layer paints into ``start``: what was shown is kept apart
        self.clean = item.clean if item.clean is not None else start.copy()
        self.dirty = False
        editable_on_top(self.viewer)
        if not fits_view(image.shape[:2], getattr(self, "_fitted", None)):
            # fit to this image alone: the overlays still hold the previous image's maps
            # until the Predictions widget updates them a moment later
            fit_view_to(self.viewer, self.viewer.layers["image"])
            self._fitted = image.shape[:2]
        self.shown_at = time.monotonic()
        self.tool_note.setText("")  # the last click tool's note was about another image
        self.status.setText(f"{record.relpath} ({record.width} x {record.height}, "
                            f"{record.role}, {record.status}); showing its {item.origin}")
        self._lease_shown()
        self._update_progress()
        self._read_ahead()
        self.session.canvas = self.canvas
        if item.draft is not None:
            self.drafts.offer(item.draft)

    def _hold_brush(self, hold: bool) -> None:
        """While the next image is read, the mask cannot be painted (its strokes would
        land on the image just left); the person's tool comes back with the image."""
        if MASK not in self.viewer.layers:
            return
        layer = self.viewer.layers[MASK]
        if hold and self._held_mode is None:
            self._held_mode = layer.mode
            layer.editable = False  # napari puts the layer in pan_zoom
        elif not hold and self._held_mode is not None:
            layer.editable = True  # (setting its data may have done so already)
            layer.mode, self._held_mode = self._held_mode, None

    @contextlib.contextmanager
    def setting_layers(self):
        """The widget, not the person, changes the layers' data meanwhile."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _layer_made(self, layer) -> None:
        """A layer a person paints on (the mask, the corrections): the click tools
        listen to it, and every change to it is a reason to stage a draft."""
        self.session.own(layer)
        self.tools.attach(layer)
        # a stroke or a tool (paint), a stroke under way (labels_update), an undo (set_data)
        for event in (layer.events.paint, layer.events.labels_update, layer.events.set_data):
            event.connect(self._canvas_changed)

    def _layer_removing(self, event) -> None:
        """The mask (or the corrections) is about to go, not by this widget: the person
        deleted it, or napari is being torn down by a script. Its unsaved edits are
        saved (setting "save") or kept as a draft, never dropped with the layer."""
        layer = self.viewer.layers[event.index]
        if self._quiet or self.canvas is None or layer.name not in (MASK, CORRECTIONS):
            return
        if layer.name == CORRECTIONS:
            with self.setting_layers():
                self.corrective.fold()  # the marks into the mask, which stays
            return
        if self.edited:
            if self.on_move.currentText() == "save":
                self.save()
            else:
                self.drafts.stage()
                show_warning(f"specimask: the mask layer of {self.canvas.image.relpath} "
                             "was removed with unsaved edits; they are kept as a draft, "
                             "offered back when you open the image again")
        self.writes.flush()
        self.canvas, self.clean, self.dirty = None, None, False
        self._canvas_gone.start()  # told after napari's removal: a listener may remove
        # layers too (QA's panels), which the list cannot take in the middle of one

    def _tell_canvas_gone(self) -> None:
        if self.canvas is None:
            self.session.canvas = None

    def _canvas_changed(self, *_) -> None:
        """A stroke, an undo, a click tool: stage a draft at the next pause (or within a
        few seconds while painting goes on); the last click tool's note is stale now."""
        if self._quiet or self.canvas is None or self.loading is not None:
            return
        self.dirty = True
        self.tool_note.setText("")
        self.drafts.changed()

    def _read_ahead(self) -> None:
        """Start reading the next images in the direction of travel, and the one back."""
        queue = self.session.queue
        if self.image_id not in queue or self.prefetcher is None:
            return
        here = queue.index(self.image_id)
        ahead = [here + self.direction * k for k in range(1, AHEAD + 1)] + [here - self.direction]
        self.prefetcher.prefetch([queue[i] for i in ahead if 0 <= i < len(queue)])

    def snapshot(self, leaving: bool = False) -> Snapshot | None:
        """Copies of what is painted (memory copies only; the mask is made in a worker).
        ``leaving`` (the brush held, the next image about to replace the layer's data):
        the mask layer's own array is handed over uncopied, since nothing writes to it
        any more; a copy of a 54 MP mask cost up to 300 ms of the GUI thread."""
        if MASK not in self.viewer.layers:
            return None
        marks = self.viewer.layers[CORRECTIONS].data if CORRECTIONS in self.viewer.layers \
            else None
        marks = None if marks is None or not marks.any() else marks.copy()
        labels = self.viewer.layers[MASK].data
        handed = leaving and marks is None and not self.viewer.layers[MASK].editable
        return Snapshot(labels if handed else labels.copy(), marks)

    @property
    def mask(self) -> np.ndarray | None:
        """What a save stores: the mask layer, with the corrections in corrective mode."""
        shot = self.snapshot()
        return shot.combined() if shot is not None else None

    @property
    def edited(self) -> bool:
        """Whether the canvas differs from what was shown or last saved (compared only
        after a change was seen: a full-size comparison is not free)."""
        if self.canvas is None or self.clean is None or not self.dirty \
                or MASK not in self.viewer.layers:
            return False
        if CORRECTIONS in self.viewer.layers and self.viewer.layers[CORRECTIONS].data.any():
            return not np.array_equal(self.mask, self.clean > 0)
        return not np.array_equal(self.viewer.layers[MASK].data, self.clean)

    # -- actions -----------------------------------------------------------------------

    def save(self, leaving: bool = False):
        """Save what the canvas shows (in the background); returns the queued write.
        ``leaving``: the next image is shown right after, so the brush is held now."""
        if self.canvas is None or self.loading is not None:
            return None
        if leaving:
            self._hold_brush(True)
        shot = self.snapshot(leaving)
        if shot is None:
            return None
        canvas, clean_before = self.canvas, self.clean
        write = self.writes.save(
            canvas, shot, seconds=round(time.monotonic() - self.shown_at, 1),
            author=self.who(), expect=self.base,
            on_done=lambda out: self._saved(canvas, *out),
            on_error=lambda exc: self._not_saved(canvas, shot, clean_before, exc))
        with self.setting_layers():
            self.corrective.fold()  # the saved mask is the new base to correct
        # what was saved is the new clean state: the snapshot's copy of the mask layer
        # (never written to), or the layer as folded, in corrective mode
        self.clean = shot.mask if shot.corrections is None else \
            self.viewer.layers[MASK].data.copy()
        self.dirty = False
        self.drafts.stop()
        self.tool_note.setText("")  # about an edit that is now saved
        self.status.setText(f"{canvas.image.relpath}: saving…")
        return write

    def _take_tally(self, tally: Tally | None) -> None:
        """The iteration's counts, unless those shown were read later."""
        if tally is not None and tally.newer_than(self.tally):
            self.tally = tally

    def _saved(self, canvas: Canvas, result: dict, tally: Tally | None) -> None:
        """A save is written: say so where it applies, then tell the other widgets."""
        if canvas.project is self.session.project:
            self._take_tally(tally)
        if canvas == self.canvas:
            self.base = result["annotation_id"]
            self.status.setText(f"{canvas.image.relpath} (labeled); saved as "
                                f"{result['origin']}{changed_pixels(result)} at "
                                f"{time.strftime('%H:%M:%S')}")
        if canvas.project is not self.session.project:
            return  # saved into the project it belongs to; these widgets show another
        if self.prefetcher is not None:
            self.prefetcher.forget([canvas.image_id])  # the others read ahead stay good
        self._own_save = True
        try:
            self.session.images_changed.emit()
        finally:
            self._own_save = False
        self._update_progress()
        self.continuous.saved()

    def _not_saved(self, canvas: Canvas, shot: Snapshot, clean_before, exc) -> None:
        """A save that did not happen: someone else saved meanwhile (ask), or it failed.
        The edits are never dropped: they stay unsaved on the canvas, or are kept as a
        draft to restore when the image is opened again."""
        if isinstance(exc, SaveConflict):
            buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
            answer = QMessageBox.question(
                self, "Saved by someone else", f"{exc}.\n\nReplace their mask with yours?"
                " (No keeps theirs; your edits are kept unsaved, as a draft.)", buttons)
            if answer == QMessageBox.StandardButton.Yes:
                self.writes.save(canvas, shot, seconds=None, author=self.who(),
                                 expect=ANY, on_done=lambda out: self._saved(canvas, *out),
                                 on_error=lambda e: self._not_saved(canvas, shot,
                                                                    clean_before, e))
                return
            why = f"not saved: {exc}"
        else:
            why = f"not saved ({exc})"
            show_error(f"specimask: {canvas.image.relpath} {why}; your edits are kept")
        if canvas == self.canvas:  # still on it: the canvas is unsaved again
            self.clean, self.dirty = clean_before, True
            self.status.setText(f"{canvas.image.relpath}: {why}")
        self.writes.stage_draft(canvas, shot, clean_before, author=self.who(),
                                base=self.base if canvas == self.canvas else None)

    def _lease_shown(self) -> None:
        """Take or renew the shown image's lease (in the background); another
        annotator's lease, if they hold it, is said in the status line."""
        canvas = self.canvas
        if canvas is None:
            return
        if self.holder is None or self.leases_in is not canvas.project:
            self._release_leases()
            self.holder = new_holder(self.who())
            self.leases_in = canvas.project
        self.renew.start()

        def held(lease):
            if lease is not None and canvas == self.canvas:
                self.status.setText(self.status.text() + f"; {lease.describe()}")

        self.writes.take_lease(canvas, self.holder, self.who(), on_done=held)

    def accept(self):
        """Save the proposal exactly as it was shown, then move on. Painted edits are not
        thrown away by this key: they are saved (recorded as corrected), or asked about,
        as the "unsaved edits" setting says; only 'discard' drops them."""
        if self.canvas is None or self.loading is not None:
            return None
        mode = self._edits_mode("You painted on this proposal. Save your edits (corrected)"
                                " or discard them and accept the proposal as it was?") \
            if self.edited else "discard"
        if mode is None:
            return None
        if mode == "discard":
            self._discard()
        return self._save_and_step()

    def discard(self) -> None:
        """Drop the unsaved edits (another widget asked the person first)."""
        if self.canvas is not None and self.clean is not None:
            self._discard()

    def _discard(self) -> None:
        """The canvas back to what was shown or last saved; its draft goes too."""
        with self.setting_layers():
            self.corrective.new_image()
            if self.dirty:
                self.viewer.layers[MASK].data = self.clean.copy()
        if self.dirty:
            self.writes.drop_draft(self.canvas, self.who())
        self.dirty = False
        self.drafts.stop()

    def _tool_applied(self, tool: str, n: int) -> None:
        self.tool_note.setText(f"{tool}: {n} pixel(s) changed (Ctrl+Z undoes it)" if n else
                               f"{tool}: nothing to change there")

    def save_and_next(self):
        """Save the mask as it is on the canvas (corrected, or accepted when unedited) and
        move to the next image: one key per finished image."""
        return self._save_and_step()

    def _save_and_step(self):
        """Save, then show the next image (the save hands the mask over uncopied when
        the step really moves: the layer is given the next image's mask)."""
        target = self._step_target(1)
        write = self.save(leaving=target is not None)
        if write is not None and target is not None:
            self.direction = 1
            self.show_image(target)
        return write

    def skip(self) -> None:
        """Mark the image skipped (left out of training) and move on; painted edits follow
        the setting, so a saved mask stays in the image's history."""
        if self.canvas is None or self.loading is not None:
            return
        canvas = self.canvas
        if not self.settle("Save your edits to this mask before skipping the image?"):
            return

        def done(_):
            if canvas.project is self.session.project:
                self.session.images_changed.emit()

        self.writes.run(lambda: canvas.project.set_status([canvas.image_id], Status.SKIPPED),
                        on_done=done)
        self.step(1, check_edits=False)

    def step(self, delta: int, check_edits: bool = True) -> None:
        queue = self.session.queue
        if not queue:
            return
        if check_edits and not self.settle("Save your edits to this mask?"):
            return  # the person chose to stay on this image
        target = self._step_target(delta)
        self.direction = 1 if delta >= 0 else -1
        if target is not None:
            self.show_image(target)

    def _step_target(self, delta: int) -> int | None:
        """The image a step of ``delta`` shows, or None where it stays put."""
        queue = self.session.queue
        if not queue:
            return None
        here = queue.index(self.image_id) if self.image_id in queue else -1
        target = self._free_target(queue, here, delta)
        return queue[target] if target != here or self.image_id not in queue else None

    def _free_target(self, queue: tuple[int, ...], here: int, delta: int) -> int:
        """The image ``delta`` steps away, passing over those another annotator holds
        (staying put if all ahead are held)."""
        target = min(max(here + delta, 0), len(queue) - 1)
        project, step = self.session.project, 1 if delta >= 0 else -1
        held = leased_by_others(project, self.holder) if self.holder else {}
        while queue[target] in held and 0 <= target + step < len(queue):
            target += step
        return here if queue[target] in held and here >= 0 else target

    # -- the canvas's edits, for moving on, switching project and quitting ------------

    def settle(self, question: str, can_stay: bool = True) -> bool:
        """Save, ask about or discard unsaved edits (the setting); False means stay here.
        A save goes to the project the image was opened from. ``can_stay`` False (a
        window closing that cannot be kept open) offers Save and Discard only."""
        if not self.edited:
            return True
        mode = self._edits_mode(question, can_stay)
        if mode == "save":
            self.save()
        elif mode == "discard":
            self._discard()
        return mode is not None

    def flush(self) -> None:
        self.writes.flush()

    def _edits_mode(self, question: str, can_stay: bool = True) -> str | None:
        """'save' or 'discard' for the painted edits, by the setting (asking in 'ask'
        mode); None when the person cancels."""
        mode = self.on_move.currentText()
        if mode != "ask":
            return mode
        buttons = QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
        if can_stay:
            buttons |= QMessageBox.StandardButton.Cancel
        name = self.canvas.image.relpath if self.canvas is not None else "this image"
        answer = QMessageBox.question(self, "Unsaved edits", f"{name}: {question}", buttons)
        if answer == QMessageBox.StandardButton.Save:
            return "save"
        if answer == QMessageBox.StandardButton.Discard or not can_stay:
            return "discard"
        return None

    def _project_changed(self, project) -> None:
        """Another project (its canvas was settled by the session first): forget the
        canvas, read from the new project."""
        self.writes.flush()
        self._release_leases()
        if self.prefetcher is not None:
            self.prefetcher.close()
        self.canvas, self.clean, self.dirty, self.loading = None, None, False, None
        self.base, self.tally = None, None
        self.prefetcher = None if project is None else Prefetcher(
            lambda i: load_annotation_item(project, i, self.who(), proposal_origin), parent=self)
        self.tool_note.setText("")
        self.status.setText("Open a project and select a batch" if project is None else
                            "Select a batch in Active learning, or double-click an image "
                            "in Project to look at it")
        self._update_progress()

    def _images_changed(self) -> None:
        """Masks or proposals may have been rewritten: read them again when needed."""
        if self.prefetcher is not None and not getattr(self, "_own_save", False):
            self.prefetcher.forget()

    def _queue_changed(self, queue) -> None:
        if queue:
            self.show_image(queue[0])
        self._update_progress()

    def _update_progress(self) -> None:
        """The iteration's counts as last read (by the image's load, or a save), never
        queried here: the GUI thread only draws."""
        queue = self.session.queue
        place = (queue.index(self.image_id) + 1) if self.image_id in queue else 0
        tally = self.tally.counts if self.session.project is not None and \
            self.tally is not None else None
        self.done_bar.setVisible(tally is not None and bool(queue))
        if tally is not None:
            # QProgressBar repaints at once when its value changes, and with napari's
            # OpenGL canvas in the window that is a whole frame (40 ms): paint it later
            self.done_bar.setUpdatesEnabled(False)
            self.done_bar.setRange(0, max(1, tally["selected"]))
            self.done_bar.setValue(tally["annotated"])
            self.done_bar.setUpdatesEnabled(True)
            self.done_bar.update()
        self.progress.setText(tally_text(tally, place, len(queue)))

    def _release_leases(self) -> None:
        self.renew.stop()
        if self.holder is not None:
            project, holder = self.leases_in, self.holder
            self.writes.run(lambda: release_all(project, holder))
            self.writes.flush()  # before the project it names is closed
        self.holder = self.leases_in = None

    def closeEvent(self, event):  # closing the widget stops its reading ahead, frees leases
        self.settle("Save your edits to this mask before closing Annotate?", can_stay=False)
        self.writes.flush()
        self._release_leases()
        if self.prefetcher is not None:
            self.prefetcher.close()
            self.prefetcher = None
        super().closeEvent(event)
