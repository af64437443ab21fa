"""Read the next images of a batch in a background thread while the person works.

A herbarium sheet is a 20-60 megapixel JPEG: decoding it takes a fraction of a second,
which on the GUI thread is a visible freeze at every step. ``Prefetcher`` loads the
images the person is likely to open next; ``request`` hands an item to a callback on the
GUI thread, at once when it is loaded and once it is otherwise (a miss is loaded in the
background too, never in the GUI thread). Each loaded item is handed out once (the
caller may edit the arrays), and ``forget`` drops items whose files changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from qtpy.QtCore import QObject, Signal

from napari_specimask.core.vocabulary import MaskKind

from ..core.active.annotations import iteration_tally
from ..core.io.images import to_rgb8
from ..core.store.drafts import Draft, find_draft
from ..core.store.masks import latest_annotation_id
from ..core.store.project import ImageRecord, ImageRef, Project


@dataclass(frozen=True)
class Tally:
    """The iteration's counts and when they were read. An image read ahead carries the
    counts of its reading; a save made since has newer ones, which must not be replaced
    by the older when that image is shown."""

    counts: dict
    read_at: float

    def newer_than(self, other: Tally | None) -> bool:
        return other is None or self.read_at >= other.read_at


def read_tally(project) -> Tally:
    read_at = time.monotonic()  # before the query: it sees every save committed by now
    return Tally(iteration_tally(project), read_at)


@dataclass
class AnnotationItem:
    """What Annotate shows for one image, all read off the GUI thread: the pixels, its
    verified mask and proposal, where the proposal came from, the verified annotation
    it starts from, a draft left by a window that died, and the iteration's tally."""

    record: ImageRecord
    ref: ImageRef
    image: np.ndarray                 # RGB, 8 bit
    verified: np.ndarray | None
    proposal: np.ndarray | None       # the model's proposal, else the cold-start mask
    proposal_kind: str | None         # MaskKind.PROPOSAL, .COLD_START or None
    base: int | None = None           # the verified annotation shown (conflict check)
    origin: str = ""                  # "proposal from model v002", ...
    draft: Draft | None = None
    tally: Tally | None = None
    levels: list | None = None        # the image as napari shows it (a pyramid when big)
    labels: np.ndarray | None = None  # ``start`` as the mask layer's uint8 data
    clean: np.ndarray | None = None   # a copy of it, to tell edits from what was shown

    @property
    def start(self) -> np.ndarray:
        """The mask to start editing from: verified, else the proposal, else empty."""
        if self.verified is not None:
            return self.verified
        if self.proposal is not None:
            return self.proposal
        return np.zeros(self.image.shape[:2], bool)


def load_annotation_item(project: Project, image_id: int, author: str = "",
                         describe: Callable | None = None) -> AnnotationItem:
    """Everything Annotate needs to show ``image_id`` (``describe(project, item)`` names
    the proposal's origin)."""
    record = project.image(image_id)
    image = to_rgb8(project.read_image(record))
    base = latest_annotation_id(project, image_id)
    verified = project.load_mask(image_id) if base is not None else None
    kind, proposal = MaskKind.PROPOSAL, project.load_mask(image_id, MaskKind.PROPOSAL)
    if proposal is None:
        kind, proposal = MaskKind.COLD_START, project.load_mask(image_id, MaskKind.COLD_START)
    item = AnnotationItem(record, project.image_ref(record), image, verified, proposal,
                          kind if proposal is not None else None, base)
    item.origin = describe(project, item) if describe is not None else ""
    item.draft = find_draft(project, image_id, author) if author else None
    item.tally = read_tally(project)
    item.levels = display_levels(image)
    item.labels = item.start.astype(np.uint8)  # full-size copies made here, not on
    item.clean = item.labels.copy()            # the GUI thread (54 MB each at 54 MP)
    return item


PYRAMID_FROM_PX = 4096  # a longer side than this is shown from a pyramid


def display_levels(image: np.ndarray):
    """The image as napari's Image layer gets it: as it is, or, for a sheet with a side
    over ``PYRAMID_FROM_PX``, a pyramid of strided views (no copies) from which napari
    uploads only what the screen shows. A 9000 x 6000 sheet was a 162 MB texture upload
    on every step (90 ms of the GUI thread with Mesa's software OpenGL)."""
    if max(image.shape[:2]) <= PYRAMID_FROM_PX:
        return image
    levels, step = [image], 2
    while max(image.shape[:2]) / step > PYRAMID_FROM_PX / 4:
        levels.append(image[::step, ::step])
        step *= 2
    return levels


class Prefetcher(QObject):
    """Loads items in a background thread; each loaded item is handed out once."""

    _loaded = Signal(object)  # a finished future's (key, callback) token, GUI thread

    def __init__(self, load: Callable[[Hashable], object], workers: int = 1, parent=None):
        super().__init__(parent)
        self._load = load
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="specimask-prefetch")
        self._pending: dict[Hashable, Future] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._loaded.connect(self._deliver)

    def prefetch(self, keys: Iterable[Hashable]) -> None:
        """Start loading ``keys`` (in order); drop earlier guesses not among them."""
        keys = list(dict.fromkeys(keys))
        with self._lock:
            if self._closed:
                return
            for key in [k for k in self._pending if k not in keys]:
                self._pending.pop(key).cancel()
            for key in keys:
                if key not in self._pending:
                    self._pending[key] = self._pool.submit(self._load, key)

    def request(self, key: Hashable, on_ready: Callable[[object], None]) -> bool:
        """Hand the item for ``key`` to ``on_ready`` on the GUI thread: now, if it is
        loaded (returns True), else once loaded in the background (False). A failed
        load hands over its exception instead of the item."""
        with self._lock:
            if self._closed:
                return False
            future = self._pending.pop(key, None)
            if future is None or future.cancelled():
                future = self._pool.submit(self._load, key)
        if future.done():
            on_ready(_outcome(future))
            return True
        future.add_done_callback(lambda f: self._emit((f, on_ready)))
        return False

    def get(self, key: Hashable):
        """The item for ``key``, waiting for it (for scripts and tests; the widgets
        ``request``)."""
        with self._lock:
            future = self._pending.pop(key, None)
        if future is None or future.cancelled():
            return self._load(key)
        return future.result()

    def forget(self, keys: Iterable[Hashable] | None = None) -> None:
        """Drop prefetched items (all of them without ``keys``), e.g. after a save."""
        with self._lock:
            for key in list(self._pending) if keys is None else list(keys):
                future = self._pending.pop(key, None)
                if future is not None:
                    future.cancel()

    def close(self) -> None:
        self.forget()
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _emit(self, token) -> None:
        try:
            self._loaded.emit(token)
        except RuntimeError:  # the widget (and this object) is gone
            pass

    def _deliver(self, token) -> None:
        future, on_ready = token
        if not self._closed and not future.cancelled():
            on_ready(_outcome(future))


def _outcome(future: Future):
    error = future.exception()
    return error if error is not None else future.result()
