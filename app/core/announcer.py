"""One way for a core owner to say what changed: ``subscribe`` a listener, ``_announce`` to all of them.

The owners of what is stored — ``ChatSession``, ``PresetStore``,
``ConnectionStore``, ``ModelList`` — are the only writers of their state, and
after each change they tell whoever subscribed (napari's evented model, Anki's
change notices). Views subscribe and re-render; they never write storage.
Listeners are called on the thread that made the change (the GUI thread for
every owner here), in the order they subscribed; a listener added twice is
called once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Announcer(Generic[P]):
    """A list of listeners, each called with the same arguments after every change."""

    def __init__(self) -> None:
        self._listeners: list[Callable[P, None]] = []

    def subscribe(self, listener: Callable[P, None]) -> None:
        """Be told of every later change."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[P, None]) -> None:
        """Stop being told (a view that goes away); unknown listeners are ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _announce(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for listener in list(self._listeners):  # a listener may subscribe or unsubscribe while told
            listener(*args, **kwargs)
