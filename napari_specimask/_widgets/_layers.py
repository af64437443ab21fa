"""Show data in a named layer, reusing the layer when it exists (keeps the person's
layer settings, and updating data is cheaper than adding a layer)."""

from __future__ import annotations


def put_image(viewer, name: str, data, **kwargs):
    if name in viewer.layers:
        layer = viewer.layers[name]
        layer.data = data
        if "contrast_limits" in kwargs:
            layer.contrast_limits = kwargs["contrast_limits"]
        return layer
    return viewer.add_image(data, name=name, **kwargs)


def put_labels(viewer, name: str, data, colours: dict, opacity: float = 0.5):
    if name in viewer.layers:
        viewer.layers[name].data = data
        return viewer.layers[name]
    layer = viewer.add_labels(data, name=name, opacity=opacity)
    layer.colormap = {**colours, None: "transparent"}
    return layer


def fit_view_to(viewer, layer) -> None:
    """Fit the view to one layer (napari >= 0.7 takes ``layers=``; older ones fit all)."""
    try:
        viewer.reset_view(layers=[layer])
    except TypeError:
        viewer.reset_view()
