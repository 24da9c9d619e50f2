"""Loading a validator's encrypted BLS keys with a passphrase file."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto import bls
from crypto.bls_keyfile import LIGHT_SCRYPT_N, save_bls_key
from harmony_node.exceptions import KeystoreError, WrongPassphrase
from harmony_node.node.keys import load_validator_keys, read_passphrase_file


def test_passphrase_file_first_line(tmp_path: Path) -> None:
    path = tmp_path / "pass"
    path.write_text("s3cret word\nignored\n")
    assert read_passphrase_file(path) == "s3cret word"
    path.write_text("")
    assert read_passphrase_file(path) == ""
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(KeystoreError, match="UTF-8"):
        read_passphrase_file(path)
    path.write_text("x" * 5000)
    with pytest.raises(KeystoreError, match="larger"):
        read_passphrase_file(path)
    with pytest.raises(KeystoreError, match="cannot read"):
        read_passphrase_file(tmp_path / "absent")


def test_keys_load_and_errors_name_the_file(tmp_path: Path) -> None:
    secrets = [bls.generate_secret_key(bytes([i]) * 32) for i in (1, 2)]
    paths = [tmp_path / f"k{i}.key" for i in (1, 2)]
    for secret, path in zip(secrets, paths):
        save_bls_key(path, secret, "pw", scrypt_n=LIGHT_SCRYPT_N)
    assert load_validator_keys(paths, "pw") == secrets
    with pytest.raises(WrongPassphrase, match="k1.key"):
        load_validator_keys(paths, "wrong")
    with pytest.raises(KeystoreError, match="twice"):
        load_validator_keys([paths[0], paths[0]], "pw")
