"""Files in and out: decoding images and masks, atomic writes, hashing, folder listing,
downloads and archive extraction.

May import: the core basics (errors, progress). No torch, no project store.
"""
