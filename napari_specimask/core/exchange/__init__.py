"""What comes in and goes out of a project: image and mask import, Label Studio, export
(PNG / TIFF, cut-outs, COCO, provenance) and held-out splits.

May import: the core basics, ``io``, ``store`` and ``masks``. No torch.
"""
