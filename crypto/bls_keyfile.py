"""Encrypted BLS secret key files (what ``hmy-node keys generate-bls`` writes).

JSON, version 1:

    {"version": 1, "public_key": "<96 hex>",
     "crypto": {"kdf": "scrypt", "kdfparams": {"n": 262144, "r": 8, "p": 1, "salt": "<64 hex>"},
                "cipher": "aes-256-gcm", "nonce": "<24 hex>", "ciphertext": "<128 hex: 32 B key + 16 B tag>"}}

Unlike Harmony's files (AES key = hex of MD5(passphrase)), the key comes from scrypt, so a stolen
file costs an attacker real work per guess. GCM authenticates the ciphertext and binds the public
key in as associated data, so a wrong passphrase or an edited file is detected. Files are written
with mode 0600 and never exist with wider permissions, even briefly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from Crypto.Cipher import AES
from Crypto.Protocol.KDF import scrypt

from crypto import bls
from crypto.secret_file import read_json_secret_file, write_secret_file
from harmony_node.exceptions import InvalidKey, KeystoreError, WrongPassphrase

FILE_VERSION = 1
DEFAULT_SCRYPT_N = 2**18
"""~0.9 s and 256 MiB per key with r=8: the user-facing default."""
LIGHT_SCRYPT_N = 2**12
"""For tests and throwaway localnet keys, where start-up speed matters more than guess cost."""
SCRYPT_R = 8
SCRYPT_P = 1
MAX_SCRYPT_COST = 2**30
"""Upper bound on 128·n·r·p (bytes of memory times sequential lanes) a file may ask for: 4× the
default, so a hostile file cannot make the node allocate gigabytes or spin for minutes."""
SALT_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16


def _validate_scrypt_params(n: int, r: int, p: int) -> None:
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or 128 * n * r * p > MAX_SCRYPT_COST:
        raise KeystoreError(f"out-of-range scrypt parameters n={n} r={r} p={p}")


def _derive_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # surrogatepass: any str encodes, even one holding undecodable terminal bytes.
    secret = passphrase.encode("utf-8", "surrogatepass")
    key = scrypt(secret, salt, key_len=32, N=n, r=r, p=p)  # type: ignore[arg-type]
    if not isinstance(key, bytes):  # scrypt returns a tuple only when asked for several keys
        raise KeystoreError("scrypt returned several keys")
    return key


def encrypt_bls_key(secret_key: int, passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> dict[str, Any]:
    """The key-file document for ``secret_key`` encrypted under ``passphrase`` (fresh salt and nonce)."""
    _validate_scrypt_params(scrypt_n, SCRYPT_R, SCRYPT_P)
    public_key = bls.secret_to_public(secret_key)
    salt, nonce = os.urandom(SALT_SIZE), os.urandom(NONCE_SIZE)
    cipher = AES.new(_derive_key(passphrase, salt, scrypt_n, SCRYPT_R, SCRYPT_P), AES.MODE_GCM, nonce=nonce)
    cipher.update(public_key)
    ciphertext, tag = cipher.encrypt_and_digest(bls.secret_key_to_bytes(secret_key))
    return {
        "version": FILE_VERSION,
        "public_key": public_key.hex(),
        "crypto": {
            "kdf": "scrypt",
            "kdfparams": {"n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()},
            "cipher": "aes-256-gcm",
            "nonce": nonce.hex(),
            "ciphertext": (ciphertext + tag).hex(),
        },
    }


def _get_int(params: dict[str, Any], name: str) -> int:
    value = params[name]
    if type(value) is not int:  # bool is an int subclass; "8" and 8.0 are not file format
        raise KeystoreError(f"BLS key file: scrypt parameter {name} must be an integer")
    return value


def _get_hex(params: dict[str, Any], name: str, size: int) -> bytes:
    value = bytes.fromhex(params[name])
    if len(value) != size:
        raise KeystoreError(f"BLS key file: {name} must be {size} bytes, got {len(value)}")
    return value


def decrypt_bls_key(document: dict[str, Any], passphrase: str) -> int:
    """The secret key in a key-file document; WrongPassphrase or KeystoreError on failure."""
    try:
        if document["version"] != FILE_VERSION:
            raise KeystoreError(f"unsupported BLS key file version {document['version']!r}")
        params = document["crypto"]
        if params["kdf"] != "scrypt" or params["cipher"] != "aes-256-gcm":
            raise KeystoreError("unsupported kdf or cipher in BLS key file")
        kdf = params["kdfparams"]
        n, r, p = _get_int(kdf, "n"), _get_int(kdf, "r"), _get_int(kdf, "p")
        _validate_scrypt_params(n, r, p)
        salt = _get_hex(kdf, "salt", SALT_SIZE)
        nonce = _get_hex(params, "nonce", NONCE_SIZE)
        blob = _get_hex(params, "ciphertext", bls.SECRET_KEY_SIZE + TAG_SIZE)
        public_key = _get_hex(document, "public_key", bls.PUBLIC_KEY_SIZE)
    except (KeyError, TypeError, ValueError) as exc:  # missing field, wrong JSON type, bad hex
        raise KeystoreError(f"malformed BLS key file: {exc!r}") from exc
    cipher = AES.new(_derive_key(passphrase, salt, n, r, p), AES.MODE_GCM, nonce=nonce)
    cipher.update(public_key)
    try:
        plaintext = cipher.decrypt_and_verify(blob[:-TAG_SIZE], blob[-TAG_SIZE:])
    except ValueError as exc:  # the GCM tag does not match: wrong passphrase or edited file
        raise WrongPassphrase("wrong passphrase for BLS key file (or the file was modified)") from exc
    # Past the tag, the file is what its writer meant; these checks catch a buggy or hostile writer.
    try:
        secret = bls.secret_key_from_bytes(plaintext)
    except InvalidKey as exc:
        raise KeystoreError(f"BLS key file holds an invalid secret key: {exc}") from exc
    if bls.secret_to_public(secret) != public_key:
        raise KeystoreError("BLS key file's public key does not match its secret key")
    return secret


def save_bls_key(path: str | Path, secret_key: int, passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> None:
    """Encrypt ``secret_key`` into ``path`` (mode 0600), replacing it atomically; KeystoreError on I/O failure."""
    document = encrypt_bls_key(secret_key, passphrase, scrypt_n=scrypt_n)
    try:
        write_secret_file(path, json.dumps(document, indent=2).encode())
    except OSError as exc:
        raise KeystoreError(f"cannot write BLS key file {path}: {exc.strerror}") from exc


def load_bls_key(path: str | Path, passphrase: str) -> int:
    """Read and decrypt a BLS key file; WrongPassphrase or KeystoreError on failure."""
    return decrypt_bls_key(read_json_secret_file(path, "BLS key file"), passphrase)
