"""Headless core: pure Python, numpy and (later) torch. Never imports napari, Qt or magicgui."""
