"""The items of a chat context (SPEC §6): messages, function calls and their outputs.

Items are pydantic models discriminated on ``type`` (``message``, ``function_call``,
``function_call_output``); every item has an ``id`` (``item_...``) and a ``created_at`` time.
Message content is text, images (:class:`ImageContent`) and audio (:class:`AudioContent`).
:mod:`~voicewire.reference.llm.chat_context` holds them in order;
:mod:`~voicewire.reference.llm.provider_format` turns them into provider messages.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    TypeAdapter,
    field_serializer,
    field_validator,
)
from voicewire.reference.audio import AudioFrame

__all__ = [
    "DATA_URL_MIME_TYPES",
    "INSTRUCTION_ROLES",
    "ITEM_ADAPTER",
    "ITEM_CLASSES",
    "AudioContent",
    "ChatContent",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageContent",
    "generate_item_id",
    "parse_data_url",
]

ChatRole = Literal["developer", "system", "user", "assistant"]
INSTRUCTION_ROLES: frozenset[str] = frozenset({"system", "developer"})

# The image types the openai format accepts inline (CTX-OAI-3); anything else must be a URL.
DATA_URL_MIME_TYPES: frozenset[str] = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif"}
)


def generate_item_id(prefix: str = "item_") -> str:
    """A fresh item id: ``prefix`` followed by 12 random hex digits."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


class _Model(BaseModel):
    # validate_assignment: an item mutated after construction is held to the same rules.
    model_config = ConfigDict(validate_assignment=True, extra="ignore")


class ImageContent(_Model):
    """An image part of a message: an external URL or a ``data:`` URL.

    Build one from raw bytes with :meth:`from_bytes`. A ``data:`` URL is checked at construction
    (mime type among jpeg/png/webp/gif, base64 payload that decodes), so a bad image fails here
    rather than as a provider 400 later.
    """

    type: Literal["image_content"] = "image_content"
    id: StrictStr = Field(default_factory=lambda: generate_item_id("img_"))
    image: StrictStr
    inference_width: int | None = Field(default=None, gt=0)
    inference_height: int | None = Field(default=None, gt=0)
    inference_detail: Literal["auto", "high", "low"] = "auto"

    @field_validator("image")
    @classmethod
    def _check_image(cls, value: str) -> str:
        if not value:
            raise ValueError("image must be a non-empty URL or data URL")
        if value.startswith("data:"):
            parse_data_url(value)
        return value

    @classmethod
    def from_bytes(cls, data: bytes, *, mime_type: str, **kwargs: Any) -> ImageContent:
        """An image from encoded bytes (jpeg/png/webp/gif) as a base64 ``data:`` URL."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        if mime_type not in DATA_URL_MIME_TYPES:
            raise ValueError(
                f"mime_type must be one of {sorted(DATA_URL_MIME_TYPES)}, got {mime_type!r}"
            )
        encoded = base64.b64encode(bytes(data)).decode("ascii")
        return cls(image=f"data:{mime_type};base64,{encoded}", **kwargs)


def parse_data_url(url: str) -> tuple[str, bytes]:
    """Split a base64 image ``data:`` URL into (mime type, decoded bytes); ValueError if invalid."""
    header, sep, payload = url.partition(",")
    if not sep:
        raise ValueError("data URL has no ',' separating the header from the payload")
    meta = header[len("data:") :].split(";")
    mime_type = meta[0].strip().lower()
    if "base64" not in (part.strip().lower() for part in meta[1:]):
        raise ValueError(f"data URL must be base64-encoded ('data:{mime_type};base64,...')")
    if mime_type not in DATA_URL_MIME_TYPES:
        raise ValueError(
            f"data URL mime type must be one of {sorted(DATA_URL_MIME_TYPES)}, got {mime_type!r}"
        )
    try:
        raw = base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"data URL payload is not valid base64: {exc}") from None
    return mime_type, raw


class AudioContent(_Model):
    """An audio part of a message (what the user said), with an optional transcript.

    The openai format never sends audio (CTX-OAI-3); it is kept for context round trips.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, validate_assignment=True)

    type: Literal["audio_content"] = "audio_content"
    frame: list[AudioFrame] = Field(default_factory=list)
    transcript: StrictStr | None = None

    @field_validator("frame", mode="before")
    @classmethod
    def _load_frames(cls, value: Any) -> Any:
        if isinstance(value, (AudioFrame, dict)):
            value = [value]
        if not isinstance(value, list):
            return value
        return [_frame_from_json(f) if isinstance(f, dict) else f for f in value]

    @field_serializer("frame")
    def _dump_frames(self, frames: list[AudioFrame]) -> list[dict[str, Any]]:
        return [
            {"sample_rate": f.sample_rate, "num_channels": f.num_channels, "data": f.to_base64()}
            for f in frames
        ]


def _frame_from_json(value: dict[str, Any]) -> AudioFrame:
    missing = {"sample_rate", "data"} - value.keys()
    if missing:
        raise ValueError(f"audio frame is missing {sorted(missing)}")
    return AudioFrame.from_base64(
        value["data"],
        sample_rate=value["sample_rate"],
        num_channels=value.get("num_channels", 1),
    )


ChatContent = StrictStr | ImageContent | AudioContent


class ChatMessage(_Model):
    """A message item. ``content`` is a list of parts; a plain string is accepted as one part."""

    type: Literal["message"] = "message"
    id: StrictStr = Field(default_factory=generate_item_id)
    role: ChatRole
    content: list[ChatContent] = Field(default_factory=list)
    interrupted: StrictBool = False
    created_at: float = Field(default_factory=time.time)

    @field_validator("content", mode="before")
    @classmethod
    def _wrap_plain_string(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def text_content(self) -> str | None:
        """The text parts joined with newlines, or ``None`` when there are none."""
        texts = [part for part in self.content if isinstance(part, str)]
        return "\n".join(texts) if texts else None


class FunctionCall(_Model):
    """A tool call the assistant made. ``arguments`` is the raw JSON string, never re-parsed.

    ``group_id`` ties calls to the assistant message of the same generation for the provider
    format; when unset, the part of ``id`` before the first ``/`` is the group.
    """

    type: Literal["function_call"] = "function_call"
    id: StrictStr = Field(default_factory=generate_item_id)
    call_id: StrictStr
    name: StrictStr
    arguments: StrictStr
    group_id: StrictStr | None = None
    created_at: float = Field(default_factory=time.time)


class FunctionCallOutput(_Model):
    """The result of a tool call, matched to its call by ``call_id``."""

    type: Literal["function_call_output"] = "function_call_output"
    id: StrictStr = Field(default_factory=generate_item_id)
    call_id: StrictStr
    name: StrictStr = ""
    output: StrictStr
    is_error: StrictBool = False
    created_at: float = Field(default_factory=time.time)


ChatItem = Annotated[ChatMessage | FunctionCall | FunctionCallOutput, Field(discriminator="type")]
ITEM_ADAPTER: TypeAdapter[Any] = TypeAdapter(ChatItem)
ITEM_CLASSES = (ChatMessage, FunctionCall, FunctionCallOutput)
