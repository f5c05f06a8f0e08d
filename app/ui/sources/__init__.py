"""The Sources panel, the opened passage, the chat's sources button and Write's sidebar."""
