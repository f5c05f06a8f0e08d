"""The mouse wheel scrolls the page unless the control under the pointer has focus (the usual Qt remedy).

A form of sliders and spin boxes in a scroll area (the Sampling pane) is
scrolled with the wheel; without this, the control that happens to pass under
the pointer takes the wheel instead and its value changes (Typical-p 1.00 → 0.79)
while the person only meant to scroll. A control takes the wheel once it has
focus (clicked or tabbed to); the wheel no longer gives focus.
"""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QWidget

GUARDED = (QAbstractSlider, QAbstractSpinBox, QComboBox)


class WheelGuard(QObject):
    """An event filter: a wheel event over an unfocused control scrolls the area around it instead."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        area = _scroll_area_of(watched)
        if area is None:  # not accepted: Qt offers a real wheel event to the parent widgets
            event.ignore()
            return True
        # handed to the scroll area itself (a filtered event is not passed on to parents when it was
        # made by a program rather than the mouse, so this does not rely on Qt's propagation)
        wheel = cast(QWheelEvent, event)
        at = QPointF(area.viewport().mapFromGlobal(wheel.globalPosition().toPoint()))
        scroll = QWheelEvent(at, wheel.globalPosition(), wheel.pixelDelta(), wheel.angleDelta(), wheel.buttons(),
                             wheel.modifiers(), wheel.phase(), wheel.inverted(), wheel.source())
        QApplication.sendEvent(area.viewport(), scroll)
        return True


def _scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def guard_wheel(root: QWidget) -> WheelGuard:
    """Every slider, spin box and combo box under ``root`` takes the wheel only when it has focus."""
    guard = WheelGuard(root)
    for widget in root.findChildren(QWidget):
        if isinstance(widget, GUARDED):
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel does not give focus either
            widget.installEventFilter(guard)
    return guard
