"""Writing files so that nothing is lost: the one atomic writer of voicewire's reports,
replay files and benchmark results."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` (``str`` as UTF-8) to ``path`` through a temporary file in the same
    directory, synced and renamed over the target, creating parent directories; returns the
    path. A reader sees the old file or the whole new one, never a part; an interrupted write
    leaves no temporary file behind.

    The file gets the mode an existing file at ``path`` had, or ``0644``: reports are ordinary
    artifacts (CI uploads them), not secrets, and ``mkstemp`` would make them private.
    Raises ``OSError`` naming ``path`` (its errno kept, so ``PermissionError`` stays one).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    if not isinstance(data, (str, bytes)):
        raise TypeError(f"data must be str or bytes, got {type(data).__name__}")
    target = Path(os.fspath(path))
    if not target.name:
        raise ValueError(f"path must name a file, got {os.fspath(path)!r}")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            mode = target.stat().st_mode & 0o777
        except OSError:
            mode = 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, target)
        temporary = None
    except OSError as exc:
        message = f"cannot write {target}: {exc.strerror or exc}"
        if exc.errno is None:
            raise OSError(message) from exc
        # OSError(errno, ...) becomes the matching subclass (PermissionError...).
        raise OSError(exc.errno, message) from exc
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    return target
