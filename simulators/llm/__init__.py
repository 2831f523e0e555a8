"""The LLM simulator: OpenAI-compatible ``/chat/completions`` over SSE (SPEC §2).

A protocol module of the simulator core. It registers (:data:`PROTOCOL`, see
``simulators/protocols.py``) its routes (``POST /chat/completions``, streamed or not, and
``GET /models``) and its scenario endpoint ``llm`` (the default one), whose rules' replies are
:class:`LLMReply` scripts.

- :mod:`.script`: the reply vocabulary (:class:`LLMReply`, :class:`ToolCallScript`,
  :class:`Fragmentation`, :class:`UsageScript`);
- :mod:`.request`: reading a request (:func:`read_request` → :class:`ChatCompletionRequest`);
- :mod:`.plan`: reply → chunks → SSE events → actions, all lazy (:func:`plan_chunks`,
  :func:`stream_events`, :func:`stream_actions`);
- :mod:`.templates`: encoded replies kept across requests (:class:`StreamTemplates`);
- :mod:`.echo`: the answer of echo mode (:func:`echo_reply`);
- :mod:`.decide`: one admitted request → its answer (:func:`decide_completion`);
- :mod:`.routes`: the aiohttp handlers.
"""

from __future__ import annotations

from voicewire.simulators.core.recorded import RecordedEndpoint
from voicewire.simulators.core.registry import EndpointSpec, SimulatedProtocol
from voicewire.simulators.llm.decide import (
    COMPLETION_ID_PREFIX,
    ENDPOINT,
    EVENT_KIND,
    CompletionAnswer,
    ErrorAnswer,
    decide_completion,
)
from voicewire.simulators.llm.echo import echo_reply
from voicewire.simulators.llm.from_recording import llm_reply_from_recording
from voicewire.simulators.llm.plan import (
    MALFORMED_LINE,
    completion_body,
    cut_text,
    plan_chunks,
    reply_chunks,
    stream_actions,
    stream_events,
    usage_payload,
)
from voicewire.simulators.llm.request import (
    ChatCompletionRequest,
    RequestError,
    message_text,
    read_request,
)
from voicewire.simulators.llm.routes import MODELS, add_routes
from voicewire.simulators.llm.script import Fragmentation, LLMReply, ToolCallScript, UsageScript
from voicewire.simulators.llm.templates import StreamTemplates

__all__ = [
    "COMPLETION_ID_PREFIX",
    "ENDPOINT",
    "EVENT_KIND",
    "MALFORMED_LINE",
    "MODELS",
    "PROTOCOL",
    "ChatCompletionRequest",
    "CompletionAnswer",
    "ErrorAnswer",
    "Fragmentation",
    "LLMReply",
    "RequestError",
    "StreamTemplates",
    "ToolCallScript",
    "UsageScript",
    "add_routes",
    "completion_body",
    "cut_text",
    "decide_completion",
    "echo_reply",
    "message_text",
    "plan_chunks",
    "read_request",
    "reply_chunks",
    "stream_actions",
    "stream_events",
    "usage_payload",
]

PROTOCOL = SimulatedProtocol(
    name="llm",
    add_routes=add_routes,
    endpoints=(EndpointSpec(ENDPOINT, LLMReply, default=True),),
    recorded=(
        RecordedEndpoint(
            ENDPOINT, "POST", "/chat/completions", "sse", to_reply=llm_reply_from_recording
        ),
    ),
)
"""The LLM protocol as the simulator core registers it."""
