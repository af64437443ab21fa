"""Whole collections: public data sets (download, clean), taxon tables, stratified
sampling of a large collection, and the synthetic demo set.

May import: the core basics, ``io``, ``store``, ``masks`` and ``exchange``. No torch.
"""
