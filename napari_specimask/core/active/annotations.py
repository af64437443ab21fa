"""What happens when a person saves a mask for a queued image, and per-iteration tallies.

The saved mask is compared with the proposal the image was shown with: identical means
``accepted`` (as is), otherwise ``corrected`` with the pixels added and removed, the
fraction changed and the proposal's Dice against the saved mask. Per iteration this
gives the plankton workflow's figure: how many proposals of a batch needed correction
(19/20 in round 1, 10/20 in 7).
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecimaskError
from ..masks.metrics import dice_iou
from ..store.iterations import (
    count_chosen,
    item_source,
    latest_iteration,
    latest_iteration_item,
    list_iterations,
    person_annotations,
    source_model,
)
from ..store.masks import ANY, check_image
from ..store.project import ImageRef, Project
from ..vocabulary import MaskKind, Role, Status


def submit_mask(project: Project, image: int | ImageRef, mask: np.ndarray, *,
                seconds: float | None = None, author: str | None = None,
                expect=ANY) -> dict:
    """Save a person's mask for an image and record how it relates to its proposal.

    ``image``: the image's id, or (from a window that may have switched projects) the
    ``ImageRef`` of the image the mask was painted on, which the save checks is this
    project's (``WrongImage`` otherwise, nothing written). ``expect`` is the verified
    annotation id shown when the person opened the image (None if it had none): a save
    by someone else since raises ``SaveConflict``, nothing saved.
    """
    ref = image if isinstance(image, ImageRef) else None
    image_id = ref.image_id if ref is not None else image
    if ref is not None:
        check_image(project, ref)
    mask = np.asarray(mask, dtype=bool)
    record = project.image(image_id)
    if record.role in (Role.VAL, Role.TEST) and record.status == Status.LABELED:
        raise SpecimaskError(f"{record.relpath} is a {record.role} image with a mask already")
    proposal = project.load_mask(image_id, MaskKind.PROPOSAL)
    item = latest_iteration_item(project, image_id)
    source = item_source(item)
    if proposal is not None and proposal.shape != mask.shape:
        proposal = None
    if proposal is None:
        origin, changed, dice, added, removed = "hand", None, None, None, None
    else:
        added = int(np.count_nonzero(mask & ~proposal))
        removed = int(np.count_nonzero(proposal & ~mask))
        changed = (added + removed) / mask.size
        origin = "accepted" if changed == 0 else "corrected"
        dice = dice_iou(proposal, mask)[0]
    annotation_id = project.save_mask(
        image_id, mask, origin, edited_fraction=changed, seconds=seconds,
        model_version=source_model(source),
        iteration=item["iteration_id"] if item is not None else None, author=author,
        proposal_dice=dice, pixels_added=added, pixels_removed=removed, expect=expect,
        image=ref)
    return {"image_id": image_id, "annotation_id": annotation_id, "origin": origin,
            "edited_fraction": changed, "pixels_added": added, "pixels_removed": removed,
            "proposal_dice": dice, "proposal": source}


def iteration_summary(project: Project) -> list[dict]:
    """One row per iteration: what was chosen, how many were annotated, and how."""
    return [_tally(project, it) for it in list_iterations(project)]


def iteration_tally(project: Project) -> dict | None:
    """The latest iteration's row of ``iteration_summary`` (None before any): what
    Annotate shows after each save, without reading every iteration."""
    latest = latest_iteration(project)
    return _tally(project, latest) if latest is not None else None


def _tally(project: Project, it: dict) -> dict:
    anns = person_annotations(project, it["id"])
    origins = [a["origin"] for a in anns]
    return {
        "iteration": it["id"], "created_at": it["created_at"], "strategy": it["strategy"],
        "seed": it["seed"], "model_version": it["model_version"],
        "batch_size": it["batch_size"], "selected": count_chosen(project, it["id"]),
        "batch_score": it["params"].get("batch_score"),
        "annotated": len(anns), "corrected": origins.count("corrected"),
        "accepted": origins.count("accepted"), "hand": origins.count("hand"),
        "mean_edited_fraction": _mean([a["edited_fraction"] for a in anns]),
        "mean_proposal_dice": _mean([a["proposal_dice"] for a in anns]),
        "mean_seconds": _mean([a["seconds"] for a in anns]),
    }


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None
