"""Ethereum Web3 Secret Storage (v3) keystores: the account key files ``hmy keys`` reads and writes.

Interoperable with geth, eth-account and Harmony's go-sdk in both directions: scrypt or PBKDF2
(HMAC-SHA256) derives a 32-byte key; AES-128-CTR under its first half encrypts the private key;
the MAC is keccak256(second half ‖ ciphertext), checked before anything is decrypted.
"""

from __future__ import annotations

import hmac
import json
import os
import uuid
from pathlib import Path
from typing import Any

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import PBKDF2, scrypt
from Crypto.Util import Counter

from crypto.hash import keccak256
from crypto.secret_file import read_json_secret_file, write_secret_file
from crypto.secp256k1 import compute_address, validate_private_key
from harmony_node.exceptions import InvalidKey, KeystoreError, WrongPassphrase

DEFAULT_SCRYPT_N = 262_144
"""geth's "standard" scrypt cost (~1 s)."""
MAX_SCRYPT_COST = 2**30
"""Upper bound on 128·n·r·p, the bytes of memory scrypt needs: 4× geth's standard setting, so a
hostile keystore file cannot make us allocate gigabytes."""
MAX_PBKDF2_ITERATIONS = 10_000_000


def _derive_key(passphrase: str, kdf: str, params: dict[str, Any]) -> bytes:
    salt = bytes.fromhex(params["salt"])
    if int(params["dklen"]) != 32:
        raise KeystoreError("keystore kdf dklen must be 32")
    if kdf == "scrypt":
        n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
        if n < 2 or n & (n - 1) or r < 1 or p < 1 or 128 * n * r * p > MAX_SCRYPT_COST:
            raise KeystoreError("keystore has out-of-range scrypt parameters")
        key = scrypt(passphrase.encode(), salt, key_len=32, N=n, r=r, p=p)  # type: ignore[arg-type]
    elif kdf == "pbkdf2":
        if params.get("prf", "hmac-sha256") != "hmac-sha256":
            raise KeystoreError(f"unsupported pbkdf2 prf {params.get('prf')!r}")
        iterations = int(params["c"])
        if not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
            raise KeystoreError("keystore has an out-of-range pbkdf2 iteration count")
        key = PBKDF2(passphrase.encode(), salt, dkLen=32, count=iterations, hmac_hash_module=SHA256)  # type: ignore[arg-type]
    else:
        raise KeystoreError(f"unsupported keystore kdf {kdf!r}")
    if not isinstance(key, bytes):  # the KDFs return tuples only when asked for several keys
        raise KeystoreError("key derivation returned several keys")
    return key


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    counter = Counter.new(128, initial_value=int.from_bytes(iv, "big"))
    result: bytes = AES.new(key, AES.MODE_CTR, counter=counter).encrypt(data)
    return result


def encrypt_keystore(
    private_key: bytes,
    passphrase: str,
    *,
    kdf: str = "scrypt",
    scrypt_n: int = DEFAULT_SCRYPT_N,
    pbkdf2_iterations: int = 262_144,
) -> dict[str, Any]:
    """A v3 keystore document holding ``private_key`` encrypted under ``passphrase``."""
    validate_private_key(private_key)
    salt, iv = os.urandom(32), os.urandom(16)
    if kdf == "scrypt":
        params: dict[str, Any] = {"dklen": 32, "n": scrypt_n, "r": 8, "p": 1, "salt": salt.hex()}
    elif kdf == "pbkdf2":
        params = {"dklen": 32, "c": pbkdf2_iterations, "prf": "hmac-sha256", "salt": salt.hex()}
    else:
        raise KeystoreError(f"unsupported keystore kdf {kdf!r}")
    derived = _derive_key(passphrase, kdf, params)
    ciphertext = _aes_ctr(derived[:16], iv, private_key)
    return {
        "address": compute_address(private_key).hex(),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv.hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": kdf,
            "kdfparams": params,
            "mac": keccak256(derived[16:32] + ciphertext).hex(),
        },
        "id": str(uuid.uuid4()),
        "version": 3,
    }


def decrypt_keystore(keystore: dict[str, Any] | str | bytes, passphrase: str) -> bytes:
    """The private key inside a v3 keystore; WrongPassphrase or KeystoreError on failure."""
    try:
        document = json.loads(keystore) if isinstance(keystore, (str, bytes)) else keystore
        if not isinstance(document, dict):
            raise KeystoreError("a keystore is a JSON object")
        if document.get("version") != 3:
            raise KeystoreError(f"unsupported keystore version {document.get('version')!r} (expected 3)")
        crypto_section = document.get("crypto", document.get("Crypto"))
        if not isinstance(crypto_section, dict):
            raise KeystoreError("keystore has no crypto section")
        if crypto_section["cipher"] != "aes-128-ctr":
            raise KeystoreError(f"unsupported keystore cipher {crypto_section['cipher']!r}")
        derived = _derive_key(passphrase, crypto_section["kdf"], crypto_section["kdfparams"])
        ciphertext = bytes.fromhex(crypto_section["ciphertext"])
        iv = bytes.fromhex(crypto_section["cipherparams"]["iv"])
        mac = bytes.fromhex(crypto_section["mac"])
    except KeystoreError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # json errors are ValueErrors
        raise KeystoreError(f"malformed keystore: {exc!r}") from exc
    if len(iv) != 16:
        raise KeystoreError("keystore iv must be 16 bytes")
    if not hmac.compare_digest(keccak256(derived[16:32] + ciphertext), mac):
        raise WrongPassphrase("wrong passphrase for keystore (MAC mismatch)")
    private_key = _aes_ctr(derived[:16], iv, ciphertext)
    try:
        validate_private_key(private_key)
    except InvalidKey as exc:
        raise KeystoreError(f"keystore holds an invalid private key: {exc}") from exc
    expected = document.get("address")
    if expected and compute_address(private_key).hex() != str(expected).lower().removeprefix("0x"):
        raise KeystoreError("keystore address does not match its private key")
    return private_key


def save_keystore(path: str | Path, keystore: dict[str, Any]) -> None:
    """Write a keystore to ``path`` with mode 0600, replacing any old file atomically."""
    write_secret_file(path, json.dumps(keystore).encode())


def load_keystore(path: str | Path) -> dict[str, Any]:
    """Read a keystore document (decrypt it with ``decrypt_keystore``)."""
    return read_json_secret_file(path, "keystore")
