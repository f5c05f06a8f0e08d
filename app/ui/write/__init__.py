"""The Write pane: documents, continuation at the cursor, alternatives, token inspector, surprise."""
