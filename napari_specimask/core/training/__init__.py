"""Training a model version: samples and weighting, augmentation presets, the Lightning
module and data module, fitting with progress and stop, learning-rate range test, grid
search.

May import: the core basics, ``io``, ``store``, ``masks``, ``model`` and ``inference``.
"""
