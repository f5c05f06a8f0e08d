"""The look: a light stylesheet from resources/, with message bubbles and notices styled by role."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

STYLE = Path(__file__).resolve().parents[2] / "resources" / "style.qss"
FALLBACK = """
QFrame#message-user { background: #eef4ff; border: 1px solid #c9dafc; border-radius: 8px; }
QFrame#message-assistant { background: #ffffff; border: 1px solid #d8dee4; border-radius: 8px; }
QLabel#messageStatus, QLabel#settingHelp { color: #57606a; font-size: 11px; }
QLabel#messageError { color: #b42318; }
QLabel#transcriptNotice { color: #7a4d00; background: #fff5d6; padding: 6px; border-radius: 6px; }
QFrame#noticeBar { background: #fde8e8; border-bottom: 1px solid #f3b7b7; }
QFrame#noticeBar[level="info"] { background: #e8f1fd; border-bottom: 1px solid #b7cff3; }
QScrollArea#noticeScroll, QScrollArea#noticeScroll > QWidget > QWidget { background: transparent; }
QWidget#transcriptColumn { background: #f6f8fa; }
QLabel#emptyTranscript { color: #8c959f; font-size: 15px; padding: 40px; }
QLabel#engineStatus[state="error"] { color: #b42318; }
QLabel#engineStatus[state="generating"] { color: #1a7f37; }
QFrame#part-thinking QLabel#thinkingText, QToolButton#thinkingToggle { color: #6e7781; }
QFrame#part-thinking { border-left: 2px solid #d0d7de; }
QFrame#part-tool_call, QFrame#part-tool_result { background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; }
QFrame#part-tool_result[error="true"] { border-color: #f3b7b7; }
QLabel#partTitle { font-weight: bold; font-size: 11px; color: #57606a; }
QLabel#toolArguments, QLabel#toolContent { font-family: monospace; }
QFrame#part-citation QLabel { font-size: 11px; color: #57606a; }
"""


def apply_theme(app: QApplication) -> None:
    try:
        style = STYLE.read_text(encoding="utf-8")
    except OSError:
        style = FALLBACK
    app.setStyleSheet(style)
