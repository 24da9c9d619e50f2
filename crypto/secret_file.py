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


def write_secret_file(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, replacing any old file atomically."""
    path = Path(path)
    # mkstemp creates the file with mode 0600 under a fresh name, so a temporary left behind by a
    # crash never blocks the next write.
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    # Make the rename itself durable: without this a power cut can bring back the old file.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


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
