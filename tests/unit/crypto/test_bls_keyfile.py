"""Encrypted BLS key files: round trip, permissions, and every way a file can be wrong."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crypto import bls
from crypto.bls_keyfile import LIGHT_SCRYPT_N, encrypt_bls_key, load_bls_key, save_bls_key
from harmony_node.exceptions import KeystoreError, WrongPassphrase

SECRET = bls.generate_secret_key(b"\x05" * 32)
PASSPHRASE = "correct horse"


@pytest.fixture()
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / f"{bls.secret_to_public(SECRET).hex()}.key"
    save_bls_key(path, SECRET, PASSPHRASE, scrypt_n=LIGHT_SCRYPT_N)
    return path


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_round_trip_and_mode_0600(key_file: Path) -> None:
    assert load_bls_key(key_file, PASSPHRASE) == SECRET
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]  # no temporary left behind


def test_file_format(key_file: Path) -> None:
    document = json.loads(key_file.read_text())
    assert document["version"] == 1
    assert document["public_key"] == bls.secret_to_public(SECRET).hex()
    assert document["crypto"]["kdf"] == "scrypt" and document["crypto"]["cipher"] == "aes-256-gcm"
    assert document["crypto"]["kdfparams"]["n"] == LIGHT_SCRYPT_N
    assert len(bytes.fromhex(document["crypto"]["ciphertext"])) == 32 + 16
    assert bls.secret_key_to_bytes(SECRET).hex() not in key_file.read_text()
    # A fresh salt and nonce every time: two encryptions of one key share nothing.
    again = encrypt_bls_key(SECRET, PASSPHRASE, scrypt_n=LIGHT_SCRYPT_N)
    assert again["crypto"]["kdfparams"]["salt"] != document["crypto"]["kdfparams"]["salt"]
    assert again["crypto"]["ciphertext"] != document["crypto"]["ciphertext"]


def test_mode_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        save_bls_key(tmp_path / "k.key", SECRET, PASSPHRASE, scrypt_n=LIGHT_SCRYPT_N)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600


def test_overwrite_keeps_mode(key_file: Path) -> None:
    other = bls.generate_secret_key(b"\x06" * 32)
    key_file.chmod(0o644)
    save_bls_key(key_file, other, "pw", scrypt_n=LIGHT_SCRYPT_N)
    assert load_bls_key(key_file, "pw") == other
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_non_ascii_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    save_bls_key(path, SECRET, "pässwörd \udcff", scrypt_n=LIGHT_SCRYPT_N)
    assert load_bls_key(path, "pässwörd \udcff") == SECRET
    with pytest.raises(WrongPassphrase):
        load_bls_key(path, "passwort")


@pytest.mark.parametrize("passphrase", ["wrong", "", PASSPHRASE + " "])
def test_wrong_passphrase(key_file: Path, passphrase: str) -> None:
    with pytest.raises(WrongPassphrase):
        load_bls_key(key_file, passphrase)


def _flip_hex(document: dict[str, Any], *keys: str) -> None:
    holder = document
    for key in keys[:-1]:
        holder = holder[key]
    blob = bytearray.fromhex(holder[keys[-1]])
    blob[0] ^= 1
    holder[keys[-1]] = blob.hex()


@pytest.mark.parametrize(
    "field",
    [("crypto", "ciphertext"), ("crypto", "nonce"), ("crypto", "kdfparams", "salt"), ("public_key",)],
    ids=["ciphertext", "nonce", "salt", "public key"],
)
def test_tampering_fails_the_gcm_tag(key_file: Path, field: tuple[str, ...]) -> None:
    _edit(key_file, lambda document: _flip_hex(document, *field))
    with pytest.raises(WrongPassphrase):
        load_bls_key(key_file, PASSPHRASE)


def test_tag_is_checked(key_file: Path) -> None:
    def flip_last(document: dict[str, Any]) -> None:
        blob = bytearray.fromhex(document["crypto"]["ciphertext"])
        blob[-1] ^= 1
        document["crypto"]["ciphertext"] = blob.hex()

    _edit(key_file, flip_last)
    with pytest.raises(WrongPassphrase):
        load_bls_key(key_file, PASSPHRASE)


def test_public_key_not_matching_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that recorded (and authenticated) the wrong public key: the tag passes, the key check does not."""
    wrong_public_key = bls.secret_to_public(bls.generate_secret_key(b"\x09" * 32))
    path = tmp_path / "k.key"
    with monkeypatch.context() as patch:
        patch.setattr(bls, "secret_to_public", lambda secret: wrong_public_key)
        save_bls_key(path, SECRET, PASSPHRASE, scrypt_n=LIGHT_SCRYPT_N)
    with pytest.raises(KeystoreError, match="does not match") as raised:
        load_bls_key(path, PASSPHRASE)
    assert not isinstance(raised.value, WrongPassphrase)


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"\xff\xfe", b"[]", b"null", b'{"version": 1}', b'{"version": 2, "crypto": {}}'],
    ids=["empty", "garbage", "not utf-8", "list", "null", "missing crypto", "wrong version"],
)
def test_malformed_files_are_keystore_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(KeystoreError):
        load_bls_key(path, "pw")


def _set(*keys: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        holder = document
        for key in keys[:-1]:
            holder = holder[key]
        holder[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    "change",
    [
        _set("crypto", "kdfparams", "n", value=2**30),
        _set("crypto", "kdfparams", "n", value=3000),
        _set("crypto", "kdfparams", "n", value="4096"),
        _set("crypto", "kdfparams", "r", value=True),
        _set("crypto", "kdfparams", "r", value=2**20),
        _set("crypto", "kdfparams", "p", value=0),
        _set("crypto", "kdf", value="pbkdf2"),
        _set("crypto", "cipher", value="aes-128-ctr"),
        _set("crypto", "nonce", value="00"),
        _set("crypto", "nonce", value="zz" * 12),
        _set("crypto", "kdfparams", "salt", value=7),
        _set("crypto", "ciphertext", value="00" * 47),
        _set("public_key", value="00" * 47),
        _set("crypto", value=[]),
    ],
    ids=[
        "huge n", "n not a power of two", "n a string", "r a bool", "huge r", "p zero", "other kdf",
        "other cipher", "short nonce", "non-hex nonce", "salt not a string", "short ciphertext",
        "short public key", "crypto a list",
    ],
)
def test_bad_fields_are_keystore_errors(key_file: Path, change: Callable[[dict[str, Any]], None]) -> None:
    _edit(key_file, change)
    with pytest.raises(KeystoreError) as raised:
        load_bls_key(key_file, PASSPHRASE)
    assert not isinstance(raised.value, WrongPassphrase)


def test_truncated_file(key_file: Path) -> None:
    data = key_file.read_bytes()
    for size in (1, len(data) // 2, len(data) - 2):
        key_file.write_bytes(data[:size])
        with pytest.raises(KeystoreError):
            load_bls_key(key_file, PASSPHRASE)


def test_missing_file_and_unwritable_place(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="cannot read"):
        load_bls_key(tmp_path / "absent.key", "pw")
    with pytest.raises(KeystoreError, match="cannot write"):
        save_bls_key(tmp_path / "no-such-dir" / "k.key", SECRET, "pw", scrypt_n=LIGHT_SCRYPT_N)


def test_bad_scrypt_cost_is_refused_when_writing(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError):
        save_bls_key(tmp_path / "k.key", SECRET, "pw", scrypt_n=1000)
    assert not (tmp_path / "k.key").exists()
