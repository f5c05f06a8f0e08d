"""One Inkling per data folder: a second launch hands its files to the first and quits.

Two windows on one SQLite file would fight over it, and "Open with Inkling" on a
.gguf while Inkling runs should load the model in the window already open. The
first instance listens on a QLocalServer named after its data folder; a later
launch connects, sends its file arguments as one JSON line, waits for "ok" and
exits. The first instance raises its window and opens the files.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget


def server_name(data_dir: Path) -> str:
    """A name unique to this user and data folder (short: a Unix socket path has ~100 bytes)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    digest = hashlib.sha256(f"{user}\0{Path(data_dir).resolve()}".encode()).hexdigest()[:16]
    return f"inkling-{digest}"


def hand_over(name: str, files: list[str], timeout_ms: int = 3000) -> bool:
    """Give ``files`` to a running instance; False when none answers (then this launch is the first)."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write((json.dumps({"files": files}) + "\n").encode())
    sock.flush()  # (waitForBytesWritten is False when flush already wrote everything: don't ask it)
    answer = b""
    while not answer.startswith(b"ok") and sock.waitForReadyRead(timeout_ms):
        answer += bytes(sock.readAll())
    sock.abort()
    return answer.startswith(b"ok")


class SingleInstance(QObject):
    """The first instance's listener. ``files_received`` carries each later launch's files."""

    files_received = Signal(list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_new_connection)

    def listen(self) -> bool:
        """Start listening, unless another instance answers on the name (Qt's listen() would take it over).

        A socket file left by a crashed instance answers nobody and is removed first.
        """
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(500):
            probe.abort()
            return False
        QLocalServer.removeServer(self.name)
        return self.server.listen(self.name)

    def close(self) -> None:
        self.server.close()

    def _on_new_connection(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            buffer = bytearray()

            def read(sock: QLocalSocket = sock, buffer: bytearray = buffer) -> None:
                buffer.extend(bytes(sock.readAll()))
                if b"\n" not in buffer:
                    return
                try:
                    files = [str(f) for f in json.loads(buffer.split(b"\n", 1)[0]).get("files", [])]
                except (ValueError, AttributeError):
                    files = []
                sock.write(b"ok\n")
                sock.flush()
                sock.disconnectFromServer()
                self.files_received.emit(files)

            sock.readyRead.connect(read)
            sock.disconnected.connect(sock.deleteLater)
            if sock.bytesAvailable():
                read()


def bring_to_front(window: QWidget) -> None:
    """Show, un-minimise, raise and focus the window (as far as the window manager allows)."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()


class FileOpenFilter(QObject):
    """macOS hands "Open with" files to a running app as QFileOpenEvent, not as arguments."""

    files_opened = Signal(list)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent) and event.file():
            self.files_opened.emit([event.file()])
            return True
        return super().eventFilter(watched, event)
