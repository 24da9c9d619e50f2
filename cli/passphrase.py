"""Where a keystore passphrase comes from: a file, the terminal (hidden), or an explicit ``--no-passphrase``.

An empty passphrase is never chosen silently: the terminal prompt re-asks on empty input, a new key
refuses an empty passphrase file, and only ``--no-passphrase`` stores or unlocks a key without one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from harmony_node.exceptions import KeystoreError
from harmony_node.node.keys import read_passphrase_file

F = TypeVar("F", bound=Callable[..., Any])


def passphrase_options(command: F) -> F:
    """Add ``--passphrase-file`` and ``--no-passphrase`` to a command that encrypts or unlocks an account."""
    command = click.option(
        "--no-passphrase", is_flag=True,
        help="Use an empty passphrase (throwaway localnet keys only).",
    )(command)
    return click.option(
        "--passphrase-file", type=click.Path(dir_okay=False), default=None,
        help="Read the passphrase from the first line of this file instead of asking.",
    )(command)


def _validate_one_source(passphrase_file: str | None, no_passphrase: bool) -> None:
    if passphrase_file is not None and no_passphrase:
        raise click.UsageError("give either --passphrase-file or --no-passphrase, not both")


def get_new_passphrase(passphrase_file: str | None, no_passphrase: bool) -> str:
    """The passphrase to encrypt a new key with: from the file, empty by choice, or asked twice."""
    _validate_one_source(passphrase_file, no_passphrase)
    if no_passphrase:
        return ""
    if passphrase_file is not None:
        passphrase = read_passphrase_file(passphrase_file)
        if not passphrase:
            raise KeystoreError(f"passphrase file {passphrase_file} is empty (use --no-passphrase for no passphrase)")
        return passphrase
    return str(click.prompt("Passphrase for the new key", hide_input=True, confirmation_prompt=True, err=True))


def get_passphrase(passphrase_file: str | None, no_passphrase: bool, what: str) -> str:
    """The passphrase that unlocks ``what``: from the file, empty by choice, or asked once."""
    _validate_one_source(passphrase_file, no_passphrase)
    if no_passphrase:
        return ""
    if passphrase_file is not None:
        return read_passphrase_file(passphrase_file)
    return str(click.prompt(f"Passphrase for {what}", hide_input=True, err=True))
