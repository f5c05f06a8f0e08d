"""Help ▸ About Inkling and Help ▸ Check this computer.

The window never imports llama.cpp, so what llama.cpp itself knows (its build, the
CPU backend variant it chose, GPU offload) comes from ``inkling selftest --info``
run as a separate process; the check runs ``inkling selftest`` the same way and
shows its report as it is written.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, QProcess, Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QFont, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.core.events import ModelInfo
from app.core.paths import AppPaths


def inkling_command(*args: str) -> tuple[str, list[str]]:
    """Program and arguments that run this Inkling's command line (the bundle's executable, or python -m app)."""
    if getattr(sys, "frozen", False):
        return sys.executable, list(args)
    return sys.executable, ["-m", "app", *args]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def open_folder(path: object) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class AboutDialog(QDialog):
    """Versions, the CPU backend, GPU offload and Inkling's folders with "Open folder" buttons."""

    def __init__(self, paths: AppPaths, model: ModelInfo | None, parent: QWidget | None = None,
                 model_name: str = "") -> None:
        """`model_name`: the name the rest of the window gives the model (the library's), not the GGUF's own."""
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Inkling")
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()

        def field(key: str, label: str, value: str) -> None:
            widget = QLabel(value)
            widget.setObjectName(f"about_{key}")
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            widget.setWordWrap(True)
            self.fields[key] = widget
            form.addRow(label, widget)

        pending = "asking llama.cpp…"
        field("inkling", "Inkling", __version__)
        field("llama_cpp", "llama.cpp", pending)
        field("llama_cpp_python", "llama-cpp-python", _version("llama-cpp-python"))
        field("qt", "Qt", f"{qVersion()} (PySide6 {pyside_version})")
        field("python", "Python", f"{platform.python_version()} on {platform.system()} {platform.machine()}")
        field("cpu_variant", "CPU backend", pending)
        field("gpu", "GPU offload", ("yes" if model.gpu_offload_supported else "no") if model else pending)
        field("model", "Model", f"{model_name or model.name} ({model.path})" if model else "none loaded")
        self.folder_buttons: dict[str, QPushButton] = {}
        for key, label, folder in (("data", "Data", paths.data), ("models", "Models", paths.models),
                                   ("logs", "Logs", paths.logs), ("config", "Settings", paths.config)):
            row = QHBoxLayout()
            text = QLabel(str(folder))
            text.setObjectName(f"about_folder_{key}")
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            button = QPushButton("Open folder")
            button.setObjectName(f"openFolder_{key}")
            button.clicked.connect(lambda _=False, f=folder: open_folder(f))
            self.folder_buttons[key] = button
            row.addWidget(text, 1)
            row.addWidget(button)
            form.addRow(label, row)
        intro = QLabel("<h3>Inkling</h3><p>Offline chat and writing with language models that run on this "
                       "computer. Nothing leaves it.</p>")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

        self.process = QProcess(self)
        self.process.finished.connect(self._on_info_finished)
        self.process.errorOccurred.connect(lambda *_: self._fill({"error": self.process.errorString()}))
        program, args = inkling_command("selftest", "--info")
        self.process.start(program, args)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:  # a value changed: it may wrap onto more lines now
            self._fit_height()
        return handled

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        """Give every wrapped row its full height at the dialog's width.

        A window does not follow its layout's height-for-width by itself: it keeps the height
        it opened with, and the form squeezes rows whose values (filled in later by llama.cpp's
        answer, or narrowed by the user) now wrap onto more lines.
        """
        layout = self.layout()
        if layout is None:
            return
        needed = layout.totalHeightForWidth(self.width())
        if needed > 0 and self.minimumHeight() != needed:
            self.setMinimumHeight(needed)
        if needed > self.height():
            self.resize(self.width(), needed)

    def _on_info_finished(self, *_: object) -> None:
        raw = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace").strip().splitlines()
        try:
            info = json.loads(raw[-1]) if raw else {"error": "no answer"}
        except ValueError:
            info = {"error": raw[-1][:200]}
        self._fill(info)

    def _fill(self, info: dict[str, object]) -> None:
        if "error" in info:
            for key in ("llama_cpp", "cpu_variant", "gpu"):
                if self.fields[key].text().startswith("asking"):
                    self.fields[key].setText(f"unknown ({info['error']})")
            return
        self.fields["llama_cpp"].setText(str(info.get("llama_cpp", "")))
        variant = str(info.get("cpu_variant", ""))
        features = " ".join(info.get("cpu_features", []) or [])  # type: ignore[arg-type]
        how = "chosen at run time for this CPU" if info.get("dynamic_backends") else "built for one CPU type"
        skipped = "".join(f"; {name} skipped: {why}" for name, why in info.get("cpu_skipped", []) or [])  # type: ignore[misc]
        self.fields["cpu_variant"].setText(f"{variant} ({how}){': ' + features if features else ''}{skipped}")
        self.fields["gpu"].setText("yes" if info.get("gpu_offload") else "no (CPU only)")

    def done(self, result: int) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()
            self.process.waitForFinished(2000)
        super().done(result)


class CheckDialog(QDialog):
    """Runs ``inkling selftest`` and shows its report and verdict."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checkDialog")
        self.setWindowTitle("Check this computer")
        self.resize(720, 420)
        self.output = QPlainTextEdit()
        self.output.setObjectName("checkOutput")
        self.output.setReadOnly(True)
        self.output.setFont(QFont("monospace"))
        self.verdict = QLabel("Loading the starter model and generating a few tokens…")
        self.verdict.setObjectName("checkVerdict")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addWidget(self.output, 1)
        layout.addWidget(buttons)
        self.exit_code: int | None = None
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._on_output)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)
        program, args = inkling_command("selftest")
        self.process.start(program, args)

    def _on_output(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self.output.moveCursor(self.output.textCursor().MoveOperation.End)
        self.output.insertPlainText(text)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._on_output()
        self.exit_code = code if status == QProcess.ExitStatus.NormalExit else -1
        if self.exit_code == 0:
            self.verdict.setText("✔ This computer runs this build of Inkling.")
        elif status != QProcess.ExitStatus.NormalExit:
            self.verdict.setText("✘ The check crashed: this build of llama.cpp may use CPU instructions this "
                                 "computer lacks. The report below shows how far it got.")
        else:
            self.verdict.setText("✘ The check failed; the report below says why.")

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.verdict.setText(f"✘ Could not start the check: {self.process.errorString()}")
            self.exit_code = -1

    def done(self, result: int) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()
            self.process.waitForFinished(2000)
        super().done(result)
