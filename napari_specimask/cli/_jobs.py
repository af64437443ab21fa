"""Run a core job generator under a terminal progress bar."""

from __future__ import annotations

import sys

from tqdm import tqdm

from napari_specimask.core.progress import Job, T


def drive(job: Job[T], desc: str) -> T:
    # disable=None hides the bar when stderr is not a terminal (CI logs, pipes).
    with tqdm(desc=desc, unit="img", file=sys.stderr, disable=None, leave=False) as bar:
        while True:
            try:
                p = next(job)
            except StopIteration as done:
                return done.value
            if bar.total != p.total:
                bar.total = p.total
            bar.n = p.done
            bar.set_postfix_str(p.message[-40:], refresh=False)
            bar.refresh()
