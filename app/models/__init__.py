"""Model manager without Qt: the local library, Hub search and downloads, fit estimates."""
