"""``hmy keys``: create, import, export and remove the accounts ``hmy`` signs with.

Accounts live in go-sdk's layout (see ``cli.keystore_dir``) as geth v3 keystores, so keys move
between ``hmy``, go-sdk, geth and eth-account in both directions.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from cli.client_context import ClientContext, emit, pass_client_context
from cli.keystore_dir import (
    LIGHT_SCRYPT_N,
    StoredAccount,
    get_account,
    get_account_keys_dir,
    list_accounts,
    remove_account,
    save_account,
    unlock_account,
)
from cli.param_types import HexBytesType
from cli.passphrase import get_new_passphrase, get_passphrase, passphrase_options
from crypto.address import to_bech32
from crypto.keystore import DEFAULT_SCRYPT_N, decrypt_keystore, encrypt_keystore, load_keystore
from crypto.secp256k1 import compute_address, validate_private_key
from crypto.secret_file import create_secret_file
from harmony_node.exceptions import InvalidKey, KeystoreError

_PRIVATE_KEY = HexBytesType("private-key", 32)
_LIGHT = click.option("--light", is_flag=True,
                      help="Cheap encryption (scrypt n=2**12) for throwaway localnet keys; never for real funds.")


def _describe(account: StoredAccount) -> dict[str, str]:
    return {"name": account.name, "address": to_bech32(account.address), "file": str(account.path)}


def _store_new_key(context: ClientContext, private_key: bytes, name: str, passphrase: str, light: bool) -> None:
    document = encrypt_keystore(private_key, passphrase, scrypt_n=LIGHT_SCRYPT_N if light else DEFAULT_SCRYPT_N)
    account = save_account(name, document)
    emit(context, _describe(account), f"{account.name}\t{to_bech32(account.address)}")


def _generate_private_key() -> bytes:
    while True:
        candidate = secrets.token_bytes(32)
        try:
            validate_private_key(candidate)
        except InvalidKey:  # 0 or >= n: about 1 in 2**128 draws
            continue
        return candidate


@click.group("keys")
def keys_group() -> None:
    """Manage the accounts (secp256k1 keys) that sign transfers and staking transactions."""


@keys_group.command("location")
@pass_client_context
def keys_location(context: ClientContext) -> None:
    """Print the keystore directory (set HMY_CLI_HOME to use another)."""
    emit(context, {"location": str(get_account_keys_dir())}, str(get_account_keys_dir()))


@keys_group.command("list")
@pass_client_context
def keys_list(context: ClientContext) -> None:
    """List the stored accounts: name and address."""
    accounts = list_accounts()
    lines = [f"{account.name}\t{to_bech32(account.address)}" for account in accounts]
    emit(context, [_describe(account) for account in accounts], "\n".join(lines) if lines else "no accounts")


@keys_group.command("add")
@click.argument("name")
@passphrase_options
@_LIGHT
@pass_client_context
def keys_add(context: ClientContext, name: str, passphrase_file: str | None, no_passphrase: bool, light: bool) -> None:
    """Create a new account NAME with a fresh key, encrypted under a passphrase (asked twice)."""
    passphrase = get_new_passphrase(passphrase_file, no_passphrase)
    _store_new_key(context, _generate_private_key(), name, passphrase, light)


@keys_group.command("import-private-key")
@click.argument("private_key", metavar="HEX", type=_PRIVATE_KEY)
@click.argument("name")
@passphrase_options
@_LIGHT
@pass_client_context
def keys_import_private_key(
    context: ClientContext, private_key: bytes, name: str, passphrase_file: str | None, no_passphrase: bool,
    light: bool,
) -> None:
    """Store the secp256k1 private key HEX (64 hex digits) as account NAME, encrypted."""
    validate_private_key(private_key)
    passphrase = get_new_passphrase(passphrase_file, no_passphrase)
    _store_new_key(context, private_key, name, passphrase, light)


@keys_group.command("import-ks")
@click.argument("keystore_file", type=click.Path(exists=True, dir_okay=False))
@click.argument("name", required=False)
@passphrase_options
@pass_client_context
def keys_import_ks(
    context: ClientContext, keystore_file: str, name: str | None, passphrase_file: str | None, no_passphrase: bool,
) -> None:
    """Import a v3 keystore file (geth, go-sdk, eth-account) as account NAME (default: its one1 address).

    The file's passphrase is checked, and the keystore is stored as it is, under that passphrase.
    """
    document = load_keystore(keystore_file)
    passphrase = get_passphrase(passphrase_file, no_passphrase, keystore_file)
    address = compute_address(decrypt_keystore(document, passphrase))
    # The address field is optional in v3; ours always holds it so accounts are found without unlocking.
    document["address"] = address.hex()
    account = save_account(name if name is not None else to_bech32(address), document)
    emit(context, _describe(account), f"{account.name}\t{to_bech32(account.address)}")


@keys_group.command("export-ks")
@click.argument("name")
@click.argument("directory", type=click.Path(file_okay=False))
@pass_client_context
def keys_export_ks(context: ClientContext, name: str, directory: str) -> None:
    """Copy account NAME's keystore file (still encrypted) into DIRECTORY."""
    account = get_account(name)
    target = Path(directory) / account.path.name
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        created = create_secret_file(target, account.path.read_bytes())
    except OSError as exc:
        raise KeystoreError(f"cannot write {target}: {exc.strerror}") from exc
    if not created:
        raise KeystoreError(f"{target} already exists")
    emit(context, {"name": account.name, "file": str(target)}, str(target))


@keys_group.command("export-private-key")
@click.argument("name")
@passphrase_options
@pass_client_context
def keys_export_private_key(
    context: ClientContext, name: str, passphrase_file: str | None, no_passphrase: bool,
) -> None:
    """Print account NAME's private key in hex (anyone who sees it controls the account)."""
    account = get_account(name)
    private_key = unlock_account(account, get_passphrase(passphrase_file, no_passphrase, f"account {name}"))
    emit(context, {"name": account.name, "private_key": private_key.hex()}, private_key.hex())


@keys_group.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_client_context
def keys_remove(context: ClientContext, name: str, yes: bool) -> None:
    """Delete account NAME and its key file (export it first if it holds funds)."""
    account = get_account(name)
    if not yes:
        click.confirm(f"delete account {name} ({to_bech32(account.address)}) and its key?", abort=True, err=True)
    remove_account(name)
    emit(context, _describe(account), f"removed {name}")
