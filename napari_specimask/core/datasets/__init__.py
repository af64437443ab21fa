"""Public data sets of specimen masks: downloaded, checked against their checksums and
cleaned into image / mask folders (the Ferns of herbarium sheets, Half-Earth's sheets).

May import: the core basics and ``io``. No torch.
"""
