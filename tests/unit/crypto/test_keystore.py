"""v3 keystores: interop with eth-account both ways, permissions, and every failure mode."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from crypto.keystore import decrypt_keystore, encrypt_keystore, load_keystore, save_keystore
from harmony_node.exceptions import KeystoreError, WrongPassphrase

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


@pytest.mark.parametrize("change", ["version", "cipher", "kdf", "huge n", "4 GiB of scrypt memory", "dklen", "missing mac", "no crypto", "address"])
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
