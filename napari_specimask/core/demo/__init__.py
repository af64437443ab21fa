"""The synthetic demo set (herbarium sheets and plankton drawn from shapes, with their
true masks) and the demo project made from it: what tests, benchmarks and a first try
run on, offline.

May import: the core basics, ``io``, ``store``, ``masks``, ``coldstart`` and
``exchange``. No torch.
"""
