"""The Chat pane: conversation list, transcript, composer."""
