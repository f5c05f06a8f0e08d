"""The Sampling pane: controls, presets, load-time options, the next-token picture."""
