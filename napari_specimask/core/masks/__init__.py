"""Mask operations that need no network: cold-start proposals, post-processing,
letterbox geometry (pad to square and back) and Dice / IoU.

May import: the core basics and ``io``. No torch.
"""
