"""v3 keystores: geth's vectors, interop with eth-account both ways, file permissions, and every refusal."""

from __future__ import annotations

import copy
import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import PBKDF2
from Crypto.Util import Counter
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.address import to_bech32
from crypto.hash import keccak256
from crypto.keystore import decrypt_keystore, encrypt_keystore, load_keystore, save_keystore
from crypto.secp256k1 import SECP256K1_N
from harmony_node.exceptions import InvalidKey, KeystoreError, WrongPassphrase

# The well-known localnet account (DESIGN.md §4).
KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
ADDRESS = "a5241513da9f4463f1d4874b548dfbac29d91f34"
LIGHT_N = 2**10
LIGHT_ITERATIONS = 1000


def _light(kdf: str = "scrypt") -> dict[str, Any]:
    return encrypt_keystore(KEY, "pw", kdf=kdf, scrypt_n=LIGHT_N, pbkdf2_iterations=LIGHT_ITERATIONS)


# From go-ethereum accounts/keystore/testdata/v3_test_vector.json (the Web3 Secret Storage wiki page
# vectors and the short-key files old pyethereum wrote) and very-light-scrypt.json.
WIKI_KEY = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"
GETH_VECTORS: list[tuple[str, dict[str, Any], str, str]] = [
    ("wiki scrypt", {"crypto": {
        "cipher": "aes-128-ctr", "cipherparams": {"iv": "83dbcc02d8ccb40e466191a123791e0e"},
        "ciphertext": "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c", "kdf": "scrypt",
        "kdfparams": {"dklen": 32, "n": 262144, "r": 1, "p": 8,
                      "salt": "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"},
        "mac": "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"},
        "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6", "version": 3}, "testpassword", WIKI_KEY),
    ("wiki pbkdf2", {"crypto": {
        "cipher": "aes-128-ctr", "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
        "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46", "kdf": "pbkdf2",
        "kdfparams": {"c": 262144, "dklen": 32, "prf": "hmac-sha256",
                      "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"},
        "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"},
        "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6", "version": 3}, "testpassword", WIKI_KEY),
    ("31-byte key", {"crypto": {
        "cipher": "aes-128-ctr", "cipherparams": {"iv": "e0c41130a323adc1446fc82f724bca2f"},
        "ciphertext": "9517cd5bdbe69076f9bf5057248c6c050141e970efa36ce53692d5d59a3984", "kdf": "scrypt",
        "kdfparams": {"dklen": 32, "n": 2, "r": 8, "p": 1,
                      "salt": "711f816911c92d649fb4c84b047915679933555030b3552c1212609b38208c63"},
        "mac": "d5e116151c6aa71470e67a7d42c9620c75c4d23229847dcc127794f0732b0db5"},
        "id": "fecfc4ce-e956-48fd-953b-30f8b52ed66c", "version": 3},
        "foo", "00fa7b3db73dc7dfdf8c5fbdb796d741e4488628c41fc4febd9160a866ba0f35"),
    ("30-byte key", {"crypto": {
        "cipher": "aes-128-ctr", "cipherparams": {"iv": "3ca92af36ad7c2cd92454c59cea5ef00"},
        "ciphertext": "108b7d34f3442fc26ab1ab90ca91476ba6bfa8c00975a49ef9051dc675aa", "kdf": "scrypt",
        "kdfparams": {"dklen": 32, "n": 2, "r": 8, "p": 1,
                      "salt": "d0769e608fb86cda848065642a9c6fa046845c928175662b8e356c77f914cd3b"},
        "mac": "75d0e6759f7b3cefa319c3be41680ab6beea7d8328653474bd06706d4cc67420"},
        "id": "a37e1559-5955-450d-8075-7b8931b392b2", "version": 3},
        "foo", "000081c29e8142bb6a81bef5a92bda7a8328a5c85bb2f9542e76f9b0f94fc018"),
]
GETH_VERY_LIGHT_SCRYPT: dict[str, Any] = {
    "address": "45dea0fb0bba44f4fcf290bba71fd57d7117cbb8",
    "crypto": {"cipher": "aes-128-ctr",
               "ciphertext": "b87781948a1befd247bff51ef4063f716cf6c2d3481163e9a8f42e1f9bb74145",
               "cipherparams": {"iv": "dc4926b48a105133d2f16b96833abf1e"}, "kdf": "scrypt",
               "kdfparams": {"dklen": 32, "n": 2, "p": 1, "r": 8,
                             "salt": "004244bbdc51cadda545b1cfa43cff9ed2ae88e08c61f1479dbb45410722f8f0"},
               "mac": "39990c1684557447940d4c69e06b1b82b2aceacb43f284df65c956daf3046b85"},
    "id": "ce541d8d-c79b-40f8-9f8c-20f59616faba", "version": 3,
}


@pytest.mark.parametrize(("name", "keystore", "passphrase", "key"), GETH_VECTORS, ids=[v[0] for v in GETH_VECTORS])
def test_geth_vectors(name: str, keystore: dict[str, Any], passphrase: str, key: str) -> None:
    assert decrypt_keystore(keystore, passphrase).hex() == key


def test_geth_short_key_vectors_refuse_a_wrong_passphrase() -> None:
    for _, keystore, passphrase, _ in GETH_VECTORS[2:]:  # the light ones: n=2
        with pytest.raises(WrongPassphrase):
            decrypt_keystore(keystore, passphrase + "x")


def test_geth_very_light_scrypt_file_with_address() -> None:
    key = decrypt_keystore(GETH_VERY_LIGHT_SCRYPT, "")  # geth's testdata passphrase is empty
    assert Account.from_key(key).address.lower() == "0x" + GETH_VERY_LIGHT_SCRYPT["address"]


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_eth_account_keystores_decrypt(kdf: str) -> None:
    keystore = Account.encrypt(KEY, "pw", kdf=kdf, iterations=LIGHT_N if kdf == "scrypt" else LIGHT_ITERATIONS)
    assert decrypt_keystore(keystore, "pw") == KEY
    assert decrypt_keystore(json.dumps(keystore), "pw") == KEY
    assert decrypt_keystore(json.dumps(keystore).encode(), "pw") == KEY


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_our_keystores_decrypt_with_eth_account(kdf: str) -> None:
    keystore = _light(kdf)
    assert bytes(Account.decrypt(keystore, "pw")) == KEY
    assert bytes(Account.decrypt(json.dumps(keystore), "pw")) == KEY


secret_keys = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))


@settings(max_examples=20)
@given(secret_keys, st.text(max_size=20))
def test_interop_both_ways_for_any_key_and_passphrase(key: bytes, passphrase: str) -> None:
    ours = encrypt_keystore(key, passphrase, kdf="pbkdf2", pbkdf2_iterations=2)
    assert bytes(Account.decrypt(ours, passphrase)) == key
    theirs = Account.encrypt(key, passphrase, kdf="pbkdf2", iterations=2)
    assert decrypt_keystore(theirs, passphrase) == key
    assert decrypt_keystore(ours, passphrase) == key


def test_passphrase_bytes_that_are_not_utf8_match_raw_bytes_elsewhere() -> None:
    # Python decodes such argv/file bytes with surrogateescape; geth and eth-account hash the raw bytes.
    keystore = Account.encrypt(KEY, b"\xffpw\x80", kdf="pbkdf2", iterations=2)
    assert decrypt_keystore(keystore, "\udcffpw\udc80") == KEY
    ours = encrypt_keystore(KEY, "\udcffpw", kdf="pbkdf2", pbkdf2_iterations=2)
    assert bytes(Account.decrypt(ours, b"\xffpw")) == KEY
    with pytest.raises(KeystoreError, match="lone surrogate"):
        encrypt_keystore(KEY, "\ud800", kdf="pbkdf2", pbkdf2_iterations=2)
    with pytest.raises(KeystoreError, match="lone surrogate"):
        decrypt_keystore(keystore, "\ud800")


def test_document_has_the_geth_shape() -> None:
    keystore = _light()
    assert keystore["version"] == 3 and keystore["address"] == ADDRESS
    assert uuid.UUID(keystore["id"]).version == 4
    crypto = keystore["crypto"]
    assert crypto["cipher"] == "aes-128-ctr" and crypto["kdf"] == "scrypt"
    assert {k: v for k, v in crypto["kdfparams"].items() if k != "salt"} == {"dklen": 32, "n": LIGHT_N, "r": 8, "p": 1}
    assert len(bytes.fromhex(crypto["kdfparams"]["salt"])) == 32
    assert len(bytes.fromhex(crypto["cipherparams"]["iv"])) == 16
    assert len(bytes.fromhex(crypto["ciphertext"])) == 32 and len(bytes.fromhex(crypto["mac"])) == 32
    pbkdf2 = _light("pbkdf2")["crypto"]["kdfparams"]
    assert {k: v for k, v in pbkdf2.items() if k != "salt"} == {"c": LIGHT_ITERATIONS, "dklen": 32,
                                                                "prf": "hmac-sha256"}


def test_fresh_salt_iv_and_id_each_time() -> None:
    first, second = _light("pbkdf2"), _light("pbkdf2")
    assert first["id"] != second["id"]
    assert first["crypto"]["kdfparams"]["salt"] != second["crypto"]["kdfparams"]["salt"]
    assert first["crypto"]["cipherparams"]["iv"] != second["crypto"]["cipherparams"]["iv"]


def test_wrong_passphrase() -> None:
    for kdf in ("scrypt", "pbkdf2"):
        with pytest.raises(WrongPassphrase, match="MAC mismatch"):
            decrypt_keystore(_light(kdf), "Pw")


def _with(keystore: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``keystore`` with the field at dotted ``path`` set to ``value`` (deleted if ``...``)."""
    changed = copy.deepcopy(keystore)
    *parents, name = path.split(".")
    section = changed
    for parent in parents:
        section = section[parent]
    if value is ...:
        del section[name]
    else:
        section[name] = value
    return changed


def _flip_first_byte(hex_text: str) -> str:
    return f"{int(hex_text[:2], 16) ^ 1:02x}" + hex_text[2:]


@pytest.mark.parametrize("field", ["crypto.ciphertext", "crypto.mac", "crypto.kdfparams.salt"])
def test_tampering_is_a_mac_mismatch(field: str) -> None:
    keystore = _light()
    section: Any = keystore
    for name in field.split("."):
        section = section[name]
    with pytest.raises(WrongPassphrase):
        decrypt_keystore(_with(keystore, field, _flip_first_byte(section)), "pw")


def test_tampered_iv_is_caught_by_the_address() -> None:
    # The v3 MAC does not cover the IV: a changed IV decrypts to another key, which the address check refuses.
    keystore = _light()
    tampered = _with(keystore, "crypto.cipherparams.iv", _flip_first_byte(keystore["crypto"]["cipherparams"]["iv"]))
    with pytest.raises(KeystoreError, match=f"keystore address 0x{ADDRESS} does not match its private key"):
        decrypt_keystore(tampered, "pw")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("version", 2, "unsupported keystore version 2 \\(expected 3\\)"),
        ("version", "3", "unsupported keystore version '3'"),
        ("version", True, "unsupported keystore version True"),
        ("version", ..., "unsupported keystore version None"),
        ("crypto", ..., "keystore is missing crypto"),
        ("crypto", [], "keystore crypto must be a JSON object"),
        ("crypto.cipher", "aes-128-cbc", "unsupported keystore cipher 'aes-128-cbc' \\(only aes-128-ctr\\)"),
        ("crypto.cipher", ..., "keystore is missing crypto.cipher"),
        ("crypto.kdf", "argon2id", "unsupported keystore kdf 'argon2id' \\(scrypt or pbkdf2\\)"),
        ("crypto.kdf", ..., "keystore is missing crypto.kdf"),
        ("crypto.kdfparams", "scrypt", "keystore crypto.kdfparams must be a JSON object"),
        ("crypto.kdfparams.n", ..., "keystore is missing crypto.kdfparams.n"),
        ("crypto.kdfparams.n", 1024.0, "crypto.kdfparams.n must be an integer, got 1024.0"),
        ("crypto.kdfparams.n", "1024", "crypto.kdfparams.n must be an integer"),
        ("crypto.kdfparams.r", True, "crypto.kdfparams.r must be an integer, got True"),
        ("crypto.kdfparams.n", 3 * 2**10, "out-of-range scrypt parameters n=3072"),
        ("crypto.kdfparams.n", 1, "out-of-range scrypt parameters n=1"),
        ("crypto.kdfparams.n", 2**30, "out-of-range scrypt parameters"),  # 128 GiB of memory
        ("crypto.kdfparams.p", 0, "out-of-range scrypt parameters"),
        ("crypto.kdfparams.dklen", 16, "crypto.kdfparams.dklen must be 32, got 16"),
        ("crypto.kdfparams.salt", "zz", "crypto.kdfparams.salt must be a string of hex digit pairs"),
        ("crypto.kdfparams.salt", 7, "crypto.kdfparams.salt must be a string of hex digit pairs"),
        ("crypto.cipherparams", ..., "keystore is missing crypto.cipherparams"),
        ("crypto.cipherparams.iv", ..., "keystore is missing crypto.cipherparams.iv"),
        ("crypto.cipherparams.iv", "00" * 15, "crypto.cipherparams.iv must be 16 bytes, got 15"),
        ("crypto.ciphertext", "not hex", "crypto.ciphertext must be a string of hex digit pairs"),
        ("crypto.ciphertext", "ab cd", "crypto.ciphertext must be a string of hex digit pairs"),
        ("crypto.ciphertext", ..., "keystore is missing crypto.ciphertext"),
        ("crypto.mac", ..., "keystore is missing crypto.mac"),
        ("crypto.mac", "00" * 31, "crypto.mac must be 32 bytes, got 31"),
        ("address", "11" * 20, f"keystore address 0x{'11' * 20} does not match its private key \\(0x{ADDRESS}\\)"),
        ("address", "xyz", "keystore address is not an address"),
        ("address", 5, "keystore address must be a string"),
    ],
)
def test_malformed_keystores_say_what_is_wrong(path: str, value: Any, message: str) -> None:
    with pytest.raises(KeystoreError, match=message) as info:
        decrypt_keystore(_with(_light(), path, value), "pw")
    assert not isinstance(info.value, WrongPassphrase)


def test_four_gib_of_scrypt_memory_is_refused() -> None:
    keystore = _with(_with(_light(), "crypto.kdfparams.n", 2**20), "crypto.kdfparams.r", 32)  # each field plausible
    with pytest.raises(KeystoreError, match="out-of-range scrypt parameters"):
        decrypt_keystore(keystore, "pw")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("crypto.kdfparams.prf", "hmac-sha512", "unsupported pbkdf2 prf 'hmac-sha512'"),
        ("crypto.kdfparams.c", 0, "out-of-range pbkdf2 iteration count 0"),
        ("crypto.kdfparams.c", 10**9, "out-of-range pbkdf2 iteration count"),
        ("crypto.kdfparams.c", ..., "keystore is missing crypto.kdfparams.c"),
    ],
)
def test_pbkdf2_parameters_are_checked(path: str, value: Any, message: str) -> None:
    with pytest.raises(KeystoreError, match=message):
        decrypt_keystore(_with(_light("pbkdf2"), path, value), "pw")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        ("not json", "not valid JSON"),
        (b"\xff\xfe{", "not valid JSON"),
        ("[" * 60_000, "60000 opening brackets"),  # would crash json.loads once py_ecc raised the recursion limit
        ('{"a": ' * 65 + "1" + "}" * 65, "65 opening brackets, more than a keystore's 64"),
        ("{" + " " * 70_000 + "}", "too large to be a keystore"),
        ("[]", "a keystore is a JSON object"),
        ("{}", "unsupported keystore version None"),
    ],
)
def test_garbage_is_a_keystore_error(text: str | bytes, message: str) -> None:
    with pytest.raises(KeystoreError, match=message):
        decrypt_keystore(text, "pw")


def test_a_non_document_is_a_keystore_error() -> None:
    with pytest.raises(KeystoreError, match="got int"):
        decrypt_keystore(3, "pw")  # type: ignore[arg-type]


def test_accepted_variants() -> None:
    keystore = _light("pbkdf2")
    for address in ("0x" + ADDRESS.upper(), "0x" + ADDRESS, to_bech32(bytes.fromhex(ADDRESS)), ""):
        assert decrypt_keystore(_with(keystore, "address", address), "pw") == KEY
    without_address = _with(keystore, "address", ...)
    assert decrypt_keystore(without_address, "pw") == KEY
    assert decrypt_keystore(_with(without_address, "crypto.kdfparams.prf", ...), "pw") == KEY  # default prf
    old_geth = {**_with(without_address, "crypto", ...), "Crypto": keystore["crypto"]}
    assert decrypt_keystore(old_geth, "pw") == KEY


def _pbkdf2_keystore_holding(secret: bytes) -> dict[str, Any]:
    """A well-formed keystore (correct MAC, no address) around any bytes, built with pycryptodome directly."""
    salt, iv = b"\x01" * 32, b"\x02" * 16
    derived = PBKDF2("pw", salt, dkLen=32, count=10, hmac_hash_module=SHA256)
    assert isinstance(derived, bytes)
    counter = Counter.new(128, initial_value=int.from_bytes(iv, "big"))
    ciphertext = AES.new(derived[:16], AES.MODE_CTR, counter=counter).encrypt(secret)
    return {
        "crypto": {"cipher": "aes-128-ctr", "cipherparams": {"iv": iv.hex()}, "ciphertext": ciphertext.hex(),
                   "kdf": "pbkdf2", "kdfparams": {"c": 10, "dklen": 32, "prf": "hmac-sha256", "salt": salt.hex()},
                   "mac": keccak256(derived[16:] + ciphertext).hex()},
        "id": "00000000-0000-4000-8000-000000000000",
        "version": 3,
    }


def test_independent_construction_decrypts() -> None:
    assert decrypt_keystore(_pbkdf2_keystore_holding(KEY), "pw") == KEY
    assert decrypt_keystore(_pbkdf2_keystore_holding(KEY[1:]), "pw") == b"\0" + KEY[1:]  # short keys left-padded


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (bytes(32), "invalid private key: secp256k1 private key is out of range"),
        (SECP256K1_N.to_bytes(32, "big"), "invalid private key: secp256k1 private key is out of range"),
        (b"\xff" * 32, "invalid private key"),
        (b"", "invalid private key"),
        (KEY + b"\0", "ciphertext is 33 bytes, longer than a private key"),
    ],
)
def test_invalid_keys_inside_are_refused(secret: bytes, message: str) -> None:
    with pytest.raises(KeystoreError, match=message):
        decrypt_keystore(_pbkdf2_keystore_holding(secret), "pw")


def test_encrypt_refuses_bad_input() -> None:
    with pytest.raises(KeystoreError, match="unsupported keystore kdf 'argon2'"):
        encrypt_keystore(KEY, "pw", kdf="argon2")
    with pytest.raises(KeystoreError, match="out-of-range scrypt parameters n=1000"):
        encrypt_keystore(KEY, "pw", scrypt_n=1000)
    with pytest.raises(KeystoreError, match="out-of-range pbkdf2 iteration count 0"):
        encrypt_keystore(KEY, "pw", kdf="pbkdf2", pbkdf2_iterations=0)
    for key in (bytes(32), KEY[:31], SECP256K1_N.to_bytes(32, "big")):
        with pytest.raises(InvalidKey):
            encrypt_keystore(key, "pw", scrypt_n=LIGHT_N)


def test_save_is_0600_atomic_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    keystore = _light()
    save_keystore(path, keystore)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keystore(path) == keystore
    assert decrypt_keystore(load_keystore(path), "pw") == KEY
    assert bytes(Account.decrypt(path.read_text(), "pw")) == KEY
    assert [p.name for p in tmp_path.iterdir()] == ["account.json"]  # no temporary left behind


def test_save_is_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        save_keystore(tmp_path / "account.json", _light("pbkdf2"))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "account.json").stat().st_mode) == 0o600


def test_save_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    path.write_text("old")
    path.chmod(0o644)
    save_keystore(path, _light("pbkdf2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert decrypt_keystore(load_keystore(path), "pw") == KEY


def test_a_leftover_temporary_file_does_not_block_saving(tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    for pid_guess in range(5):  # what an older writer that crashed might have left
        (tmp_path / f".account.json.{pid_guess}.tmp").write_text("stale")
    save_keystore(path, _light("pbkdf2"))
    assert decrypt_keystore(load_keystore(path), "pw") == KEY


def test_save_refuses_a_malformed_document(tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    with pytest.raises(KeystoreError, match="unsupported keystore version 2"):
        save_keystore(path, _with(_light("pbkdf2"), "version", 2))
    assert list(tmp_path.iterdir()) == []


def test_load_checks_the_document(tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    path.write_text(json.dumps(_with(_light("pbkdf2"), "crypto.mac", ...)))
    with pytest.raises(KeystoreError, match="keystore is missing crypto.mac"):
        load_keystore(path)
    with pytest.raises(KeystoreError, match="cannot read"):
        load_keystore(tmp_path / "absent.json")


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe", b"{}" + b" " * 70_000])
def test_unreadable_files_are_keystore_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "account.json"
    path.write_bytes(content)
    with pytest.raises(KeystoreError):
        load_keystore(path)


def test_create_secret_file_creates_once_private(tmp_path: Path) -> None:
    from crypto.secret_file import create_secret_file

    path = tmp_path / "identity.key"
    assert create_secret_file(path, b"first")
    assert not create_secret_file(path, b"second")  # it exists: left alone
    assert path.read_bytes() == b"first" and path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["identity.key"]  # no temporary left behind


def test_a_changed_iv_is_caught_by_the_address_field() -> None:
    """The v3 MAC covers the ciphertext, not the IV, so another IV decrypts, without a MAC error, to
    another key. The address field is what catches it (geth's "key content mismatch"); a keystore
    without one cannot (fuzzing found the case; eth-account has the same limit)."""
    key = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
    document = encrypt_keystore(key, "pass", kdf="scrypt", scrypt_n=16, scrypt_r=1)
    tampered = copy.deepcopy(document)
    iv = bytearray.fromhex(tampered["crypto"]["cipherparams"]["iv"])
    iv[0] ^= 1
    tampered["crypto"]["cipherparams"]["iv"] = iv.hex()
    with pytest.raises(KeystoreError, match="does not match its private key"):
        decrypt_keystore(tampered, "pass")
    del tampered["address"]
    assert decrypt_keystore(tampered, "pass") != key
