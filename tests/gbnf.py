"""Forcing a model's exact output in a test: a GBNF grammar that matches one text only."""

from __future__ import annotations


def literal(text: str) -> str:
    """A grammar whose only sentence is ``text``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'root ::= "{escaped}"'
