"""Ethereum Web3 Secret Storage (v3) keystores: the account key files ``hmy keys`` reads and writes.

Interoperable with geth, eth-account and Harmony's go-sdk (a geth scrypt keystore) in both
directions: scrypt or PBKDF2-HMAC-SHA256 derives a 32-byte key; AES-128-CTR under its first half
encrypts the private key; the MAC is keccak256(second half ‖ ciphertext) and is checked before
anything is decrypted. Documents are parsed field by field so each refusal names the bad field.
"""

from __future__ import annotations

import hmac
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import PBKDF2, scrypt
from Crypto.Util import Counter

from crypto.address import parse_address
from crypto.hash import keccak256
from crypto.secp256k1 import compute_address, validate_private_key
from crypto.secret_file import MAX_SECRET_FILE_BYTES, read_json_secret_file, write_secret_file
from harmony_node.exceptions import InvalidAddress, InvalidKey, KeystoreError, WrongPassphrase

KEYSTORE_VERSION = 3
CIPHER = "aes-128-ctr"
DEFAULT_SCRYPT_N = 262_144
"""geth's "standard" scrypt cost (~1 s, 256 MiB)."""
SCRYPT_R = 8
SCRYPT_P = 1
DEFAULT_PBKDF2_ITERATIONS = 1_000_000
"""eth-account's default for PBKDF2 keystores."""
MAX_SCRYPT_COST = 2**30
"""Upper bound on 128·n·r·p, the bytes of memory scrypt needs: 4× geth's standard setting, so a
hostile keystore file cannot make us allocate gigabytes."""
MAX_PBKDF2_ITERATIONS = 10_000_000
DERIVED_KEY_LENGTH = 32
SALT_SIZE = 32
IV_SIZE = 16
MAC_SIZE = 32
PRIVATE_KEY_SIZE = 32
MAX_JSON_BRACKETS = 64
"""A v3 keystore has 4 JSON objects; allow extra metadata but never deep nesting."""


@dataclass(frozen=True, slots=True)
class _ScryptParams:
    """scrypt cost parameters and salt (kdf ``scrypt``)."""

    n: int
    r: int
    p: int
    salt: bytes


@dataclass(frozen=True, slots=True)
class _Pbkdf2Params:
    """PBKDF2-HMAC-SHA256 iteration count and salt (kdf ``pbkdf2``)."""

    iterations: int
    salt: bytes


@dataclass(frozen=True, slots=True)
class _EncryptedKey:
    """The parts of a v3 document that decryption needs, each checked for type and size."""

    kdf: _ScryptParams | _Pbkdf2Params
    iv: bytes
    ciphertext: bytes
    mac: bytes
    address: bytes | None


def _validate_kdf_params(params: _ScryptParams | _Pbkdf2Params) -> None:
    if isinstance(params, _ScryptParams):
        n, r, p = params.n, params.r, params.p
        if n < 2 or n & (n - 1) or r < 1 or p < 1 or 128 * n * r * p > MAX_SCRYPT_COST:
            raise KeystoreError(
                f"keystore has out-of-range scrypt parameters n={n} r={r} p={p} "
                f"(n a power of two >= 2, 128*n*r*p <= {MAX_SCRYPT_COST})"
            )
    elif not 1 <= params.iterations <= MAX_PBKDF2_ITERATIONS:
        raise KeystoreError(
            f"keystore has an out-of-range pbkdf2 iteration count {params.iterations} (1..{MAX_PBKDF2_ITERATIONS})"
        )


def _encode_passphrase(passphrase: str) -> bytes:
    # geth hashes the passphrase's raw bytes. surrogateescape turns bytes that were not UTF-8 (a
    # passphrase file or argv decoded by Python) back into exactly those bytes.
    try:
        return passphrase.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise KeystoreError("passphrase holds a lone surrogate that has no byte encoding") from exc


def _derive_key(passphrase: str, params: _ScryptParams | _Pbkdf2Params) -> bytes:
    _validate_kdf_params(params)
    secret = _encode_passphrase(passphrase)
    if isinstance(params, _ScryptParams):
        # pycryptodome's stubs say str, but the functions take (and geth needs) the raw passphrase bytes.
        key = scrypt(
            secret, params.salt, DERIVED_KEY_LENGTH, N=params.n, r=params.r, p=params.p  # type: ignore[arg-type]
        )
    else:
        key = PBKDF2(
            secret, params.salt, dkLen=DERIVED_KEY_LENGTH, count=params.iterations,  # type: ignore[arg-type]
            hmac_hash_module=SHA256,
        )
    if not isinstance(key, bytes):  # pycryptodome returns a tuple only when asked for several keys
        raise KeystoreError("key derivation returned several keys")
    return key


def _aes_128_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    # The whole 16-byte IV is the initial counter block, incremented as one big-endian integer (geth, eth-keyfile).
    counter = Counter.new(128, initial_value=int.from_bytes(iv, "big"))
    result: bytes = AES.new(key, AES.MODE_CTR, counter=counter).encrypt(data)
    return result


def _require_field(section: dict[str, Any], name: str, where: str) -> Any:
    if name not in section:
        raise KeystoreError(f"keystore is missing {where}{name}")
    return section[name]


def _require_object(section: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = _require_field(section, name, where)
    if not isinstance(value, dict):
        raise KeystoreError(f"keystore {where}{name} must be a JSON object")
    return value


def _require_int(section: dict[str, Any], name: str, where: str) -> int:
    value = _require_field(section, name, where)
    if type(value) is not int:  # bool is an int subclass, and floats would be silently truncated
        raise KeystoreError(f"keystore {where}{name} must be an integer, got {value!r}")
    return value


def _require_hex(section: dict[str, Any], name: str, where: str, size: int | None = None) -> bytes:
    value = _require_field(section, name, where)
    # bytes.fromhex would skip spaces; geth's hex decoder accepts exactly hex digits, no 0x.
    if not isinstance(value, str) or len(value) % 2 or not all(c in "0123456789abcdefABCDEF" for c in value):
        raise KeystoreError(f"keystore {where}{name} must be a string of hex digit pairs (no 0x)")
    decoded = bytes.fromhex(value)
    if size is not None and len(decoded) != size:
        raise KeystoreError(f"keystore {where}{name} must be {size} bytes, got {len(decoded)}")
    return decoded


def _decode_document(keystore: dict[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(keystore, dict):
        return keystore
    if not isinstance(keystore, (str, bytes)):
        raise KeystoreError(f"a keystore is a JSON object, text or bytes, got {type(keystore).__name__}")
    if len(keystore) > MAX_SECRET_FILE_BYTES:
        raise KeystoreError(f"keystore JSON is longer than {MAX_SECRET_FILE_BYTES}: too large to be a keystore")
    # Nesting depth is at most the number of opening brackets. Bound it before json.loads: once py_ecc is
    # imported (it raises the recursion limit to 100000) deeply nested JSON overflows the C stack and
    # kills the process instead of raising RecursionError.
    if isinstance(keystore, bytes):
        openers = keystore.count(b"{") + keystore.count(b"[")
    else:
        openers = keystore.count("{") + keystore.count("[")
    if openers > MAX_JSON_BRACKETS:
        raise KeystoreError(f"keystore JSON has {openers} opening brackets, more than a keystore's {MAX_JSON_BRACKETS}")
    try:
        document = json.loads(keystore)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise KeystoreError("keystore is not valid JSON") from exc
    if not isinstance(document, dict):
        raise KeystoreError("a keystore is a JSON object")
    return document


def _parse_keystore(document: dict[str, Any]) -> _EncryptedKey:
    version = document.get("version")
    if type(version) is not int or version != KEYSTORE_VERSION:
        raise KeystoreError(f"unsupported keystore version {version!r} (expected {KEYSTORE_VERSION})")
    # geth before 1.4 wrote "Crypto"; eth-account reads both spellings.
    section = _require_object(document, "Crypto" if "crypto" not in document and "Crypto" in document else "crypto", "")
    cipher = _require_field(section, "cipher", "crypto.")
    if cipher != CIPHER:
        raise KeystoreError(f"unsupported keystore cipher {cipher!r} (only {CIPHER})")
    kdf = _require_field(section, "kdf", "crypto.")
    kdf_params = _require_object(section, "kdfparams", "crypto.")
    where = "crypto.kdfparams."
    dklen = _require_int(kdf_params, "dklen", where)
    if dklen != DERIVED_KEY_LENGTH:
        raise KeystoreError(f"keystore {where}dklen must be {DERIVED_KEY_LENGTH}, got {dklen}")
    salt = _require_hex(kdf_params, "salt", where)
    params: _ScryptParams | _Pbkdf2Params
    if kdf == "scrypt":
        params = _ScryptParams(
            n=_require_int(kdf_params, "n", where), r=_require_int(kdf_params, "r", where),
            p=_require_int(kdf_params, "p", where), salt=salt,
        )
    elif kdf == "pbkdf2":
        prf = kdf_params.get("prf", "hmac-sha256")  # geth and eth-account both write it; absent means the default
        if prf != "hmac-sha256":
            raise KeystoreError(f"unsupported pbkdf2 prf {prf!r} (only hmac-sha256)")
        params = _Pbkdf2Params(iterations=_require_int(kdf_params, "c", where), salt=salt)
    else:
        raise KeystoreError(f"unsupported keystore kdf {kdf!r} (scrypt or pbkdf2)")
    _validate_kdf_params(params)
    cipher_params = _require_object(section, "cipherparams", "crypto.")
    return _EncryptedKey(
        kdf=params,
        iv=_require_hex(cipher_params, "iv", "crypto.cipherparams.", IV_SIZE),
        ciphertext=_require_hex(section, "ciphertext", "crypto."),
        mac=_require_hex(section, "mac", "crypto.", MAC_SIZE),
        address=_parse_address_field(document.get("address")),
    )


def _parse_address_field(value: object) -> bytes | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise KeystoreError("keystore address must be a string")
    # geth writes 40 lower-case hex digits without 0x; accept 0x… and one1… too.
    text = value if value.lower().startswith(("0x", "one1")) else "0x" + value
    try:
        address = parse_address(text)
    except InvalidAddress as exc:
        raise KeystoreError(f"keystore address is not an address: {exc}") from exc
    return address


def encrypt_keystore(
    private_key: bytes,
    passphrase: str,
    *,
    kdf: str = "scrypt",
    scrypt_n: int = DEFAULT_SCRYPT_N,
    scrypt_r: int = SCRYPT_R,
    scrypt_p: int = SCRYPT_P,
    pbkdf2_iterations: int = DEFAULT_PBKDF2_ITERATIONS,
) -> dict[str, Any]:
    """A v3 keystore document holding ``private_key`` under ``passphrase``, with fresh random salt, IV and id."""
    validate_private_key(private_key)
    salt, iv = os.urandom(SALT_SIZE), os.urandom(IV_SIZE)
    params: _ScryptParams | _Pbkdf2Params
    if kdf == "scrypt":
        params = _ScryptParams(n=scrypt_n, r=scrypt_r, p=scrypt_p, salt=salt)
        kdf_params: dict[str, Any] = {"dklen": DERIVED_KEY_LENGTH, "n": scrypt_n, "p": scrypt_p, "r": scrypt_r,
                                      "salt": salt.hex()}
    elif kdf == "pbkdf2":
        params = _Pbkdf2Params(iterations=pbkdf2_iterations, salt=salt)
        kdf_params = {"c": pbkdf2_iterations, "dklen": DERIVED_KEY_LENGTH, "prf": "hmac-sha256", "salt": salt.hex()}
    else:
        raise KeystoreError(f"unsupported keystore kdf {kdf!r} (scrypt or pbkdf2)")
    derived = _derive_key(passphrase, params)
    ciphertext = _aes_128_ctr(derived[:16], iv, private_key)
    return {
        "address": compute_address(private_key).hex(),
        "crypto": {
            "cipher": CIPHER,
            "cipherparams": {"iv": iv.hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": kdf,
            "kdfparams": kdf_params,
            "mac": keccak256(derived[16:32] + ciphertext).hex(),
        },
        "id": str(uuid.uuid4()),
        "version": KEYSTORE_VERSION,
    }


def decrypt_keystore(keystore: dict[str, Any] | str | bytes, passphrase: str) -> bytes:
    """The 32-byte private key inside a v3 keystore (a parsed document or its JSON text).

    Raises WrongPassphrase when the MAC does not match, KeystoreError for anything malformed or
    unsupported, for a decrypted key outside 1..n-1, or for a key that does not match the file's address.
    """
    encrypted = _parse_keystore(_decode_document(keystore))
    derived = _derive_key(passphrase, encrypted.kdf)
    if not hmac.compare_digest(keccak256(derived[16:32] + encrypted.ciphertext), encrypted.mac):
        raise WrongPassphrase("wrong passphrase for keystore (MAC mismatch)")
    plaintext = _aes_128_ctr(derived[:16], encrypted.iv, encrypted.ciphertext)
    if len(plaintext) > PRIVATE_KEY_SIZE:
        raise KeystoreError(f"keystore ciphertext is {len(plaintext)} bytes, longer than a private key")
    # Old pyethereum dropped a key's leading zero bytes (geth's v3 vectors "30_byte_key" and
    # "31_byte_key"); geth reads the plaintext as a big-endian number, so left-pad it the same way.
    private_key = plaintext.rjust(PRIVATE_KEY_SIZE, b"\0")
    try:
        validate_private_key(private_key)
    except InvalidKey as exc:
        raise KeystoreError(f"keystore holds an invalid private key: {exc}") from exc
    if encrypted.address is not None and compute_address(private_key) != encrypted.address:
        raise KeystoreError(
            f"keystore address 0x{encrypted.address.hex()} does not match its private key "
            f"(0x{compute_address(private_key).hex()})"
        )
    return private_key


def save_keystore(path: str | Path, keystore: dict[str, Any]) -> None:
    """Write a keystore document to ``path`` with mode 0600, replacing any old file atomically.

    The document is checked first, so a malformed one is refused rather than written.
    """
    _parse_keystore(keystore)
    # write_secret_file creates the temporary with mode 0600 (mkstemp: os.open(O_CREAT|O_EXCL, 0o600)),
    # fsyncs it and renames it into place.
    write_secret_file(path, json.dumps(keystore).encode())


def load_keystore(path: str | Path) -> dict[str, Any]:
    """Read and check a keystore document (decrypt it with ``decrypt_keystore``)."""
    document = read_json_secret_file(path, "keystore")
    _parse_keystore(document)
    return document
