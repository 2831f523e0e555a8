"""The chat context: the conversation an agent sends to its LLM (SPEC §6).

Items (:mod:`~voicewire.reference.llm.chat_items`) are pydantic models discriminated on
``type``; every item has an ``id`` (``item_...``) and a ``created_at`` time.
:class:`ChatContext` holds them in order and implements the CTX-* rules: truncation that keeps
the instructions (CTX-TRUNC-1..6), timestamp-ordered insertion (CTX-INS-1), id-deduplicating
merge (CTX-MERGE-1), filtering copies (CTX-COPY-1), a lossless dict round trip (CTX-DICT-1) and
timestamp-blind equivalence (CTX-EQ-1).

Item objects are treated as values: ``copy()`` and ``merge()`` share item objects between
contexts (as upstream does), so replace an item with ``item.model_copy(update=...)`` rather than
mutating it in place when several contexts hold it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, overload

from pydantic import (
    ValidationError,
)
from voicewire.reference.llm.chat_items import (
    INSTRUCTION_ROLES,
    ITEM_ADAPTER,
    ITEM_CLASSES,
    AudioContent,
    ChatContent,
    ChatItem,
    ChatMessage,
    ChatRole,
    ImageContent,
)
from voicewire.reference.llm.provider_format import to_openai_messages

__all__ = [
    "ChatContext",
    "ChatContextValidationError",
    "ReadOnlyChatContext",
    "ReadOnlyChatContextError",
]

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
            if not isinstance(item, ITEM_CLASSES):
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
        for new in ChatContext([item] if isinstance(item, ITEM_CLASSES) else item):
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
                items.append(ITEM_ADAPTER.validate_python(raw))
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
