"""Encrypted BLS key files: round trip, permissions, and every way a file can be wrong."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from crypto import bls
from crypto.bls_keyfile import LIGHT_SCRYPT_N, load_bls_key, save_bls_key
from harmony_node.exceptions import KeystoreError, WrongPassphrase

SECRET = bls.generate_secret_key(b"\x05" * 32)


@pytest.fixture()
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / f"{bls.secret_to_public(SECRET).hex()}.key"
    save_bls_key(path, SECRET, "correct horse", scrypt_n=LIGHT_SCRYPT_N)
    return path


def test_round_trip_and_mode_0600(key_file: Path) -> None:
    assert load_bls_key(key_file, "correct horse") == SECRET
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]  # no temporary left behind


def test_overwrite_keeps_mode(key_file: Path) -> None:
    other = bls.generate_secret_key(b"\x06" * 32)
    save_bls_key(key_file, other, "pw", scrypt_n=LIGHT_SCRYPT_N)
    assert load_bls_key(key_file, "pw") == other
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_wrong_passphrase(key_file: Path) -> None:
    with pytest.raises(WrongPassphrase):
        load_bls_key(key_file, "wrong")
    with pytest.raises(WrongPassphrase):
        load_bls_key(key_file, "")


def _edit(path: Path, change: object) -> None:
    document = json.loads(path.read_text())
    change(document)  # type: ignore[operator]
    path.write_text(json.dumps(document))


def test_tampered_ciphertext_is_detected(key_file: Path) -> None:
    def flip(document: dict) -> None:  # type: ignore[type-arg]
        blob = bytearray.fromhex(document["crypto"]["ciphertext"])
        blob[0] ^= 1
        document["crypto"]["ciphertext"] = blob.hex()

    _edit(key_file, flip)
    with pytest.raises(WrongPassphrase):
        load_bls_key(key_file, "correct horse")


def test_swapped_public_key_is_detected(key_file: Path) -> None:
    other = bls.secret_to_public(bls.generate_secret_key(b"\x09" * 32)).hex()
    _edit(key_file, lambda d: d.__setitem__("public_key", other))
    with pytest.raises(WrongPassphrase):  # the public key is GCM associated data
        load_bls_key(key_file, "correct horse")


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[]", b'{"version": 1}', b'{"version": 2, "crypto": {}}'],
    ids=["empty", "garbage", "list", "missing crypto", "wrong version"],
)
def test_malformed_files_are_keystore_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(KeystoreError):
        load_bls_key(path, "pw")


def test_truncated_file_and_absurd_kdf(key_file: Path) -> None:
    data = key_file.read_bytes()
    key_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(KeystoreError):
        load_bls_key(key_file, "correct horse")
    save_bls_key(key_file, SECRET, "pw", scrypt_n=LIGHT_SCRYPT_N)
    _edit(key_file, lambda d: d["crypto"]["kdfparams"].__setitem__("n", 2**30))
    with pytest.raises(KeystoreError, match="out-of-range"):
        load_bls_key(key_file, "pw")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="cannot read"):
        load_bls_key(tmp_path / "absent.key", "pw")
