"""The next-token chart pictures XTC's cut: with XTC on, the candidates it sets aside are marked in the chart."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDoubleSpinBox

from app.ui.sampling.chart import NextTokenChart

XTC_ORANGE = QColor("#e8710a")
# " the" and " a" are both likely; " an" is the least likely choice still above a 10% threshold
CANDIDATES = [(" the", 1, 5.0), (" a", 2, 4.8), (" an", 3, 4.2), (" one", 4, 1.0), (" two", 5, 0.5)]


@pytest.fixture
def window(qtbot, fake_engine_window):
    fake_engine_window.bridge.load("/fake.gguf")
    qtbot.waitUntil(lambda: fake_engine_window.bridge.free)
    return fake_engine_window


def _marked_rows(chart: NextTokenChart) -> list[int]:
    """Rows whose label edge is painted in XTC's orange, read from the chart's own pixels."""
    chart.resize(420, chart.sizeHint().height())
    image = chart.grab().toImage()
    rows = []
    for i in range(len(chart.rows())):
        y = 20 + i * 16 + 8
        if any(image.pixelColor(x, y) == XTC_ORANGE for x in range(80, 92)):
            rows.append(i)
    return rows


def test_the_chart_shows_xtcs_cut_with_xtc_on(qtbot, window) -> None:
    panel = window.sampling
    panel.controls["temperature"].slider.setValue(100)
    for field, value in (("top_k", 0), ("top_p", 1.0), ("min_p", 0.0)):
        panel.controls[field].spin.setValue(value)
    panel.set_candidates(CANDIDATES, 5.9)
    chart = panel.chart
    assert chart.xtc_rows() == [] and _marked_rows(chart) == []  # XTC off: nothing is marked

    window.findChild(QDoubleSpinBox, "xtcThresholdSpin").setValue(0.1)
    window.findChild(QDoubleSpinBox, "xtcProbabilitySpin").setValue(1.0)  # fires at every token

    labels = [label for label, _, _ in chart.rows()]
    assert chart.xtc_rows() == ["␣the", "␣a"]  # all the top choices but the least likely of them
    assert _marked_rows(chart) == [labels.index("␣the"), labels.index("␣a")]  # and the picture says so
    after = {label: a for label, _, a in chart.rows()}
    assert after["␣the"] == 0.0 and after["␣a"] == 0.0 and after["␣an"] > 0.5  # what XTC leaves is on top

    window.findChild(QDoubleSpinBox, "xtcProbabilitySpin").setValue(0.0)  # off again: the mark goes
    assert chart.xtc_rows() == [] and _marked_rows(chart) == []
