"""Encrypted BLS secret key files (what ``hmy-node keys generate-bls`` writes).

JSON, version 1:

    {"version": 1, "public_key": "<96 hex>",
     "crypto": {"kdf": "scrypt", "kdfparams": {"n": 262144, "r": 8, "p": 1, "salt": "<hex>"},
                "cipher": "aes-256-gcm", "nonce": "<hex>", "ciphertext": "<hex, includes tag>"}}

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
from harmony_node.exceptions import HarmonyError, KeystoreError, WrongPassphrase

FILE_VERSION = 1
DEFAULT_SCRYPT_N = 2**18
"""~0.5-1 s per key on one core: the user-facing default."""
LIGHT_SCRYPT_N = 2**12
"""For tests and throwaway localnet keys, where start-up speed matters more than guess cost."""
MAX_SCRYPT_N = 2**20


def _derive_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    key = scrypt(passphrase.encode(), salt, key_len=32, N=n, r=r, p=p)  # type: ignore[arg-type]
    if not isinstance(key, bytes):  # scrypt returns a tuple only when asked for several keys
        raise KeystoreError("scrypt returned several keys")
    return key


def encrypt_bls_key(secret_key: int, passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> dict[str, Any]:
    """The key-file document for ``secret_key`` encrypted under ``passphrase``."""
    if scrypt_n < 2 or scrypt_n > MAX_SCRYPT_N or scrypt_n & (scrypt_n - 1):
        raise ValueError("scrypt_n must be a power of two up to 2**20")
    public_key = bls.secret_to_public(secret_key)
    salt, nonce = os.urandom(32), os.urandom(12)
    cipher = AES.new(_derive_key(passphrase, salt, scrypt_n, 8, 1), AES.MODE_GCM, nonce=nonce)
    cipher.update(public_key)
    ciphertext, tag = cipher.encrypt_and_digest(bls.secret_key_to_bytes(secret_key))
    return {
        "version": FILE_VERSION,
        "public_key": public_key.hex(),
        "crypto": {
            "kdf": "scrypt",
            "kdfparams": {"n": scrypt_n, "r": 8, "p": 1, "salt": salt.hex()},
            "cipher": "aes-256-gcm",
            "nonce": nonce.hex(),
            "ciphertext": (ciphertext + tag).hex(),
        },
    }


def decrypt_bls_key(document: dict[str, Any], passphrase: str) -> int:
    """The secret key in a key-file document; WrongPassphrase or KeystoreError on failure."""
    try:
        if document["version"] != FILE_VERSION:
            raise KeystoreError(f"unsupported BLS key file version {document['version']!r}")
        params = document["crypto"]
        if params["kdf"] != "scrypt" or params["cipher"] != "aes-256-gcm":
            raise KeystoreError("unsupported kdf or cipher in BLS key file")
        kdf = params["kdfparams"]
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        if n < 2 or n > MAX_SCRYPT_N or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
            raise KeystoreError("BLS key file has out-of-range scrypt parameters")
        salt = bytes.fromhex(kdf["salt"])
        nonce = bytes.fromhex(params["nonce"])
        blob = bytes.fromhex(params["ciphertext"])
        public_key = bytes.fromhex(document["public_key"])
    except KeystoreError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise KeystoreError(f"malformed BLS key file: {exc!r}") from exc
    if len(blob) != bls.SECRET_KEY_SIZE + 16 or len(nonce) != 12:
        raise KeystoreError("malformed BLS key file: wrong ciphertext or nonce length")
    cipher = AES.new(_derive_key(passphrase, salt, n, r, p), AES.MODE_GCM, nonce=nonce)
    cipher.update(public_key)
    try:
        plaintext = cipher.decrypt_and_verify(blob[:-16], blob[-16:])
    except ValueError as exc:  # the GCM tag does not match: wrong passphrase or edited file
        raise WrongPassphrase("wrong passphrase for BLS key file (or the file was modified)") from exc
    try:
        secret = bls.secret_key_from_bytes(plaintext)
    except HarmonyError as exc:
        raise KeystoreError(f"BLS key file holds an invalid secret key: {exc}") from exc
    if bls.secret_to_public(secret) != public_key:
        raise KeystoreError("BLS key file's public key does not match its secret key")
    return secret


def save_bls_key(path: str | Path, secret_key: int, passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> None:
    """Encrypt ``secret_key`` into ``path`` (mode 0600), replacing it atomically."""
    document = encrypt_bls_key(secret_key, passphrase, scrypt_n=scrypt_n)
    write_secret_file(path, json.dumps(document, indent=2).encode())


def load_bls_key(path: str | Path, passphrase: str) -> int:
    """Read and decrypt a BLS key file."""
    return decrypt_bls_key(read_json_secret_file(path, "BLS key file"), passphrase)
