"""``search_sources``: a chat's collections offered to a tool-calling model as a tool, instead of always-on.

In a chat whose sources are set to "let the model search" (``ChatSources.mode_of``),
no passages are put in the prompt before a reply; the model is offered this tool
instead, and decides when to search and for what. A call searches the chat's
collections (keywords, and meaning where they have vectors, as the always-on step
does) and returns the passages numbered ``[1]``, ``[2]``… in the same form as the
always-on sources message. The numbers go on across the calls of one question (a
passage found twice keeps its first number), and the reply after the tool's result
starts with a citation part per passage (``ChatSources.before_reply``), so its
``[n]`` links open the passage exactly as the always-on ones do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.core.builtin_tools import BUILTIN_SERVER, BuiltinOutcome
from app.core.errors import ToolError
from app.core.tools import ToolSpec

if TYPE_CHECKING:
    from app.core.sources.chat_sources import ChatSources

SEARCH_SOURCES = "search_sources"
MAX_TOP_K = 8

SEARCH_SOURCES_SPEC = ToolSpec(
    server=BUILTIN_SERVER,
    name=SEARCH_SOURCES,
    description=("Search the person's own documents (the source collections of this chat) for passages about a "
                 "question. Returns numbered passages with where each is from; cite them in the answer by their "
                 "number in square brackets, like [1]."),
    input_schema={"type": "object", "properties": {
        "query": {"type": "string", "description": "what to look for, in a few words"},
        "top_k": {"type": "integer", "description": f"how many passages to return (1 to {MAX_TOP_K}; default 4)"},
    }, "required": ["query"]},
)


class SearchSourcesTool:
    """The built-in ``search_sources`` tool over one window's ``ChatSources`` (a ``BuiltinTool``)."""

    spec = SEARCH_SOURCES_SPEC
    needs_approval = False  # it reads only the collections the person gave this chat, on this computer

    def __init__(self, sources: ChatSources) -> None:
        self.sources = sources

    def offered(self, chat_id: int) -> bool:
        return self.sources.mode_of(chat_id) == "tool" and bool(self.sources.of(chat_id))

    def run(self, chat_id: int, arguments: dict[str, Any]) -> BuiltinOutcome:
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ToolError('search_sources needs a "query": the words to look for.')
        top_k = arguments.get("top_k", 4)
        top_k = min(max(int(top_k), 1), MAX_TOP_K) if isinstance(top_k, int | float) else 4
        return BuiltinOutcome(self.sources.tool_search(chat_id, query.strip(), top_k))
