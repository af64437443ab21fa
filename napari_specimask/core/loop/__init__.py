"""The active-learning loop: a round (train, keep the better model, select the next batch)
and a simulated loop with an oracle. The one place training and selection meet.

May import: anything in core.
"""
