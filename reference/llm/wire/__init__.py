"""The LLM wire module: the one place that parses and builds LLM wire data (SPEC §2).

Chat completions travel as server-sent events carrying JSON chunks. This package holds
everything about those bytes, for every role: the reference client reads with it, the
simulator writes with it, and the suites check servers with it. It is sans-IO in the style of
h11 and wsproto: pure, synchronous functions and state machines, no sockets, no event loop.

- :mod:`.sse`: the SSE codec (:class:`SSEDecoder`, :func:`encode_event`) and the strict
  server-side framing check (:func:`strict_framing`, LLM-SSE-1);
- :mod:`.chunks`: chunk builders, the server-side shape check (:func:`chunk_problems`,
  LLM-SSE-2) and the hostile-input-proof client parser (:func:`parse_chunk`, LLM-ROB-1/2);
- :mod:`.reader`: :class:`CompletionReader`, SSE events of one attempt in, ChatChunks out
  (LLM-TXT, LLM-TC, LLM-USG, LLM-ORD);
- :mod:`.retry`: :class:`RetryPolicy`, the retry decisions of RETRY-1..5.
"""

from __future__ import annotations

from voicewire.reference.llm.wire.chunks import (
    FINISH_REASONS,
    MalformedChunk,
    ParsedChoice,
    ParsedChunk,
    StreamErrorEvent,
    chat_chunk,
    chunk_problems,
    completion_object,
    content_delta,
    decode_payload,
    models_payload,
    parse_chunk,
    parse_completion,
    role_delta,
    tool_call_arguments,
    tool_call_header,
    tool_calls_delta,
    usage_chunk,
    usage_object,
)
from voicewire.reference.llm.wire.reader import CallAssembler, CompletionReader, TextFilter
from voicewire.reference.llm.wire.retry import RetryDecision, RetryPolicy
from voicewire.reference.llm.wire.sse import (
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    DONE_EVENT,
    SSEDecodeError,
    SSEDecoder,
    SSEEvent,
    encode_comment,
    encode_event,
    strict_framing,
)

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_LINE_BYTES",
    "DONE_EVENT",
    "FINISH_REASONS",
    "CallAssembler",
    "CompletionReader",
    "MalformedChunk",
    "ParsedChoice",
    "ParsedChunk",
    "RetryDecision",
    "RetryPolicy",
    "SSEDecodeError",
    "SSEDecoder",
    "SSEEvent",
    "StreamErrorEvent",
    "TextFilter",
    "chat_chunk",
    "chunk_problems",
    "completion_object",
    "content_delta",
    "decode_payload",
    "encode_comment",
    "encode_event",
    "models_payload",
    "parse_chunk",
    "parse_completion",
    "role_delta",
    "strict_framing",
    "tool_call_arguments",
    "tool_call_header",
    "tool_calls_delta",
    "usage_chunk",
    "usage_object",
]
