"""The state one viewer's specimask widgets share: an evented dataclass, one per viewer.

``session_for(viewer)`` finds it (held weakly: closing the viewer frees it). Its fields
are the state every widget reads, and each change is a signal (``session.events.project``,
``.canvas``, ``.queue``, ``.training``); a few payload signals carry what is not state
(``show_requested``, ``images_changed``, ``models_changed``). Widgets talk through it,
never to each other.

Switching projects goes through ``open`` / ``create``: the canvas's unsaved edits are
settled first, by the save / ask / discard setting, into the project they were painted
in (Annotate is the ``keeper``); then every layer made for the old project is removed
and the old project is closed. Nothing of one project is ever shown over, or saved into,
another.
"""

from __future__ import annotations

import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from napari.utils.notifications import show_warning
from psygnal import Signal, evented

from napari_specimask.core.store.project import ImageRef, Project
from napari_specimask.core.store.registry import active_version
from napari_specimask.core.training.config import TrainConfig
from napari_specimask.core.vocabulary import Status

_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Canvas:
    """The image on the canvas and the project it was opened from: a save of what is
    painted goes there, whatever project the widgets show by then."""

    project: Project
    image: ImageRef

    @property
    def image_id(self) -> int:
        return self.image.image_id


class CanvasKeeper(Protocol):
    """Who holds the canvas's edits (the Annotate widget)."""

    def settle(self, question: str) -> bool:
        """Save, ask about or discard the unsaved edits (by the setting), into their own
        project; False when the person chose to stay (Cancel)."""

    def flush(self) -> None:
        """Wait for the saves under way to be written."""

    def discard(self) -> None:
        """Drop the unsaved edits (the person said so), their draft too."""

    def unsaved_image(self) -> int | None:
        """The shown image's id while it has unsaved edits."""


@evented
@dataclass(eq=False)
class Session:
    project: Project | None = None
    canvas: Canvas | None = None        # what Annotate shows (None: nothing)
    queue: tuple[int, ...] = ()          # the batch Annotate steps through
    training: TrainConfig | None = None  # the training options in use, before the schedule

    show_requested: ClassVar[Signal] = Signal(int)   # an image id for Annotate to show
    images_changed: ClassVar[Signal] = Signal()      # statuses, roles or masks changed
    models_changed: ClassVar[Signal] = Signal()      # a model was trained or activated

    def __post_init__(self):
        self._viewer = None   # a weak reference to the viewer (``session_for``)
        self._keeper = None   # a weak reference to the CanvasKeeper
        self._layers: list[str] = []  # names of the layers made for the open project

    # -- the project -------------------------------------------------------------------

    def open(self, root: str | Path) -> Project | None:
        """Open the project at ``root`` in these widgets, after the canvas's edits are
        settled; None (nothing changed) when the person cancels. A folder that is not a
        project raises before anything of the open one is touched."""
        if not self.settle_canvas("Open another project: save your edits to this mask "
                                  "first?"):
            return None
        project = Project.open(root)
        self._switch(project)
        return project

    def create(self, root: str | Path) -> Project | None:
        """Make a new project at ``root`` and show it, as ``open`` does."""
        if not self.settle_canvas("Create another project: save your edits to this mask "
                                  "first?"):
            return None
        project = Project.create(root)
        self._switch(project)
        return project

    def set_project(self, project: Project) -> bool:
        """Show an open ``project`` (the launcher's, a test's), as ``open`` does."""
        if not self.settle_canvas("Switch project: save your edits to this mask first?"):
            project.close()
            return False
        self._switch(project)
        return True

    def close(self) -> bool:
        """Close the project (the viewer is closing): edits settled, layers removed."""
        if self.project is None:
            return True
        if not self.settle_canvas("Close the project: save your edits to this mask?"):
            return False
        self._switch(None)
        return True

    def _switch(self, project: Project | None) -> None:
        old = self.project
        self.canvas = None  # first: widgets put their views away (QA's grid) ...
        self.remove_layers()  # ... before the layers made for the old project go
        self.queue = ()
        self.training = TrainConfig.from_settings(project.settings) if project else None
        self.project = project
        if old is not None and old is not project:
            old.close()
        if project is not None:
            if project.recovered:  # what a killed process left, tidied when it was opened
                show_warning(f"{project.root.name}: {project.recovered}")
            self.queue = tuple(project.image_ids(status=Status.QUEUED))

    @property
    def active_model(self) -> str | None:
        return active_version(self.project) if self.project else None

    def set_queue(self, ids) -> None:
        self.queue = tuple(ids)

    # -- the canvas --------------------------------------------------------------------

    def set_keeper(self, keeper: CanvasKeeper) -> None:
        """Annotate offers itself as the holder of the canvas's edits (held weakly)."""
        self._keeper = weakref.ref(keeper)

    def settle_canvas(self, question: str) -> bool:
        """Settle the canvas's unsaved edits and wait for saves under way; False when
        the person chose to stay."""
        keeper = self._keeper() if self._keeper is not None else None
        try:
            if keeper is None or not keeper.settle(question):
                return keeper is None
            keeper.flush()
        except RuntimeError:  # its Qt side is already deleted: nothing on the canvas
            return True
        return True

    def discard_edits(self) -> None:
        """Drop the canvas's unsaved edits: the person chose to (asked by another widget
        whose work replaces the image's proposal)."""
        keeper = self._keeper() if self._keeper is not None else None
        if keeper is not None:
            keeper.discard()

    def unsaved_edits(self) -> int | None:
        """The id of the image on the canvas while it has unsaved edits (asked before
        work that would replace that image's proposal), else None."""
        keeper = self._keeper() if self._keeper is not None else None
        try:
            return keeper.unsaved_image() if keeper is not None else None
        except RuntimeError:
            return None

    # -- layers ------------------------------------------------------------------------

    def own(self, layer):
        """Note ``layer`` as made for the open project (removed when it closes)."""
        if layer.name not in self._layers:
            self._layers.append(layer.name)
        return layer

    def remove_layers(self) -> None:
        viewer = self._viewer() if self._viewer is not None else None
        names, self._layers = self._layers, []
        if viewer is None:
            return
        for name in names:
            if name in viewer.layers:
                viewer.layers.remove(name)

    # -- training options --------------------------------------------------------------

    def run_training(self, **overrides) -> TrainConfig:
        """What a run trains with (Train, a round): the options in use (the Train form's,
        else specimask.toml's) and ``overrides``, with this iteration's schedule added by
        the rule every run follows (``TrainConfig.from_settings``)."""
        base = self.training or TrainConfig.from_settings(self.project.settings)
        given = {k: v for k, v in overrides.items() if v is not None}
        return TrainConfig.from_settings(self.project.settings,
                                         self.project.summary()["iteration"],
                                         **{**_fields(base), **given})


def _fields(cfg: TrainConfig) -> dict:
    return {k: v for k, v in asdict(cfg).items() if k != "iteration"}


def listen(owner, signal, slot) -> None:
    """Connect ``slot`` to a session ``signal`` for as long as the Qt object ``owner``
    lives: a dock napari closed is deleted on the C++ side while Python still holds it,
    and a session signal reaching it then would raise inside the emit."""
    signal.connect(slot)
    owner.destroyed.connect(lambda *_: signal.disconnect(slot, missing_ok=True))


def session_for(viewer) -> Session:
    """The viewer's session (made on first use)."""
    if viewer not in _SESSIONS:
        session = Session()
        session._viewer = weakref.ref(viewer)
        _SESSIONS[viewer] = session
    return _SESSIONS[viewer]
