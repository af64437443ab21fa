"""Run a core job generator under a terminal progress bar."""

from __future__ import annotations

import sys

from tqdm import tqdm

from napari_specimask.core.progress import Job, T


def drive(job: Job[T], desc: str) -> T:
    # disable=None hides the bar when stderr is not a terminal (CI logs, pipes).
    with ProgressBar(desc) as bar:
        while True:
            try:
                bar.update(next(job))
            except StopIteration as done:
                return done.value


class ProgressBar:
    """A tqdm bar fed by progress reports (for callback-style jobs such as training)."""

    def __init__(self, desc: str, unit: str = "img"):
        self.bar = tqdm(desc=desc, unit=unit, file=sys.stderr, disable=None, leave=False,
                        miniters=1)  # with mininterval (0.1 s): at most 10 redraws a second

    def update(self, p) -> None:
        """Show a report: done / total, the rate and the time left (tqdm's, smoothed over
        the last few seconds, so a re-run's quick skips do not promise too early an end)."""
        if self.bar.total != p.total:
            self.bar.reset(total=p.total)  # a new stage: its own clock, rate and ETA
        self.bar.set_postfix_str(p.message[-60:], refresh=False)
        if p.done > self.bar.n:
            self.bar.update(p.done - self.bar.n)
        else:
            self.bar.n = p.done
            self.bar.refresh()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
