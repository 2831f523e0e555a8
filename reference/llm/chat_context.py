"""The chat context: the conversation an agent sends to its LLM (SPEC §6).

Items are pydantic models discriminated on ``type`` (``message``, ``function_call``,
``function_call_output``); every item has an ``id`` (``item_...``) and a ``created_at`` time.
:class:`ChatContext` holds them in order and implements the CTX-* rules: truncation that keeps
the instructions (CTX-TRUNC-1..6), timestamp-ordered insertion (CTX-INS-1), id-deduplicating
merge (CTX-MERGE-1), filtering copies (CTX-COPY-1), a lossless dict round trip (CTX-DICT-1) and
timestamp-blind equivalence (CTX-EQ-1).

Item objects are treated as values: ``copy()`` and ``merge()`` share item objects between
contexts (as upstream does), so replace an item with ``item.model_copy(update=...)`` rather than
mutating it in place when several contexts hold it.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Any, Literal, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_serializer,
    field_validator,
)
from voicewire.reference.audio import AudioFrame

__all__ = [
    "AudioContent",
    "ChatContent",
    "ChatContext",
    "ChatContextValidationError",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageContent",
    "ReadOnlyChatContext",
    "ReadOnlyChatContextError",
    "generate_item_id",
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
_CHAT_ITEM_ADAPTER: TypeAdapter[Any] = TypeAdapter(ChatItem)
_ITEM_CLASSES = (ChatMessage, FunctionCall, FunctionCallOutput)
_TOOL_ITEM_TYPES = ("function_call", "function_call_output")

# Labels pydantic puts in error locations for union members; they are not part of the data path.
_UNION_LABELS = frozenset(
    {"message", "function_call", "function_call_output", "str", "ImageContent", "AudioContent"}
)


class ChatContextValidationError(ValueError):
    """Raised by :meth:`ChatContext.from_dict` on malformed data.

    ``errors`` lists ``(path, problem)`` pairs; ``path`` points into the input document,
    e.g. ``items[2].content[0].image``.
    """

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        lines = "\n".join(f"  {path}: {problem}" for path, problem in errors)
        super().__init__(f"invalid chat context ({len(errors)} problem(s)):\n{lines}")


def _format_path(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_LABELS or part.startswith("function-"):
            continue
        else:
            path += f".{part}"
    return path


class ReadOnlyChatContextError(RuntimeError):
    """Raised when a read-only chat context view is asked to change."""


def _filter_item(
    item: ChatItem,
    *,
    exclude_function_call: bool,
    exclude_instructions: bool,
    exclude_empty_message: bool = False,
    tool_names: frozenset[str] | None = None,
) -> bool:
    """Whether ``item`` survives the copy/merge filters."""
    if item.type in _TOOL_ITEM_TYPES:
        if exclude_function_call:
            return False
        return tool_names is None or item.name in tool_names
    if exclude_instructions and item.role in INSTRUCTION_ROLES:
        return False
    return not (exclude_empty_message and not item.content)


def _tool_names(tools: Iterable[Any]) -> frozenset[str]:
    names = set()
    for tool in tools:
        name = tool if isinstance(tool, str) else getattr(tool, "name", None)
        if not isinstance(name, str):
            raise TypeError(f"tools must hold tool names or tools with a .name, got {tool!r}")
        names.add(name)
    return frozenset(names)


class ChatContext:
    """An ordered list of chat items with the operations of SPEC §6."""

    def __init__(self, items: Iterable[ChatItem] | None = None) -> None:
        items = list(items or [])
        for index, item in enumerate(items):
            if not isinstance(item, _ITEM_CLASSES):
                raise TypeError(
                    f"items[{index}] must be a ChatMessage, FunctionCall or FunctionCallOutput, "
                    f"got {type(item).__name__}"
                )
        self._items: list[ChatItem] = items

    @classmethod
    def empty(cls) -> ChatContext:
        """A context with no items."""
        return cls()

    @property
    def items(self) -> list[ChatItem]:
        """The items, in order (the live list)."""
        return self._items

    @items.setter
    def items(self, items: list[ChatItem]) -> None:
        self._items = ChatContext(items)._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ChatItem]:
        return iter(self._items)

    def __repr__(self) -> str:
        kinds = ", ".join(
            item.role if item.type == "message" else item.type for item in self._items
        )
        return f"{type(self).__name__}([{kinds}])"

    # -- lookup ------------------------------------------------------------------------------

    def get_by_id(self, item_id: str) -> ChatItem | None:
        """The item with this id, or ``None``."""
        index = self.index_by_id(item_id)
        return None if index is None else self._items[index]

    def index_by_id(self, item_id: str) -> int | None:
        """The position of the item with this id, or ``None``."""
        for index, item in enumerate(self._items):
            if item.id == item_id:
                return index
        return None

    def find_insertion_index(self, *, created_at: float) -> int:
        """Where an item created at ``created_at`` goes: after the last item with
        ``created_at <= t`` (so equal times keep arrival order), else at the front (CTX-INS-1).
        """
        for index in range(len(self._items) - 1, -1, -1):
            if self._items[index].created_at <= created_at:
                return index + 1
        return 0

    # -- mutation ----------------------------------------------------------------------------

    def add_message(
        self,
        *,
        role: ChatRole,
        content: str | Sequence[ChatContent],
        id: str | None = None,
        interrupted: bool = False,
        created_at: float | None = None,
    ) -> ChatMessage:
        """Add a message: appended, or placed by ``created_at`` when given (CTX-INS-1)."""
        fields: dict[str, Any] = {
            "role": role,
            "content": content if isinstance(content, str) else list(content),
            "interrupted": interrupted,
        }
        if id is not None:
            fields["id"] = id
        if created_at is not None:
            fields["created_at"] = created_at
        message = ChatMessage(**fields)
        if created_at is None:
            self._items.append(message)
        else:
            self._items.insert(self.find_insertion_index(created_at=created_at), message)
        return message

    def insert(self, item: ChatItem | Sequence[ChatItem]) -> None:
        """Insert item(s), each after the last item created at or before it (CTX-INS-1)."""
        for new in ChatContext([item] if isinstance(item, _ITEM_CLASSES) else item):
            self._items.insert(self.find_insertion_index(created_at=new.created_at), new)

    def truncate(self, *, max_items: int) -> ChatContext:
        """Keep the last ``max_items`` items (in place; returns ``self``).

        The window drops leading function calls/outputs (their partners were cut off) and is
        preceded by the first system/developer message when the window lost it, so the result
        may hold ``max_items + 1`` items (CTX-TRUNC-1..5). ``max_items == 0`` keeps only the
        instructions; a negative value is a ValueError (CTX-TRUNC-6).
        """
        if isinstance(max_items, bool) or not isinstance(max_items, int):
            raise TypeError(f"max_items must be an int, got {type(max_items).__name__}")
        if max_items < 0:
            raise ValueError(f"max_items must be >= 0, got {max_items}")
        if len(self._items) <= max_items:
            return self
        instructions = next(
            (
                item
                for item in self._items
                if item.type == "message" and item.role in INSTRUCTION_ROLES
            ),
            None,
        )
        window = self._items[len(self._items) - max_items :]
        first_kept = next(
            (i for i, item in enumerate(window) if item.type not in _TOOL_ITEM_TYPES), len(window)
        )
        window = window[first_kept:]
        if instructions is not None and all(item.id != instructions.id for item in window):
            window.insert(0, instructions)
        self._items[:] = window
        return self

    def merge(
        self,
        other: ChatContext,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
    ) -> ChatContext:
        """Add the items of ``other`` whose id is absent, each at its insertion index
        (CTX-MERGE-1). Returns ``self``.
        """
        if not isinstance(other, ChatContext):
            raise TypeError(f"other must be a ChatContext, got {type(other).__name__}")
        seen = {item.id for item in self._items}
        for item in list(other.items):
            if item.id in seen or not _filter_item(
                item,
                exclude_function_call=exclude_function_call,
                exclude_instructions=exclude_instructions,
            ):
                continue
            self._items.insert(self.find_insertion_index(created_at=item.created_at), item)
            seen.add(item.id)
        return self

    # -- derived contexts --------------------------------------------------------------------

    def copy(
        self,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
        exclude_empty_message: bool = False,
        tools: Iterable[Any] | None = None,
    ) -> ChatContext:
        """A new context with the items that pass the filters; the source is untouched
        (CTX-COPY-1).

        ``tools`` (tool objects or names) keeps only the calls and outputs of those tools.
        """
        tool_names = None if tools is None else _tool_names(tools)
        return ChatContext(
            item
            for item in self._items
            if _filter_item(
                item,
                exclude_function_call=exclude_function_call,
                exclude_instructions=exclude_instructions,
                exclude_empty_message=exclude_empty_message,
                tool_names=tool_names,
            )
        )

    def readonly(self) -> ReadOnlyChatContext:
        """A live, read-only view of this context (changes here show through it)."""
        return ReadOnlyChatContext(self)

    # -- comparison and serialisation --------------------------------------------------------

    def is_equivalent(self, other: ChatContext) -> bool:
        """Same items, position by position, ignoring timestamps (CTX-EQ-1)."""
        if not isinstance(other, ChatContext):
            raise TypeError(f"other must be a ChatContext, got {type(other).__name__}")
        if len(self._items) != len(other.items):
            return False
        return all(
            _item_payload(a) == _item_payload(b)
            for a, b in zip(self._items, other.items, strict=True)
        )

    def to_dict(
        self,
        *,
        exclude_image: bool = True,
        exclude_audio: bool = True,
        exclude_timestamp: bool = True,
        exclude_function_call: bool = False,
    ) -> dict[str, Any]:
        """A JSON-ready ``{"items": [...]}``; by default without images, audio and timestamps."""
        items = []
        for item in self._items:
            if exclude_function_call and item.type in _TOOL_ITEM_TYPES:
                continue
            data = item.model_dump(mode="json", exclude_none=True)
            if exclude_timestamp:
                data.pop("created_at", None)
            if item.type == "message":
                data["content"] = [
                    part_data
                    for part, part_data in zip(item.content, data["content"], strict=True)
                    if not (exclude_image and isinstance(part, ImageContent))
                    and not (exclude_audio and isinstance(part, AudioContent))
                ]
            items.append(data)
        return {"items": items}

    @classmethod
    def from_dict(cls, data: Any) -> ChatContext:
        """Rebuild a context from :meth:`to_dict` output (CTX-DICT-1).

        Raises :class:`ChatContextValidationError` naming the path of every bad field.
        """
        if not isinstance(data, dict):
            raise ChatContextValidationError(
                [("<root>", f"expected an object with 'items', got {type(data).__name__}")]
            )
        raw_items = data.get("items")
        if not isinstance(raw_items, list):
            problem = "missing" if "items" not in data else f"must be a list, got {raw_items!r:.60}"
            raise ChatContextValidationError([("items", problem)])
        items: list[ChatItem] = []
        errors: list[tuple[str, str]] = []
        for index, raw in enumerate(raw_items):
            try:
                items.append(_CHAT_ITEM_ADAPTER.validate_python(raw))
            except ValidationError as exc:
                errors.extend(
                    (_format_path(f"items[{index}]", err["loc"]), err["msg"])
                    for err in exc.errors()
                )
        if errors:
            raise ChatContextValidationError(errors)
        return cls(items)

    def to_provider_format(self, format: Literal["openai"] = "openai") -> list[dict[str, Any]]:
        """The messages of this context in a provider's wire format (SPEC §6.3)."""
        if format != "openai":
            raise ValueError(f"format must be 'openai', got {format!r}")
        from voicewire.reference.llm.provider_format import to_openai_messages

        return to_openai_messages(self._items)


def _item_payload(item: ChatItem) -> tuple[Any, ...]:
    if item.type == "message":
        return (item.id, item.type, item.role, item.interrupted, item.content)
    if item.type == "function_call":
        return (item.id, item.type, item.name, item.call_id, item.arguments)
    return (item.id, item.type, item.name, item.call_id, item.output, item.is_error)


def _refuse_mutation(*args: Any, **kwargs: Any) -> Any:
    raise ReadOnlyChatContextError(
        "this chat context is read-only: take .copy() and change the copy"
    )


class _ReadOnlyItems(Sequence[ChatItem]):
    """A sequence view over a live item list that refuses list mutations with a clear error."""

    def __init__(self, items: list[ChatItem]) -> None:
        self._items = items

    @overload
    def __getitem__(self, index: int) -> ChatItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[ChatItem]: ...
    def __getitem__(self, index: int | slice) -> ChatItem | list[ChatItem]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return list(self._items) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return f"ReadOnlyItems({self._items!r})"

    append = extend = insert = pop = remove = clear = sort = reverse = _refuse_mutation
    __setitem__ = __delitem__ = __iadd__ = _refuse_mutation


class ReadOnlyChatContext(ChatContext):
    """A read-only view of a :class:`ChatContext`: reads reflect the source, writes raise
    :class:`ReadOnlyChatContextError`. ``copy()`` gives an ordinary, writable context.
    """

    def __init__(self, source: ChatContext) -> None:
        if not isinstance(source, ChatContext):
            raise TypeError(f"source must be a ChatContext, got {type(source).__name__}")
        self._items = source._items

    @property
    def items(self) -> _ReadOnlyItems:  # type: ignore[override]
        return _ReadOnlyItems(self._items)

    @items.setter
    def items(self, items: list[ChatItem]) -> None:
        _refuse_mutation()

    add_message = insert = truncate = merge = _refuse_mutation  # type: ignore[assignment]

    def readonly(self) -> ReadOnlyChatContext:
        return self
