"""Fuzzing key files a user or operator may be handed: v3 keystores (``hmy keys``) and BLS key files.

Documents are mutated as bytes and as JSON (fields deleted, retyped, replaced by odd values); the
decoders may only return a key or raise ``KeystoreError`` (``WrongPassphrase`` included). The KDF cost
of the valid seeds is tiny, and mutated parameters stay cheap, so a wrong passphrase is still tried.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crypto import bls
from crypto.bls_keyfile import decrypt_bls_key, encrypt_bls_key
from crypto.keystore import decrypt_keystore, encrypt_keystore
from crypto.secret_file import read_json_secret_file
from harmony_node.exceptions import KeystoreError
from fuzzing import attempt, FUZZ, Mutate, Record



PASSPHRASE = "correct horse"
PRIVATE_KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
KEYSTORES = [
    encrypt_keystore(PRIVATE_KEY, PASSPHRASE, kdf="scrypt", scrypt_n=16, scrypt_r=1),
    encrypt_keystore(PRIVATE_KEY, PASSPHRASE, kdf="pbkdf2", pbkdf2_iterations=8),
]
BLS_SECRET = bls.generate_secret_key(b"\x42" * 32)
BLS_KEY_FILES = [encrypt_bls_key(BLS_SECRET, PASSPHRASE, scrypt_n=16)]

# JSON values a mutation puts in place of a field: every JSON type, with numbers that stay cheap as
# KDF costs (a large power of two as scrypt n would be a legitimate, slow, key derivation).
_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 4096), st.sampled_from([2**31, 2**64, -(2**63), 10**40]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
    st.sampled_from(["", "0x", "00", "zz", "scrypt", "pbkdf2", "aes-128-ctr", "aes-256-gcm", "hmac-sha256",
                     "ab" * 16, "ab" * 32, "ab" * 48, "ab" * 12, "one1zksj3evekayy90xt4psrz8h6j2v3hla4qwz4ur",
                     "\ud800", "é"]),
)
_JSON = st.recursive(_JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                     max_leaves=6)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _mutate_document(data: Any, document: dict[str, Any]) -> Any:
    """A copy of ``document`` with one to three fields replaced, deleted, or changed in type."""
    result: Any = json.loads(json.dumps(document))
    for _ in range(data.draw(st.integers(1, 3), label="json mutations")):
        paths = _paths(result)
        path = data.draw(st.sampled_from(paths), label="json path")
        if not path:
            result = data.draw(_JSON, label="whole document")
            continue
        parent = result
        for key in path[:-1]:
            parent = parent[key]
        op = data.draw(st.integers(0, 3), label="json op")
        if op == 0:
            del parent[path[-1]]
        elif op == 1 and isinstance(parent[path[-1]], str):
            text = parent[path[-1]]
            parent[path[-1]] = text[: data.draw(st.integers(0, len(text)), label="cut")] + data.draw(
                st.text(alphabet="0123456789abcdefxX ", max_size=3), label="hex tail")
        else:
            parent[path[-1]] = data.draw(_JSON, label="json value")
    return result


def _draw_document_bytes(data: Any, mutate: Mutate, seeds: list[dict[str, Any]]) -> bytes:
    seed = data.draw(st.sampled_from(seeds), label="seed")
    kind = data.draw(st.integers(0, 9), label="source")
    if kind == 0:
        raw: bytes = data.draw(st.binary(max_size=300), label="arbitrary")
        return raw
    if kind == 1:
        return json.dumps(seed).encode()
    if kind < 4:
        return mutate(data, json.dumps(seed).encode())  # byte-level: flips, cuts, depth bombs
    return json.dumps(_mutate_document(data, seed)).encode("utf-8", "surrogatepass")




@FUZZ
@given(data=st.data())
def test_fuzz_keystore(data: Any, fuzz_record: Record, fuzz_mutate: Mutate) -> None:
    raw = _draw_document_bytes(data, fuzz_mutate, KEYSTORES)
    passphrase = data.draw(st.sampled_from([PASSPHRASE, "wrong", "\udcff"]), label="passphrase")
    key = attempt(fuzz_record, "decrypt_keystore", lambda text: decrypt_keystore(text, passphrase), raw, KeystoreError)
    if key is not None and key != PRIVATE_KEY:
        # The v3 format's MAC covers the ciphertext, not the IV: another IV decrypts to another key,
        # which only the address field (checked when present, as geth does) can catch. Nothing else
        # may change what comes out.
        document = json.loads(raw)
        section = document.get("crypto", document.get("Crypto"))
        iv = bytes.fromhex(section["cipherparams"]["iv"])
        assert "address" not in document and iv not in SEED_IVS, (key.hex(), document)


SEED_IVS = {bytes.fromhex(keystore["crypto"]["cipherparams"]["iv"]) for keystore in KEYSTORES}


@FUZZ
@given(data=st.data())
@example(data=None).via("valid file")
def test_fuzz_bls_key_file(data: Any, fuzz_record: Record, fuzz_mutate: Mutate, tmp_path: Path) -> None:
    raw = json.dumps(BLS_KEY_FILES[0]).encode() if data is None else _draw_document_bytes(data, fuzz_mutate, BLS_KEY_FILES)
    passphrase = PASSPHRASE if data is None else data.draw(st.sampled_from([PASSPHRASE, "wrong"]), label="passphrase")
    path = tmp_path / "bls.key"
    path.write_bytes(raw)

    def load(_: bytes) -> int:
        return decrypt_bls_key(read_json_secret_file(path, "BLS key file"), passphrase)

    secret = attempt(fuzz_record, "load_bls_key", load, raw, KeystoreError)
    if secret is not None:
        assert secret == BLS_SECRET


@pytest.mark.parametrize("document", [KEYSTORES[0], KEYSTORES[1]], ids=["scrypt", "pbkdf2"])
def test_valid_keystores_decrypt(document: dict[str, Any], fuzz_record: Record) -> None:
    assert attempt(fuzz_record, "decrypt_keystore", lambda raw: decrypt_keystore(raw, PASSPHRASE),
                   json.dumps(document).encode(), KeystoreError) == PRIVATE_KEY
