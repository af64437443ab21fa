"""A settings dataclass as a magicgui form, built from its fields' ``Option`` (help,
choices, range, label): the Train widget's form is generated, not written by hand."""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, is_dataclass

from magicgui.widgets import CheckBox, ComboBox, Container, Widget, create_widget
from psygnal import Signal
from qtpy.QtWidgets import QComboBox, QFormLayout, QVBoxLayout, QWidget

from napari_specimask.core.options import Offered, offered

BIG = 10**9  # magicgui's spin boxes stop at 999 unless told


class CheckList(Container):
    """One checkbox per choice: a list option (loggers, cold-start roles)."""

    def __init__(self, choices, **kwargs):
        super().__init__(layout="horizontal", labels=False, **kwargs,
                         widgets=[CheckBox(name=c, text=c) for c in choices])
        self.margins = (0, 0, 0, 0)

    @property
    def value(self) -> list[str]:
        return [w.name for w in self if w.value]

    @value.setter
    def value(self, values) -> None:
        for w in self:
            w.value = w.name in values


class EditableComboBox(ComboBox):
    """The offered values in a list, and anything typed (a weights file, a count)."""

    def __init__(self, suggestions, **kwargs):
        super().__init__(choices=suggestions, **kwargs)
        self.native.setEditable(True)
        self.native.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)

    @property
    def value(self) -> str:
        return self.native.currentText()

    @value.setter
    def value(self, text) -> None:
        self.native.setCurrentText(str(text))


def option_widget(o: Offered) -> Widget:
    """The widget for one option, showing its default."""
    opt = o.option
    label = o.label
    tooltip = opt.tip or opt.help
    if o.kind is list:
        w = CheckList(opt.choices, name=o.name, label=label, tooltip=tooltip)
    elif opt.suggestions:
        w = EditableComboBox(opt.suggestions, name=o.name, label=label, tooltip=tooltip)
    else:
        options = {"tooltip": tooltip, **({"choices": opt.choices} if opt.choices else {})}
        if o.kind in (int, float):
            options.update(min=opt.min if opt.min is not None else 0,
                           max=opt.max if opt.max is not None else BIG)
            if opt.step is not None:
                options["step"] = opt.step
        w = create_widget(annotation=o.kind, name=o.name, label=label, options=options)
        if o.kind in (int, float):
            # a number is taken when typing ends (Enter, leaving the field): with keyboard
            # tracking, superqt's spin box clamps each keystroke, so "256" typed over 512
            # became 32 ("2" is below the minimum) and then 3256
            w.native.setKeyboardTracking(False)
        if o.kind is float and options["min"] > 0:  # show the smallest allowed value
            w.native.setDecimals(max(w.native.decimals(), math.ceil(-math.log10(options["min"]))))
    set_value(w, o.default)
    return w


def set_value(w: Widget, value) -> None:
    """Clamped to a spin box's range, as Qt does; a value outside a list's choices (a
    hand-edited specimask.toml) leaves the widget as it was."""
    if hasattr(w, "min") and hasattr(w, "max"):
        value = min(max(value, w.min), w.max)
    with contextlib.suppress(ValueError):
        w.value = value


class SettingsForm:
    """The offered fields of ``cls``: ``main`` in the form, the rest under *more options*.
    Fields are reached by name: ``form.epochs.value = 3``. Rows sit in Qt form layouts,
    which align labels in napari's font (magicgui's containers measure another one).
    ``changed`` fires when a value is set (a number once typing is finished)."""

    changed = Signal()

    def __init__(self, cls):
        self.options = [o for o in offered(cls) if o.option.form]
        self.widgets = {o.name: option_widget(o) for o in self.options}
        self.native = QWidget()
        self.main, self.more = QFormLayout(), QWidget()
        self.more.setLayout(QFormLayout())
        self.more.layout().setContentsMargins(0, 0, 0, 0)
        self.more.hide()
        self.show_more = CheckBox(text="more options")
        self.show_more.changed.connect(lambda on: self.more.setVisible(on))
        for o in self.options:
            self.add_row(self.widgets[o.name], more=o.option.form == "more")
            self.widgets[o.name].changed.connect(lambda *_: self.changed.emit())
        layout = QVBoxLayout(self.native)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.main)
        layout.addWidget(self.show_more.native)
        layout.addWidget(self.more)

    def add_row(self, w: Widget, more: bool = False) -> None:
        """A labelled row (a checkbox carries its own label)."""
        form = self.more.layout() if more else self.main
        if isinstance(w, CheckBox):
            form.addRow(w.native)
        else:
            form.addRow(w.label, w.native)

    def __getattr__(self, name: str) -> Widget:
        try:
            return self.__dict__["widgets"][name]
        except KeyError:
            raise AttributeError(name) from None

    def values(self) -> dict:
        return {name: w.value for name, w in self.widgets.items()}

    def set_values(self, values) -> None:
        """From a dataclass (a TrainConfig) or a dict; names the form lacks are ignored."""
        values = asdict(values) if is_dataclass(values) else values
        for name, w in self.widgets.items():
            if name in values:
                set_value(w, values[name])
