"""Regenerate transactions.json with outside code: pyhmy 0.1.0 and eth-account 0.11.

    .venv/bin/python tests/vectors/transactions/make_vectors.py

Every vector records what the signing library reported (raw bytes, hash) so our decoder is checked
against their output, not against itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from pyhmy.signing import sign_transaction
from pyhmy.staking_signing import sign_staking_transaction
from pyhmy.staking_structures import Directive

KEY = "0x1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc"
ADDRESS_ONE = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"
ADDRESS_HEX = "0xa5241513da9f4463f1d4874b548dfbac29d91f34"
VALIDATOR_ONE = "one1pdv9lrdwl0rg5vglh4xtyrv3wjk3wsqket7zxy"  # an arbitrary valid address
BLS_KEY = "0x" + "b2" * 48
BLS_SIG = "0x" + "c3" * 96

PLAIN = {
    "same-shard": {"nonce": 0, "gasPrice": 100 * 10**9, "gas": 21000, "shardID": 0, "toShardID": 0,
                   "to": "0x" + "11" * 20, "value": 5 * 10**18, "chainId": 2},
    "cross-shard": {"nonce": 7, "gasPrice": 100 * 10**9, "gas": 21000, "shardID": 0, "toShardID": 1,
                    "to": "0x" + "22" * 20, "value": 10**18, "chainId": 2},
    "with-data": {"nonce": 1, "gasPrice": 200 * 10**9, "gas": 25000, "shardID": 1, "toShardID": 1,
                  "to": "0x" + "33" * 20, "value": 0, "data": "0x00ff10", "chainId": 2},
}
DESCRIPTION = {"name": "Alice", "identity": "alice", "website": "alice.example", "security-contact": "sec",
               "details": "localnet validator"}
STAKING = {
    "create-validator": {"directive": Directive.CreateValidator, "validatorAddress": ADDRESS_ONE, **DESCRIPTION,
                         "rate": "0.1", "max-rate": "0.9", "max-change-rate": "0.05",
                         "min-self-delegation": 10_000 * 10**18, "max-total-delegation": 10**7 * 10**18,
                         "bls-public-keys": [BLS_KEY], "bls-key-sigs": [BLS_SIG], "amount": 10_000 * 10**18,
                         "nonce": 0, "gasPrice": 100 * 10**9, "gasLimit": 5_400_000, "chainId": 2},
    "edit-validator": {"directive": Directive.EditValidator, "validatorAddress": ADDRESS_ONE, **DESCRIPTION,
                       "rate": "0.12", "min-self-delegation": 10_000 * 10**18, "max-total-delegation": 10**8 * 10**18,
                       "bls-key-to-remove": BLS_KEY, "bls-key-to-add": "0x" + "d4" * 48,
                       "bls-key-to-add-sig": "0x" + "e5" * 96, "nonce": 1, "gasPrice": 100 * 10**9,
                       "gasLimit": 50_000, "chainId": 2},
    "delegate": {"directive": Directive.Delegate, "delegatorAddress": ADDRESS_ONE, "validatorAddress": VALIDATOR_ONE,
                 "amount": 1000 * 10**18, "nonce": 2, "gasPrice": 100 * 10**9, "gasLimit": 50_000, "chainId": 2},
    "undelegate": {"directive": Directive.Undelegate, "delegatorAddress": ADDRESS_ONE, "validatorAddress": VALIDATOR_ONE,
                   "amount": 500 * 10**18, "nonce": 3, "gasPrice": 100 * 10**9, "gasLimit": 50_000, "chainId": 2},
    "collect-rewards": {"directive": Directive.CollectRewards, "delegatorAddress": ADDRESS_ONE, "nonce": 4,
                        "gasPrice": 100 * 10**9, "gasLimit": 50_000, "chainId": 2},
}
ETH = {
    "eth-shard-0": {"nonce": 0, "gasPrice": 100 * 10**9, "gas": 21000, "to": "0x" + "44" * 20, "value": 10**18,
                    "data": b"", "chainId": 1_666_700_000},
    "eth-shard-1": {"nonce": 9, "gasPrice": 150 * 10**9, "gas": 30000, "to": "0x" + "55" * 20, "value": 1,
                    "data": b"\x01\x02", "chainId": 1_666_700_001},
}


def build() -> dict[str, object]:
    vectors: dict[str, object] = {"key": KEY, "sender": ADDRESS_HEX, "plain": {}, "staking": {}, "eth": {}}
    for name, fields in PLAIN.items():
        signed = sign_transaction(dict(fields), KEY)
        vectors["plain"][name] = {"raw": signed.rawTransaction.hex(), "hash": signed.hash.hex()}  # type: ignore[index]
    for name, fields in STAKING.items():
        signed = sign_staking_transaction(dict(fields), KEY)
        vectors["staking"][name] = {"raw": signed.rawTransaction.hex(), "hash": signed.hash.hex()}  # type: ignore[index]
    for name, fields in ETH.items():
        signed = Account.sign_transaction(dict(fields), KEY)
        vectors["eth"][name] = {"raw": signed.rawTransaction.hex(), "hash": signed.hash.hex()}  # type: ignore[index]
    return vectors


if __name__ == "__main__":
    out = Path(__file__).with_name("transactions.json")
    out.write_text(json.dumps(build(), indent=2) + "\n")
    print(f"wrote {out}")
