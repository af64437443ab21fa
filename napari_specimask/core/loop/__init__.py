"""The product's rules where training and selection meet: the gate (a model replaces the
proposals people see only when it is better), continuous training, the project's
cold-start choice and a round (train, keep the better model, select the next batch).
Experiments that measure the loop live in ``napari_specimask.sim``.

May import: anything in core.
"""
