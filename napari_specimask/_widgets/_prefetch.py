"""Read the next images of a batch in a background thread while the person works.

A herbarium sheet is a 20-60 megapixel JPEG: decoding it takes a fraction of a second,
which on the GUI thread is a visible freeze at every step. ``Prefetcher`` loads the
images the person is likely to open next; ``get`` returns the loaded data at once when
it is ready and loads in the calling thread otherwise. Each loaded item is handed out
once (the caller may edit the arrays), and ``forget`` drops items whose files changed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..core.io.images import to_rgb8
from ..core.store.project import ImageRecord, Project


@dataclass
class AnnotationItem:
    """What Annotate shows for one image: the pixels, its verified mask and proposal."""

    record: ImageRecord
    image: np.ndarray                 # RGB, 8 bit
    verified: np.ndarray | None
    proposal: np.ndarray | None       # the model's proposal, else the cold-start mask
    proposal_kind: str | None         # "proposal", "pseudo" or None

    @property
    def start(self) -> np.ndarray:
        """The mask to start editing from: verified, else the proposal, else empty."""
        if self.verified is not None:
            return self.verified
        if self.proposal is not None:
            return self.proposal
        return np.zeros(self.image.shape[:2], bool)


def load_annotation_item(project: Project, image_id: int) -> AnnotationItem:
    record = project.image(image_id)
    image = to_rgb8(project.read_image(record))
    verified = project.load_mask(image_id)
    kind, proposal = "proposal", project.load_mask(image_id, "proposal")
    if proposal is None:
        kind, proposal = "pseudo", project.load_mask(image_id, "pseudo")
    return AnnotationItem(record, image, verified, proposal, kind if proposal is not None
                          else None)


class Prefetcher:
    """Loads items ahead in a background thread; each loaded item is handed out once."""

    def __init__(self, load: Callable[[Hashable], object], workers: int = 1):
        self._load = load
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="specimask-prefetch")
        self._pending: dict[Hashable, Future] = {}
        self._lock = threading.Lock()

    def prefetch(self, keys: Iterable[Hashable]) -> None:
        """Start loading ``keys`` (in order); drop earlier guesses not among them."""
        keys = list(dict.fromkeys(keys))
        with self._lock:
            for key in [k for k in self._pending if k not in keys]:
                self._pending.pop(key).cancel()
            for key in keys:
                if key not in self._pending:
                    self._pending[key] = self._pool.submit(self._load, key)

    def get(self, key: Hashable):
        """The item for ``key``: prefetched (waiting for a load under way, which is
        sooner than starting again), else loaded here and now. A prefetch that failed is
        loaded again here, so its error is raised in the caller's thread."""
        with self._lock:
            future = self._pending.pop(key, None)
        if future is not None and not future.cancel():
            with contextlib.suppress(Exception):  # raised again by the load below
                return future.result()
        return self._load(key)

    def forget(self, keys: Iterable[Hashable] | None = None) -> None:
        """Drop prefetched items (all of them without ``keys``), e.g. after a save."""
        with self._lock:
            for key in list(self._pending) if keys is None else list(keys):
                future = self._pending.pop(key, None)
                if future is not None:
                    future.cancel()

    def close(self) -> None:
        self.forget()
        self._pool.shutdown(wait=False, cancel_futures=True)
