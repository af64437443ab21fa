"""The state the dock widgets share for one viewer: the open project and the work queue.

One ``Session`` per viewer, found with ``session_for(viewer)``; it is held weakly, so
closing the viewer frees it. Widgets talk through its signals, never to each other.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from napari.utils.notifications import show_warning
from psygnal import Signal

from napari_specimask.core.store.project import Project
from napari_specimask.core.store.registry import active_version

_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Session:
    project_changed = Signal(object)      # Project or None
    queue_changed = Signal(object)        # list of image ids to step through
    show_requested = Signal(int)          # an image id to show in Annotate
    current_changed = Signal(int)         # the image Annotate now shows
    images_changed = Signal()             # statuses, roles or masks changed
    models_changed = Signal()             # a model was trained or activated

    def __init__(self):
        self.project: Project | None = None
        self.queue: list[int] = []
        self.current_image: int | None = None
        self.current_changed.connect(lambda i: setattr(self, "current_image", i))
        self._training_form: weakref.WeakMethod | None = None
        self._edits_probe: weakref.WeakMethod | None = None

    def set_training_form(self, config_method) -> None:
        """The Train widget offers its form for rounds: ``config_method(**overrides)``
        returns a TrainConfig, or None once the widget is no longer docked."""
        self._training_form = weakref.WeakMethod(config_method)

    def set_edits_probe(self, probe_method) -> None:
        """Annotate offers ``probe_method()``: the id of the image it shows with unsaved
        edits, or None (asked before work that would replace that image's proposal)."""
        self._edits_probe = weakref.WeakMethod(probe_method)

    def unsaved_edits(self) -> int | None:
        probe = self._edits_probe() if self._edits_probe is not None else None
        try:
            return probe() if probe is not None else None
        except RuntimeError:  # its Qt side is already deleted
            return None

    def round_training(self, **overrides):
        """What a round trains with: the Train widget's form while it is docked (what the
        person sees), else the project's defaults; either with this iteration's schedule."""
        form = self._training_form() if self._training_form is not None else None
        cfg = form(**overrides) if form is not None else None
        if cfg is not None:
            return cfg
        from napari_specimask.core.loop.rounds import round_config

        return round_config(self.project, **overrides)

    @property
    def active_model(self) -> str | None:
        return active_version(self.project) if self.project else None

    def open(self, root: str | Path) -> Project:
        self.set_project(Project.open(root))
        return self.project

    def set_project(self, project: Project) -> None:
        self.close()
        self.project = project
        if project.recovered:  # what a killed process left, tidied when it was opened
            show_warning(f"{project.root.name}: {project.recovered}")
        self.queue = project.image_ids(status="queued")
        self.project_changed.emit(project)
        self.queue_changed.emit(self.queue)

    def set_queue(self, ids: list[int]) -> None:
        self.queue = list(ids)
        self.queue_changed.emit(self.queue)

    def close(self) -> None:
        if self.project is not None:
            self.project.close()
            self.project = None
            self.project_changed.emit(None)


def session_for(viewer) -> Session:
    """The viewer's session (made on first use)."""
    if viewer not in _SESSIONS:
        _SESSIONS[viewer] = Session()
    return _SESSIONS[viewer]
