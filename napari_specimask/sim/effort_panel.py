"""Effort on a fixed panel: does a person's work per mask fall as the model improves?

The batches of an active-learning run are chosen to be hard (uncertainty sampling picks
what the model gets wrong), so effort per annotated image mixes how good the proposals
are with how hard the images chosen were. A fixed panel of images with true masks
(role test: never trained on, annotated or judged on) is measured each time with the
proposals a person would be shown now (the active model's TTA mean >= 0.5 at full
size with its probability map, or cold start before any model), so the figure follows
the model alone.
"""

from __future__ import annotations

from napari_specimask.core.vocabulary import Role

from ..core.io.images import to_rgb8
from ..core.loop.gate import proposals_as_shown
from ..core.progress import Job, Progress
from ..core.store.project import Project
from ..core.store.registry import active_version
from ..core.store.verdicts import cold_start_name
from .annotator import annotation_effort


def panel_effort(project: Project, label: dict) -> Job[list[dict]]:
    """One row per panel image (role test) for the proposals shown now; ``label`` (mode,
    iteration, ...) is copied into each row."""
    records = project.images(role=Role.TEST)
    version = active_version(project)
    shown = yield from proposals_as_shown(project, records, version, probability=True)
    rows = []
    for k, (record, (proposal, probability)) in enumerate(zip(records, shown)):
        yield Progress(k, len(records), f"panel: {record.relpath}")
        effort = annotation_effort(proposal, project.load_mask(record.id),
                                   to_rgb8(project.read_image(record)), probability)
        rows.append({**label, "image": record.relpath,
                     "proposal": version or cold_start_name(project),
                     "dice_before": effort.dice_before,
                     "pixels_to_change": effort.pixels_to_change,
                     "brush_actions": effort.brush_actions,
                     "tool_actions": effort.tool_actions})
    return rows
