"""Choosing what a person annotates next: TTA scores per image, selection strategies that
only choose, the queue that records an iteration and writes its proposals, and the
accepted-vs-corrected bookkeeping.

May import: the core basics, ``io``, ``store``, ``masks``, ``model``, ``inference`` and
``exchange``; never ``training`` (a round that trains is ``loop``'s business).
"""
