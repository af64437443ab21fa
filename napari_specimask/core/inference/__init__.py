"""Using a model version: batched prediction at original size, test-time augmentation and
uncertainty, the per-version prediction cache, QA against verified masks.

May import: the core basics, ``io``, ``store``, ``masks`` and ``model``.
"""
