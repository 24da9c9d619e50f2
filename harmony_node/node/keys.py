"""A validator's BLS keys: encrypted files on disk, a passphrase from a file or the terminal.

All of a node's keys must belong to one shard's committee; which shard is decided by the genesis
committees (and later the beacon's elections), not by the key itself, so that check happens when
the node starts and knows its genesis.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from crypto.bls_keyfile import load_bls_key
from harmony_node.exceptions import KeystoreError

MAX_PASSPHRASE_FILE_BYTES = 4096


def read_passphrase_file(path: str | Path) -> str:
    """The passphrase in ``path``: its first line, without the line ending (as Harmony reads it)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PASSPHRASE_FILE_BYTES + 1)
    except OSError as exc:
        raise KeystoreError(f"cannot read passphrase file {path}: {exc.strerror}") from exc
    if len(data) > MAX_PASSPHRASE_FILE_BYTES:
        raise KeystoreError(f"passphrase file {path} is larger than {MAX_PASSPHRASE_FILE_BYTES} bytes")
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise KeystoreError(f"passphrase file {path} is not UTF-8") from exc
    return text.splitlines()[0] if text else ""


def load_validator_keys(key_files: Sequence[str | Path], passphrase: str) -> list[int]:
    """Decrypt every key file with ``passphrase``; KeystoreError names the file that failed."""
    secrets = []
    for path in key_files:
        try:
            secrets.append(load_bls_key(path, passphrase))
        except KeystoreError as exc:
            raise type(exc)(f"{path}: {exc}") from exc
    if len(set(secrets)) != len(secrets):
        raise KeystoreError("the same BLS key is configured twice")
    return secrets
