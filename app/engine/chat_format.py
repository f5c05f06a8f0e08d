"""Turns chat messages into the prompt text a model was trained on.

The GGUF's own ``tokenizer.chat_template`` is rendered in llama-cpp-python's
sandboxed Jinja environment. A model without a template gets ChatML — the most
widely trained format — and the model info says so instead of guessing silently.
"""

from __future__ import annotations

from typing import Any

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
DEFAULT_NOTE = "This model has no chat template; Inkling uses ChatML (<|im_start|> … <|im_end|>)."


class ChatFormat:
    """Renders messages with a model's template (engine process only)."""

    def __init__(self, template: str | None, bos_token: str, eos_token: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.has_template = bool(template)
        self.note = "The model's own chat template is used." if template else DEFAULT_NOTE
        self.bos_token = bos_token
        self._formatter = Jinja2ChatFormatter(
            template=template or CHATML, eos_token=eos_token, bos_token=bos_token
        )

    def render(self, messages: list[dict[str, Any]]) -> str:
        clean = [{"role": m["role"], "content": m["content"]} for m in messages]
        return self._formatter(messages=clean).prompt
