"""The Models pane: library, Hub search and downloads, model comparison."""
