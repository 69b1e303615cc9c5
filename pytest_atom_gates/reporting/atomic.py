"""Writing report files so that readers never see half a file."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO


def check_writable(path: Path) -> str | None:
    """Why ``path`` cannot be written, or None when it can; creates missing parent folders."""
    if path.is_dir():
        return "it is a directory"
    blocking = next((parent for parent in path.parents if parent.exists()), None)
    if blocking is not None and not blocking.is_dir():
        return f"{blocking} is a file, not a directory"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=True):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def write_atomically(path: Path, text: str | Callable[[TextIO], None]) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``.

    ``text`` may be a function that writes to the stream itself, so that a large document is
    written piece by piece instead of being built whole in memory first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600, and the rename would give that to the report: an artifact
        # uploader running as another user could not read it.
        os.chmod(temporary, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            if callable(text):
                text(stream)
            else:
                stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The mode a plain ``open(path, "w")`` would leave: the existing file's, else the umask's."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        pass
    umask = os.umask(0o022)  # the only portable way to read it is to set it
    os.umask(umask)
    return 0o666 & ~umask


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when that is shorter to read."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


class UnreadableJson(Exception):
    """A file of ours that exists but holds no JSON: the message says why, as ``cannot be
    read: ...`` or ``is not JSON: ...``."""


def read_json(path: Path) -> Any:
    """The JSON document in ``path``; None when there is no such file. Raises
    ``UnreadableJson``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableJson(f"cannot be read: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UnreadableJson(f"is not JSON: {exc}") from None
