"""A small live line plot (matplotlib in Qt) for loss / Dice curves and histories.

Redraws are coalesced (at most one per half second), the layout is fixed, and a plot out
of view (its dock behind another tab, or scrolled away) is rebuilt and rendered only when
it comes into view, because a matplotlib redraw costs tens of milliseconds on the GUI
thread and training reports every step.
"""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from qtpy.QtCore import QTimer

REDRAW_MS = 500
MARGINS_PX = {"left": 52, "right": 10, "top": 8, "bottom": 46}  # room for tick labels
MIN_HEIGHT_PX = 130


class LinePlot(FigureCanvasQTAgg):
    """``viewer``: follow its theme (light or dark), now and when it changes."""

    def __init__(self, xlabel: str, ylabel: str, height: float = 2.2, viewer=None):
        self.figure = Figure(figsize=(4, height), dpi=90)
        super().__init__(self.figure)
        self.setMinimumHeight(MIN_HEIGHT_PX)  # a crowded dock must not squash the axes
        self.ax = self.figure.add_subplot(111)
        self.xlabel, self.ylabel = xlabel, ylabel
        self.series: dict[str, tuple[list, list]] = {}
        self.colours = {"background": "white", "text": "black"}
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        if viewer is not None:
            self._follow_theme(viewer)
        self.clear()

    def _follow_theme(self, viewer) -> None:
        from napari.utils.theme import get_theme

        def apply(*_):
            theme = get_theme(viewer.theme)
            self.colours = {"background": theme.background.as_hex(),
                            "text": theme.text.as_hex()}
            self._schedule()

        viewer.events.theme.connect(apply)
        self.destroyed.connect(lambda *_: viewer.events.theme.disconnect(apply))
        apply()

    def resizeEvent(self, event) -> None:
        """Margins in pixels, not fractions: a dock squeezes the plot, and fractional
        margins then cut off the axis labels."""
        super().resizeEvent(event)
        w, h = max(self.width(), 100), max(self.height(), 80)
        m = MARGINS_PX
        self.figure.subplots_adjust(left=m["left"] / w, right=1 - m["right"] / w,
                                    top=1 - m["top"] / h, bottom=m["bottom"] / h)

    def clear(self) -> None:
        self.series = {}
        self._schedule()

    def add(self, name: str, x: float, y: float) -> None:
        xs, ys = self.series.setdefault(name, ([], []))
        xs.append(x)
        ys.append(y)
        self._schedule()

    def set(self, name: str, xs: list, ys: list) -> None:
        self.series[name] = (list(xs), list(ys))
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self) -> None:
        """Rebuild and draw the plot, if it is in view: rebuilding alone costs 30-40 ms
        of the GUI thread, and a plot in a dock behind another tab was rebuilt after
        every save. Out of view, it is rebuilt once it comes into view."""
        self._paint()  # the theme's colours: cheap
        if not self.in_view():
            self._hidden_changes = True
            return
        self.ax.clear()
        for name, (xs, ys) in self.series.items():
            self.ax.plot(xs, ys, marker="." if len(xs) < 30 else None, label=name)
        # steps, iterations, models: whole numbers, one tick even for a single point
        self.ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        self.ax.set_xlabel(self.xlabel)
        self.ax.set_ylabel(self.ylabel)
        self.ax.grid(alpha=0.3)
        if self.series:
            self.ax.legend(fontsize=8, facecolor=self.colours["background"],
                           labelcolor=self.colours["text"])
        self._paint()  # again: clearing the axes reset them
        self.draw_idle()

    def in_view(self) -> bool:
        """On screen: Qt 6 keeps the docks behind other tabs 'visible', with nothing of
        them in view."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def paintEvent(self, event) -> None:
        """Rebuilt when it comes into view (its tab raised), with what changed meanwhile."""
        if getattr(self, "_hidden_changes", False):
            self._hidden_changes = False
            self._schedule()
        super().paintEvent(event)

    def _paint(self) -> None:
        bg, fg = self.colours["background"], self.colours["text"]
        self.figure.set_facecolor(bg)
        self.ax.set_facecolor(bg)
        self.ax.tick_params(colors=fg)
        self.ax.xaxis.label.set_color(fg)
        self.ax.yaxis.label.set_color(fg)
        for spine in self.ax.spines.values():
            spine.set_color(fg)
