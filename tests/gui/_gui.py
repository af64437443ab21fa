"""What GUI tests do as a person does, shared by the test modules of tests/gui."""

from __future__ import annotations

from qtpy.QtCore import Qt


def click(qtbot, button) -> None:
    """A left click on an enabled button (a disabled one is a failure, not a no-op)."""
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
