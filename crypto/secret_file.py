"""Reading and writing files that hold secrets (account keystores, BLS key files).

Writes go to a temporary file created with mode 0600 and are renamed into place, so a key file is
never readable by others, not even for an instant, and a crash never leaves a half-written key.
Reads are size-capped and turn every failure into a KeystoreError naming the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from harmony_node.exceptions import KeystoreError

MAX_SECRET_FILE_BYTES = 64 * 1024


def _write_private_temporary(path: Path, data: bytes) -> Path:
    """``data`` in a fresh 0600 file beside ``path`` (mkstemp), synced; the caller moves it into place.

    A fresh name each time, so a temporary left behind by a crash never blocks the next write.
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _sync_directory(directory: Path) -> None:
    # Make the rename or link itself durable: without this a power cut can bring back the old state.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_secret_file(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, replacing any old file atomically."""
    path = Path(path)
    temporary = _write_private_temporary(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def create_secret_file(path: str | Path, data: bytes) -> bool:
    """Create ``path`` (mode 0600) holding ``data`` unless it exists; False if it did (or appeared meanwhile).

    The complete file is hard-linked into place, so a crash never leaves half a file, and of two
    processes racing to create it exactly one wins.
    """
    path = Path(path)
    temporary = _write_private_temporary(path, data)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    _sync_directory(path.parent)
    return True


def read_json_secret_file(path: str | Path, what: str) -> dict[str, Any]:
    """Read a JSON object from a key file; ``what`` names the kind of file in error messages."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SECRET_FILE_BYTES:
            raise KeystoreError(f"{path} is too large to be a {what}")
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise KeystoreError(f"cannot read {what} {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KeystoreError(f"{path} is not a JSON {what}") from exc
    if not isinstance(document, dict):
        raise KeystoreError(f"{path} is not a {what}")
    return document
