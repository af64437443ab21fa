"""napari-specimask: human-in-the-loop specimen masks for napari and the command line."""

__version__ = "0.1.0"
