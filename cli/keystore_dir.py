"""The ``hmy`` account keystore directory: one named account per folder, as go-sdk keeps them.

Layout (go-sdk ``pkg/store/local.go``): ``~/.hmy_cli/account-keys/<name>/UTC--<time>--<address hex>``,
one geth v3 keystore per folder; ``HMY_CLI_HOME`` replaces ``~/.hmy_cli`` (tests, several wallets).
Folders are created 0700 and key files 0600. Each file records its address in the clear (as geth
writes it), so listing and finding a signer by address need no passphrase.
"""

from __future__ import annotations

import os
import re
import shutil
import string
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crypto.address import to_bech32
from crypto.keystore import decrypt_keystore, load_keystore, save_keystore
from harmony_node.exceptions import KeystoreError

CLI_HOME_ENV = "HMY_CLI_HOME"
DEFAULT_CLI_HOME = "~/.hmy_cli"
ACCOUNT_KEYS_DIR = "account-keys"
LIGHT_SCRYPT_N = 2**12
"""Cheap scrypt for throwaway localnet and test accounts (the default is geth's 2**18, ~1 s per unlock)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class StoredAccount:
    """One named account: its address and the keystore file holding its key."""

    name: str
    address: bytes
    path: Path


def get_cli_home() -> Path:
    """``$HMY_CLI_HOME`` or ``~/.hmy_cli``."""
    return Path(os.environ.get(CLI_HOME_ENV) or DEFAULT_CLI_HOME).expanduser()


def get_account_keys_dir() -> Path:
    """The folder holding one sub-folder per account name."""
    return get_cli_home() / ACCOUNT_KEYS_DIR


def validate_account_name(name: str) -> None:
    """Raise KeystoreError unless ``name`` is usable as a folder name (letters, digits, ``._-``)."""
    if not _NAME.fullmatch(name):
        raise KeystoreError(
            f"invalid account name {name!r}: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )


def compute_keystore_file_name(address: bytes, now: datetime) -> str:
    """geth's keystore file name: ``UTC--2006-01-02T15-04-05.000000000Z--<address hex>``."""
    return f"UTC--{now.strftime('%Y-%m-%dT%H-%M-%S.%f')}000Z--{address.hex()}"


def _read_address(document: dict[str, Any], path: Path) -> bytes:
    text = document.get("address")
    if isinstance(text, str) and len(text) == 40 and all(c in string.hexdigits for c in text):
        return bytes.fromhex(text)
    raise KeystoreError(f"keystore {path} has no address field of 40 hex digits")


def _find_keystore_file(folder: Path) -> Path | None:
    # Dot files are the secret-file writer's temporaries; a crash can leave one behind.
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if len(files) > 1:
        raise KeystoreError(f"account folder {folder} holds {len(files)} files; expected one keystore")
    return files[0] if files else None


def _load_account(folder: Path) -> StoredAccount | None:
    path = _find_keystore_file(folder)
    if path is None:
        return None
    return StoredAccount(folder.name, _read_address(load_keystore(path), path), path)


def list_accounts() -> list[StoredAccount]:
    """Every stored account, by name; a folder left empty by an interrupted ``add`` is skipped."""
    root = get_account_keys_dir()
    if not root.is_dir():
        return []
    accounts = (_load_account(folder) for folder in sorted(root.iterdir()) if folder.is_dir())
    return [account for account in accounts if account is not None]


def get_account(name: str) -> StoredAccount:
    """The account stored as ``name``; KeystoreError if there is none."""
    validate_account_name(name)
    folder = get_account_keys_dir() / name
    account = _load_account(folder) if folder.is_dir() else None
    if account is None:
        raise KeystoreError(f"no account named {name!r} in {get_account_keys_dir()}")
    return account


def find_account_by_address(address: bytes) -> StoredAccount:
    """The stored account whose key has ``address`` (the signer of a transfer or staking message)."""
    for account in list_accounts():
        if account.address == address:
            return account
    raise KeystoreError(
        f"no key for {to_bech32(address)} in {get_account_keys_dir()} (add one with `hmy keys import-private-key`"
        " or `hmy keys import-ks`)"
    )


def save_account(name: str, document: dict[str, Any]) -> StoredAccount:
    """Store a keystore document as account ``name``; KeystoreError if the name or the key is taken."""
    validate_account_name(name)
    address = _read_address(document, Path(name))
    for account in list_accounts():
        if account.address == address:
            raise KeystoreError(f"the key of {to_bech32(address)} is already stored as {account.name!r}")
    root = get_account_keys_dir()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = root / name
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        # A folder an interrupted add left empty is reused; one holding a keystore is a taken name.
        if not folder.is_dir() or _find_keystore_file(folder) is not None:
            raise KeystoreError(f"an account named {name!r} already exists") from None
    path = folder / compute_keystore_file_name(address, datetime.now(timezone.utc))
    try:
        save_keystore(path, document)
    except OSError as exc:
        raise KeystoreError(f"cannot write keystore {path}: {exc.strerror}") from exc
    return StoredAccount(name, address, path)


def unlock_account(account: StoredAccount, passphrase: str) -> bytes:
    """The private key of ``account``; WrongPassphrase names the account."""
    try:
        return decrypt_keystore(load_keystore(account.path), passphrase)
    except KeystoreError as exc:
        raise type(exc)(f"account {account.name!r}: {exc}") from exc


def remove_account(name: str) -> StoredAccount:
    """Delete account ``name`` (its folder and keystore); returns what was removed."""
    account = get_account(name)
    try:
        shutil.rmtree(account.path.parent)
    except OSError as exc:
        raise KeystoreError(f"cannot remove {account.path.parent}: {exc.strerror}") from exc
    return account
