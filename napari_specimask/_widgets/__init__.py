"""The napari dock widgets: wiring and display over ``napari_specimask.core``.

Importing this package changes nothing in the process. napari.yaml names each widget
class through it (``napari_specimask._widgets:TrainWidget``), so that asking for a
widget first applies the triton guard (``_process.keep_triton_out``): a widget's module
imports the torch stack, and napari asks once its OpenGL context exists.
"""

from __future__ import annotations

from importlib import import_module

WIDGET_MODULES = {
    "ProjectWidget": "project_widget",
    "AnnotateWidget": "annotate_widget",
    "ActiveLearningWidget": "active_learning_widget",
    "TrainWidget": "train_widget",
    "PredictionsWidget": "predictions_widget",
    "QAWidget": "qa_widget",
    "ExchangeWidget": "exchange_widget",
}


def __getattr__(name: str):
    """A widget class by name, its module imported behind the triton guard."""
    if name not in WIDGET_MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ._process import keep_triton_out

    keep_triton_out()
    return getattr(import_module(f"{__name__}.{WIDGET_MODULES[name]}"), name)
