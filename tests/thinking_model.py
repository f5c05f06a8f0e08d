"""The starter model dressed as a thinking model, and grammars that make it think, for tests.

``thinking_copy`` writes the starter model with a Qwen3-style chat template: its
generation prompt opens ``<think>`` for the model (as DeepSeek-R1's and
Qwen3-Thinking's do) and, with ``enable_thinking=false``, writes an empty, closed
thinking instead. The weights are the starter model's own. The grammars force the
text a thinking model writes (``THINK_THEN_ANSWER``: thinking, then the answer
``ANSWER``), so no test depends on what the small model would choose.
"""

from __future__ import annotations

from pathlib import Path

import gguf_tools as g

QWEN3_LIKE_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n"
    "{% else %}<think>\n{% endif %}{% endif %}"
)
ANSWER = "The lamp is lit at dusk."
# the model's own <think>, lowercase thinking of any length, the close, the answer (then it must end)
THINK_THEN_ANSWER = f'root ::= "<think>\\n" [a-z ]* "\\n</think>\\n\\n" "{ANSWER}"'
# a chat's: ten to forty characters of thinking, so there is always a block to show
CHAT_THINK_THEN_ANSWER = f'root ::= "<think>\\n" [a-z ]{{10,40}} "\\n</think>\\n\\n" "{ANSWER}"'
# the same after a prompt that opened the thinking itself
OPENED_THINK_THEN_ANSWER = f'root ::= [a-z ]+ "\\n</think>\\n\\n" "{ANSWER}"'


def thinking_copy(starter: Path, dst: Path) -> Path:
    """The starter model with a Qwen3-like template (thinking opened by the prompt, ``enable_thinking``)."""
    if dst.exists():
        return dst

    def edit(model: g.GGUF) -> None:
        model.metadata["tokenizer.chat_template"] = (g.STRING, QWEN3_LIKE_TEMPLATE)

    return g.patched_copy(starter, dst, edit)


def newline_bias(tokenize) -> tuple[tuple[int, float], ...]:
    """A logit bias that keeps the model from writing a line break (so only a budget can end its thinking)."""
    ids = {t for text in ("\n", "\n\n", "\n\n\n", " \n", "  \n", " \n\n") for t, _ in tokenize(text)}
    return tuple((t, -100.0) for t in sorted(ids))
