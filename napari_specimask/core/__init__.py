"""The headless pipeline. Never imports napari, Qt or magicgui. The subpackages are
listed in their import order: each imports only some of those above it
(tests/test_packaging.py); docs/development.md walks one image through them.

- errors, progress, settings, vocabulary: the small basics any subpackage may use
- io: files in and out (images, masks, atomic writes, hashing, downloads, archives)
- store: the project on disk (SQLite store, project folder, model registry, all SQL)
- masks: mask operations without a network (cold start, post-processing, Dice / IoU)
- exchange: what comes in and goes out (image and mask import, Label Studio, export)
- collections: whole collections (public data sets, taxon tables, sampling, demo data)
- model: the network (factory, losses, weights format and loading, removal)
- inference: using a model version (prediction, TTA, prediction cache, QA)
- training: making a model version (samples, augmentation, fit, lr finder, grid)
- active: choosing what to annotate next (scores, strategies, queue, annotations)
- loop: the rules where training meets selection (the gate, continuous training, the
  cold-start choice, a round)
"""
