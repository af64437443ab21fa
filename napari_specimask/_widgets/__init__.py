"""The napari dock widgets: wiring and display over ``napari_specimask.core``."""
