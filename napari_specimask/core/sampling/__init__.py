"""Stratified, taxon-weighted sampling of a large collection: its taxon table read
(``taxon_tables``), a sample drawn and written (``stratified``).

May import: the core basics and ``io``. No torch.
"""
