"""A minimal synchronous event emitter (``on`` / ``off`` / ``emit``), as upstream's objects have."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["EventEmitter"]

EventName = TypeVar("EventName", bound=str)
Listener = Callable[[Any], None]


class EventEmitter(Generic[EventName]):
    """Listeners are called in registration order; a listener that raises does not stop the
    others or the emitter (its exception is re-raised after all listeners ran)."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}

    def on(self, event: EventName, listener: Listener | None = None) -> Any:
        """Register ``listener`` for ``event``; usable as a decorator when ``listener`` is None."""
        if listener is None:

            def decorator(fn: Listener) -> Listener:
                self.on(event, fn)
                return fn

            return decorator
        if not callable(listener):
            raise TypeError(f"listener must be callable, got {listener!r}")
        self._listeners.setdefault(event, []).append(listener)
        return listener

    def off(self, event: EventName, listener: Listener) -> None:
        """Unregister a listener (a no-op if it is not registered)."""
        listeners = self._listeners.get(event, [])
        if listener in listeners:
            listeners.remove(listener)

    def emit(self, event: EventName, payload: Any) -> None:
        """Call every listener of ``event`` with ``payload``."""
        failure: BaseException | None = None
        for listener in list(self._listeners.get(event, [])):
            try:
                listener(payload)
            except Exception as exc:  # one faulty listener must not silence the rest
                failure = failure or exc
        if failure is not None:
            raise failure
