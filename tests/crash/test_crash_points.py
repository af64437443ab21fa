"""A real `specimask` process SIGKILLed at each step of a save, an import, a training and a
selection: afterwards the project must hold together and keep every acknowledged save, and
re-running the command must finish the job (checks in benchmarks/kill_loop.py)."""

from __future__ import annotations

import pytest

POINTS = [
    # a person's save: staged temp file, renamed into place, before and after COMMIT
    ("annotate", "mask.staged:3"), ("annotate", "mask.renamed:3"),
    ("annotate", "mask.before_commit:3"), ("annotate", "mask.after_commit:3"),
    # import with masks: image row written, mask renamed, before COMMIT of the pair
    ("import", "image.added:4"), ("import", "mask.renamed:4"),
    ("import", "image.before_commit:4"),
    # training: best weights staged, not yet renamed (the 57 MB temp file)
    ("train", "weights.staged"),
    # selection: proposals written, iteration not yet recorded
    ("select", "selection.proposals_written"),
]


@pytest.mark.parametrize(("scenario", "point"), POINTS)
def test_kill_at_each_step_loses_nothing(kill_loop, workspace, scenario, point):
    killed, outcome = kill_loop.trial(workspace, scenario, kill_at=point)
    assert killed, f"{scenario} never reached {point}"
    assert outcome.problems == []
    assert outcome.lost == 0
