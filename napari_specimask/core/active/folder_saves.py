"""A folder of finished masks saved for the queued images, as an annotator saves them.

What ``specimask annotate`` does for masks made elsewhere (another tool, a script): per
image the steps napari's Annotate takes, in one pass. The image's lease first (an image
another annotator has open is left to them), then ``submit_mask`` with the verified
annotation the run started from (a mask someone saved since is kept, not replaced,
unless ``overwrite``). Every lease is released at the end, whatever happened.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..io.images import read_mask
from ..progress import Job, Progress, stopped
from ..store.leases import new_holder, release_all, take_lease
from ..store.masks import ANY, SaveConflict, latest_annotation_id
from ..store.project import Project
from ..vocabulary import Status
from . import annotations


@dataclass
class FolderSaves:
    queued: int = 0                                   # queued images when the run began
    saved: list[dict] = field(default_factory=list)   # submit_mask's results
    left: list[str] = field(default_factory=list)     # "relpath: held by ..." (leased)
    refused: list[str] = field(default_factory=list)  # conflicts, with what to do

    def count(self, origin: str) -> int:
        return sum(d["origin"] == origin for d in self.saved)


def save_folder_masks(project: Project, masks: dict[str, Path], author: str,
                      overwrite: bool = False, seconds: float | None = None,
                      stop: threading.Event | None = None) -> Job[FolderSaves]:
    """Save ``masks`` (image name -> mask file; ``export``'s ``<stem>__<id>`` names
    first) for the queued images, each as ``author`` would in napari."""
    queued = project.images(status=Status.QUEUED)
    start = {r.id: latest_annotation_id(project, r.id) for r in queued}
    # an image saved by someone else between the two reads above is no longer queued:
    # read the queue again, or its new save would become this run's baseline
    still = set(project.image_ids(status=Status.QUEUED))
    queued = [r for r in queued if r.id in still]
    out = FolderSaves(len(queued))
    holder = new_holder(author)
    try:
        for k, rec in enumerate(queued):
            if stopped(stop):
                break
            path = masks.get(f"{rec.name}__{rec.id}") or masks.get(rec.name)
            if path is None:
                continue
            lease = take_lease(project, rec.id, holder, author)
            if lease is not None:
                out.left.append(f"{rec.relpath}: {lease.describe()}")
                continue
            mask = read_mask(path, (rec.height, rec.width), project.image_path(rec))
            try:
                result = annotations.submit_mask(project, rec.id, mask, seconds=seconds,
                                                 author=author,
                                                 expect=ANY if overwrite else start[rec.id])
            except SaveConflict as exc:
                out.refused.append(f"{exc} (use --overwrite to replace it)")
                continue
            out.saved.append({**result, "relpath": rec.relpath})
            yield Progress(k + 1, len(queued), f"saved {rec.relpath} ({result['origin']})")
    finally:
        release_all(project, holder)
    return out
