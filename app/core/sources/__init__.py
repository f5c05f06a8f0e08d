"""Sources: a person's own files as named collections the model can read and cite.

Pure parts (chunking, fusion, readers), the SQLite store (FTS5 keywords, vectors
beside the text) and the indexer that fills it. Nothing here imports Qt or
llama.cpp; embeddings come through the :class:`~app.core.sources.store.Embedder`
protocol, which the engine layer implements.
"""
