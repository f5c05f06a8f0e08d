"""Everything PySide6: the main window, its panes, shared widgets, the error presenter."""
