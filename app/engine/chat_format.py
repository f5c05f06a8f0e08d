"""Turns chat messages into the prompt text a model was trained on.

The GGUF's own ``tokenizer.chat_template`` is rendered in llama-cpp-python's
sandboxed Jinja environment. A model without a template, or with one that does not
parse, gets ChatML — the most widely trained format — and the model info says so
(``ModelInfo.chat_template_note``) instead of guessing silently.
"""

from __future__ import annotations

from typing import Any

from app.core.tools import as_plain_messages, template_takes_tools

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
DEFAULT_NOTE = "This model has no chat template; Inkling uses ChatML (<|im_start|> … <|im_end|>)."
NO_TOOLS_NOTE = ("This model's chat template has no tool section; Inkling describes the tools in the system "
                 "prompt the Hermes way (<tool_call>{…}</tool_call>), which small or untrained models may not follow.")
BROKEN_NOTE = ("This model's chat template could not be read ({reason}); "
               "Inkling uses ChatML (<|im_start|> … <|im_end|>) instead.")


def template_problem(template: str) -> str | None:
    """Why a chat template does not parse (None when it does)."""
    from jinja2 import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    try:
        ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).parse(template)
    except TemplateError as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


def tolerate_broken_templates_in_llama() -> None:
    """Let ``Llama()`` load a file whose chat template does not parse.

    llama-cpp-python compiles every template in the file inside ``Llama.__init__``
    (for chat handlers Inkling never uses), so a broken one aborts the load with a
    raw Jinja error after the model is already in memory. Inkling renders prompts
    itself (``ChatFormat``, with its fallback), so those handlers get ChatML instead.
    """
    from llama_cpp import llama_chat_format

    original = llama_chat_format.Jinja2ChatFormatter
    if getattr(original, "inkling_tolerant", False):
        return

    class TolerantFormatter(original):  # type: ignore[misc, valid-type]
        inkling_tolerant = True

        def __init__(self, template: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(CHATML if template_problem(template) else template, *args, **kwargs)

    llama_chat_format.Jinja2ChatFormatter = TolerantFormatter  # type: ignore[misc]


class ChatFormat:
    """Renders messages with a model's template (engine process only)."""

    def __init__(self, template: str | None, bos_token: str, eos_token: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.has_template = bool(template)
        self.takes_tools = template_takes_tools(template) and template_problem(template or "") is None
        self.tools: list[dict[str, Any]] | None = None  # set for one request that offers tools (render reads it)
        self.note = "The model's own chat template is used." if template else DEFAULT_NOTE
        self.bos_token = bos_token
        problem = template_problem(template) if template else None
        if problem is not None:
            self.has_template = False
            self.note = BROKEN_NOTE.format(reason=problem)
            template = None
        self._formatter = Jinja2ChatFormatter(template=template or CHATML, eos_token=eos_token, bos_token=bos_token)

    def render(self, messages: list[dict[str, Any]], **variables: Any) -> str:
        """The prompt; ``variables`` go to the template as they are (``enable_thinking``)."""
        if self.tools is not None and self.takes_tools:  # the template writes its own tool section and calls
            keep = ("role", "content", "tool_calls", "tool_call_id", "name")
            rich = [{k: m[k] for k in keep if k in m} for m in messages]
            return self._formatter(messages=rich, tools=self.tools or None, **variables).prompt
        if self.tools is not None or any(m.get("tool_calls") or m.get("role") == "tool" for m in messages):
            messages = as_plain_messages(messages, self.tools)  # no tool section: Hermes text in the prompt
        clean = [{"role": m["role"], "content": m["content"]} for m in messages]
        return self._formatter(messages=clean, **variables).prompt
