"""Annotate's writes to the project, one after another in a background thread.

A save encodes a full-size mask, compares it with its proposal and fsyncs it: on a
9000 x 6000 sheet that is a visible freeze on the GUI thread. Here the GUI thread only
copies the canvas's arrays; saves, drafts, their removal and leases run in order in one
worker thread, each against the project its image was painted in (``Canvas``), and the
outcome comes back on the GUI thread. Running them in order keeps a draft from
outliving the save that supersedes it, and lets a second save of an image build on the
first. ``flush`` waits for all of them (before a switch of project or a quit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_specimask.core.active.annotations import submit_mask
from napari_specimask.core.store.drafts import drop_draft, stage_draft
from napari_specimask.core.store.leases import take_lease
from napari_specimask.core.store.masks import ANY

from ._background import Serial, Write
from ._corrections import apply_corrections
from ._prefetch import read_tally
from ._session import Canvas


@dataclass(frozen=True)
class Snapshot:
    """Copies of the canvas's layers (taken on the GUI thread, a memory copy each), from
    which the worker makes the mask as it would be saved."""

    mask: np.ndarray                 # the mask layer's labels
    corrections: np.ndarray | None   # corrective mode's marks (1 add, 2 remove), if any

    def combined(self) -> np.ndarray:
        return apply_corrections(self.mask > 0, self.corrections)


class CanvasWrites(Serial):
    def __init__(self, parent=None):
        super().__init__(parent, name="specimask-canvas-writes")
        self._saved_last: dict[tuple[str, int], int] = {}  # this window's newest save
        self._draft_turn: dict[tuple[str, int], int] = {}  # the newest draft asked for

    # -- what Annotate asks for -------------------------------------------------------

    def save(self, canvas: Canvas, snapshot: Snapshot, *, seconds: float, author: str,
             expect, on_done=None, on_error=None) -> Write:
        """Save the snapshot's mask for the canvas's image (``submit_mask``); ``on_done``
        gets (result, the iteration's ``Tally``). A save this window made of the image
        since it was shown is not a conflict: ``expect`` moves up to it."""
        key = _key(canvas)

        def run():
            start = expect
            mine = self._saved_last.get(key)
            if start is not ANY and mine is not None and (start is None or mine > start):
                start = mine
            result = submit_mask(canvas.project, canvas.image, snapshot.combined(),
                                 seconds=seconds, author=author, expect=start)
            self._saved_last[key] = result["annotation_id"]
            return result, read_tally(canvas.project)

        return self.run(run, on_done, on_error)

    def stage_draft(self, canvas: Canvas, snapshot: Snapshot, shown: np.ndarray, *,
                    author: str, base: int | None, on_error=None) -> Write:
        """Keep what the canvas holds as the author's draft of the image, unless a newer
        draft was asked for meanwhile; no change from ``shown`` (the mask layer as it was
        shown or last saved, never written to again) drops the draft instead."""
        key = _key(canvas)
        with self._lock:
            turn = self._draft_turn[key] = self._draft_turn.get(key, 0) + 1

        def run():
            if self._draft_turn.get(key) != turn:
                return None  # a newer snapshot is queued behind this one
            mask = snapshot.combined()
            changed = int(np.count_nonzero(mask != (shown > 0)))
            if changed:
                stage_draft(canvas.project, canvas.image, author, mask, base, changed)
            else:
                drop_draft(canvas.project, canvas.image_id, author)
            return changed

        return self.run(run, None, on_error)

    def drop_draft(self, canvas: Canvas, author: str) -> Write:
        key = _key(canvas)
        with self._lock:
            self._draft_turn[key] = self._draft_turn.get(key, 0) + 1  # cancels queued ones
        return self.run(lambda: drop_draft(canvas.project, canvas.image_id, author))

    def take_lease(self, canvas: Canvas, holder: str, author: str, on_done=None) -> Write:
        """Take or renew the image's lease; ``on_done`` gets another annotator's lease,
        if they hold it (an fsync'd write, so not on the GUI thread either)."""
        return self.run(lambda: take_lease(canvas.project, canvas.image_id, holder, author),
                        on_done)



def _key(canvas: Canvas) -> tuple[str, int]:
    return canvas.image.project_uid, canvas.image_id
