"""v3 keystores: interop with eth-account both ways, permissions, and every failure mode."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import PBKDF2
from Crypto.Util import Counter
from eth_account import Account

from crypto.hash import keccak256
from crypto.keystore import decrypt_keystore, encrypt_keystore, load_keystore, save_keystore
from crypto.secp256k1 import SECP256K1_N
from harmony_node.exceptions import InvalidKey, KeystoreError, WrongPassphrase

KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
LIGHT_N = 2**10


@pytest.mark.parametrize(("kdf", "extra"), [("scrypt", {}), ("pbkdf2", {"iterations": 1000})])
def test_eth_account_keystores_decrypt(kdf: str, extra: dict[str, int]) -> None:
    keystore = Account.encrypt(KEY, "pw", kdf=kdf, **extra)
    assert decrypt_keystore(keystore, "pw") == KEY
    assert decrypt_keystore(json.dumps(keystore), "pw") == KEY


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_our_keystores_decrypt_with_eth_account(kdf: str) -> None:
    keystore = encrypt_keystore(KEY, "pw", kdf=kdf, scrypt_n=2**10, pbkdf2_iterations=1000)
    assert bytes(Account.decrypt(keystore, "pw")) == KEY
    assert keystore["address"] == "a5241513da9f4463f1d4874b548dfbac29d91f34"


def test_wrong_passphrase_and_tampering() -> None:
    keystore = encrypt_keystore(KEY, "pw", scrypt_n=LIGHT_N)
    with pytest.raises(WrongPassphrase):
        decrypt_keystore(keystore, "nope")
    for field in ("ciphertext", "mac"):
        tampered = json.loads(json.dumps(keystore))
        value = bytearray.fromhex(tampered["crypto"][field])
        value[0] ^= 1
        tampered["crypto"][field] = value.hex()
        with pytest.raises(WrongPassphrase):
            decrypt_keystore(tampered, "pw")


def _mutated(change: str) -> dict[str, object]:
    keystore = encrypt_keystore(KEY, "pw", scrypt_n=LIGHT_N)
    crypto = keystore["crypto"]
    if change == "version":
        keystore["version"] = 2
    elif change == "cipher":
        crypto["cipher"] = "aes-256-cbc"
    elif change == "kdf":
        crypto["kdf"] = "argon2"
    elif change == "huge n":
        crypto["kdfparams"]["n"] = 2**30
    elif change == "4 GiB of scrypt memory":
        crypto["kdfparams"].update(n=2**20, r=32)  # each within old per-field limits, together 4 GiB
    elif change == "dklen":
        crypto["kdfparams"]["dklen"] = 16
    elif change == "missing mac":
        del crypto["mac"]
    elif change == "no crypto":
        del keystore["crypto"]
    elif change == "address":
        keystore["address"] = "11" * 20
    return keystore


@pytest.mark.parametrize(
    "change",
    ["version", "cipher", "kdf", "huge n", "4 GiB of scrypt memory", "dklen", "missing mac", "no crypto", "address"],
)
def test_malformed_keystores_are_keystore_errors(change: str) -> None:
    with pytest.raises(KeystoreError):
        decrypt_keystore(_mutated(change), "pw")


@pytest.mark.parametrize("text", ["", "not json", "[]", "{}"])
def test_garbage_is_a_keystore_error(text: str) -> None:
    with pytest.raises(KeystoreError):
        decrypt_keystore(text, "pw")


def test_save_is_0600_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    save_keystore(path, encrypt_keystore(KEY, "pw", scrypt_n=LIGHT_N))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert decrypt_keystore(load_keystore(path), "pw") == KEY
    assert [p.name for p in tmp_path.iterdir()] == ["account.json"]
    with pytest.raises(KeystoreError, match="cannot read"):
        load_keystore(tmp_path / "absent.json")


def test_a_leftover_temporary_file_does_not_block_saving(tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    for pid_guess in range(5):  # what an older writer that crashed might have left
        (tmp_path / f".account.json.{pid_guess}.tmp").write_text("stale")
    save_keystore(path, encrypt_keystore(KEY, "pw", scrypt_n=LIGHT_N))
    assert decrypt_keystore(load_keystore(path), "pw") == KEY


def _pbkdf2_keystore_holding(secret: bytes) -> dict[str, object]:
    """A well-formed keystore (correct MAC) around arbitrary 32 bytes, built with pycryptodome directly."""
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


def test_independent_construction_decrypts_and_bad_keys_inside_are_refused() -> None:
    assert decrypt_keystore(_pbkdf2_keystore_holding(KEY), "pw") == KEY
    for secret in (bytes(32), SECP256K1_N.to_bytes(32, "big")):
        with pytest.raises(KeystoreError, match="invalid private key"):
            decrypt_keystore(_pbkdf2_keystore_holding(secret), "pw")


def test_accepted_variants() -> None:
    keystore = encrypt_keystore(KEY, "pw", kdf="pbkdf2", pbkdf2_iterations=10)
    assert decrypt_keystore(json.dumps(keystore).encode(), "pw") == KEY  # bytes
    assert decrypt_keystore({**keystore, "address": "0x" + str(keystore["address"]).upper()}, "pw") == KEY
    without_address = {k: v for k, v in keystore.items() if k != "address"}
    assert decrypt_keystore(without_address, "pw") == KEY
    old_geth = {**without_address, "Crypto": keystore["crypto"]}
    del old_geth["crypto"]
    assert decrypt_keystore(old_geth, "pw") == KEY


@pytest.mark.parametrize(
    ("section", "changes", "match"),
    [
        ("kdfparams", {"n": 3 * 2**10}, "scrypt parameters"),
        ("kdfparams", {"n": 1}, "scrypt parameters"),
        ("kdfparams", {"p": 0}, "scrypt parameters"),
        ("kdfparams", {"salt": "zz"}, "malformed keystore"),
        ("cipherparams", {"iv": "00" * 15}, "iv must be 16 bytes"),
        ("crypto", {"ciphertext": "not hex"}, "malformed keystore"),
        ("crypto", {"kdfparams": "scrypt"}, "malformed keystore"),
    ],
)
def test_absurd_parameters_are_refused(section: str, changes: dict[str, object], match: str) -> None:
    keystore = encrypt_keystore(KEY, "pw", scrypt_n=LIGHT_N)
    crypto = keystore["crypto"]
    (crypto if section == "crypto" else crypto[section]).update(changes)
    with pytest.raises(KeystoreError, match=match):
        decrypt_keystore(keystore, "pw")


@pytest.mark.parametrize(("changes", "match"), [({"prf": "hmac-sha512"}, "unsupported pbkdf2 prf"),
                                                 ({"c": 0}, "iteration count"), ({"c": 10**9}, "iteration count")])
def test_pbkdf2_parameters_are_checked(changes: dict[str, object], match: str) -> None:
    keystore = encrypt_keystore(KEY, "pw", kdf="pbkdf2", pbkdf2_iterations=10)
    keystore["crypto"]["kdfparams"].update(changes)
    with pytest.raises(KeystoreError, match=match):
        decrypt_keystore(keystore, "pw")


def test_encrypt_refuses_bad_input() -> None:
    with pytest.raises(KeystoreError, match="unsupported keystore kdf 'argon2'"):
        encrypt_keystore(KEY, "pw", kdf="argon2")
    with pytest.raises(InvalidKey):
        encrypt_keystore(bytes(32), "pw")


def test_fresh_salt_iv_and_id_each_time() -> None:
    first, second = (encrypt_keystore(KEY, "pw", kdf="pbkdf2", pbkdf2_iterations=10) for _ in range(2))
    assert first["id"] != second["id"] and first["crypto"]["ciphertext"] != second["crypto"]["ciphertext"]
    assert first["crypto"]["kdfparams"]["salt"] != second["crypto"]["kdfparams"]["salt"]


def test_save_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    path.write_text("old")
    path.chmod(0o644)
    save_keystore(path, encrypt_keystore(KEY, "pw", kdf="pbkdf2", pbkdf2_iterations=10))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert decrypt_keystore(load_keystore(path), "pw") == KEY


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe", b"{}" + b" " * 70_000])
def test_unreadable_files_are_keystore_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "account.json"
    path.write_bytes(content)
    with pytest.raises(KeystoreError):
        load_keystore(path)
