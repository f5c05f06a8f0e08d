"""The engine's own tokenizer, without a model in memory: llama.cpp's vocabulary of a GGUF file.

Training tokenizes with exactly what the engine uses (``Llama(vocab_only=True)`` loads the
tokenizer and metadata of the file in ~0.2 s), so the token ids trained on are the ids the
engine later sees.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from app.core.errors import ModelFileError


class VocabTokenizer:
    """``tokenize(text)`` with llama.cpp's tokenizer of ``path``; ``bos`` is -1 where the model has none."""

    def __init__(self, path: str | Path) -> None:
        import llama_cpp

        try:
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                self._llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        except Exception as exc:
            raise ModelFileError(str(path), f"llama.cpp could not read its vocabulary ({exc})") from None
        self.bos = int(self._llm._model.token_bos())
        self.n_vocab = int(self._llm.n_vocab())

    def tokenize(self, text: str) -> list[int]:
        """The tokens of ``text`` with no BOS (the engine adds one where it scores or generates)."""
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def close(self) -> None:
        self._llm.close()
