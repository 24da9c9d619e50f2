"""Genesis: the network's rules and initial balances, read from a JSON file, and block 0 of a shard.

File format (``localnet_genesis.json`` beside this module is the default localnet):

    {
      "network": "localnet",
      "config": {"chain_id": 2, "eth_chain_id_base": 1666700000, "num_shards": 3,
                 "block_gas_limit": 30000000, "min_gas_price": "100000000000", "blocks_per_epoch": 16},
      "timestamp": 1561734000,
      "extra_data": "text",
      "alloc": {"one1... or 0x...": "<balance in atto, decimal string or integer>"},
      "committees": {"0": ["0x<48-byte BLS public key>", ...], ...},
      "staking": {"preset": "localnet", "block_reward": "7000000000000000000", ...}
    }

Every shard starts with the same ``alloc`` (DESIGN.md §4: the localnet account is funded on every
shard). Amounts are integers in atto (1 ONE = 10**18 atto); strings avoid JSON float rounding.

``staking`` holds the EPoS parameters (``staking.config.StakingConfig``): a ``preset``
(``localnet``, the default, or ``mainnet``) and any of its fields to override, amounts in atto,
rates as 18-decimal fixed point integers (0.5 == "500000000000000000"), ``availability_threshold``
as ``[numerator, denominator]``. They are rules every node must share, like ``config``.

``committees`` names the BLS keys that sign each shard's blocks until the first election (Harmony's
genesis shard state). A shard's committee is written into its block 0 (header ``shard_state``), so
two files that differ only in committees still give different chains.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import rlp

from crypto import bls
from crypto.address import parse_address
from harmony_node.chain.config import ChainConfig
from harmony_node.db.store import KeyValueStore, WriteBatch
from harmony_node.exceptions import HarmonyError, InvalidKey, ValidationError
from harmony_node.state.account import Account
from harmony_node.state.state_db import StateDB
from harmony_node.types.block import Block
from harmony_node.types.derive_sha import EMPTY_ROOT
from harmony_node.types.header import make_header
from staking.config import LOCALNET as LOCALNET_STAKING
from staking.config import MAINNET_LIKE as MAINNET_LIKE_STAKING
from staking.config import StakingConfig

MAX_GENESIS_FILE_BYTES = 16 * 1024 * 1024


class InvalidGenesis(ValidationError):
    """The genesis file is malformed or breaks a rule; the message names the field."""


@dataclass(frozen=True, slots=True)
class Genesis:
    """A parsed genesis file."""

    network: str
    config: ChainConfig
    timestamp: int
    extra_data: bytes
    alloc: tuple[tuple[bytes, int], ...]
    """(address, balance in atto), sorted by address so the order in the file does not matter."""
    committees: tuple[tuple[bytes, ...], ...] = ()
    """Per shard, the BLS public keys of its first committee (empty: none configured)."""
    staking: StakingConfig = LOCALNET_STAKING
    """The EPoS rules the beacon applies."""

    def get_committee_keys(self, shard_id: int) -> tuple[bytes, ...]:
        return self.committees[shard_id] if shard_id < len(self.committees) else ()


def _to_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidGenesis(f"{what} must be an integer or a decimal string")
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidGenesis(f"{what} is not a decimal integer: {value!r}") from exc
    if number < 0:
        raise InvalidGenesis(f"{what} must not be negative")
    return number


def _get_int(obj: dict[str, Any], key: str, default: int | None = None) -> int:
    value = obj.get(key, default)
    if value is None:
        raise InvalidGenesis(f"missing field {key!r}")
    return _to_int(value, f"field {key!r}")


def parse_genesis(text: str | bytes) -> Genesis:
    """Parse a genesis document; any defect raises ``InvalidGenesis`` naming the field."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidGenesis(f"genesis is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidGenesis("genesis must be a JSON object")
    raw_config = doc.get("config", {})
    if not isinstance(raw_config, dict):
        raise InvalidGenesis("field 'config' must be an object")
    defaults = ChainConfig()
    try:
        config = ChainConfig(
            chain_id=_get_int(raw_config, "chain_id", defaults.chain_id),
            eth_chain_id_base=_get_int(raw_config, "eth_chain_id_base", defaults.eth_chain_id_base),
            num_shards=_get_int(raw_config, "num_shards", defaults.num_shards),
            block_gas_limit=_get_int(raw_config, "block_gas_limit", defaults.block_gas_limit),
            min_gas_price=_get_int(raw_config, "min_gas_price", defaults.min_gas_price),
            blocks_per_epoch=_get_int(raw_config, "blocks_per_epoch", defaults.blocks_per_epoch),
        )
    except InvalidGenesis:
        raise
    except ValidationError as exc:  # ChainConfig's own range checks
        raise InvalidGenesis(f"config: {exc}") from exc
    network = doc.get("network", "localnet")
    extra = doc.get("extra_data", "")
    if not isinstance(network, str) or not isinstance(extra, str):
        raise InvalidGenesis("fields 'network' and 'extra_data' must be strings")
    raw_alloc = doc.get("alloc", {})
    if not isinstance(raw_alloc, dict):
        raise InvalidGenesis("field 'alloc' must be an object of address -> balance")
    balances: dict[bytes, int] = {}
    for text_address, amount in raw_alloc.items():
        try:
            address = parse_address(text_address)
        except HarmonyError as exc:
            raise InvalidGenesis(f"alloc address {text_address!r}: {exc}") from exc
        if address in balances:
            raise InvalidGenesis(f"alloc lists {text_address!r} twice")
        balances[address] = _to_int(amount, f"balance of {text_address!r}")
    return Genesis(
        network=network,
        config=config,
        timestamp=_get_int(doc, "timestamp", 0),
        extra_data=extra.encode(),
        alloc=tuple(sorted(balances.items())),
        committees=_parse_committees(doc.get("committees", {}), config.num_shards),
        staking=_parse_staking(doc.get("staking", {})),
    )


_STAKING_PRESETS = {"localnet": LOCALNET_STAKING, "mainnet": MAINNET_LIKE_STAKING}


def _parse_staking(raw: object) -> StakingConfig:
    if not isinstance(raw, dict):
        raise InvalidGenesis("field 'staking' must be an object")
    preset_name = raw.get("preset", "localnet")
    if preset_name not in _STAKING_PRESETS:
        raise InvalidGenesis(f"staking preset {preset_name!r} is not one of {', '.join(_STAKING_PRESETS)}")
    preset = _STAKING_PRESETS[preset_name]
    known = {f.name for f in fields(StakingConfig)}
    changes: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "preset":
            continue
        if name not in known:
            raise InvalidGenesis(f"unknown staking setting {name!r} (known: {', '.join(sorted(known))})")
        if name == "availability_threshold":
            if not isinstance(value, list) or len(value) != 2:
                raise InvalidGenesis("staking.availability_threshold must be [numerator, denominator]")
            changes[name] = (_to_int(value[0], "staking.availability_threshold"),
                             _to_int(value[1], "staking.availability_threshold"))
        else:
            changes[name] = _to_int(value, f"staking.{name}")
    try:
        return replace(preset, **changes)
    except ValidationError as exc:  # StakingConfig's own range checks
        raise InvalidGenesis(f"staking: {exc}") from exc


def _parse_committees(raw: object, num_shards: int) -> tuple[tuple[bytes, ...], ...]:
    if not isinstance(raw, dict):
        raise InvalidGenesis("field 'committees' must be an object of shard -> list of BLS public keys")
    committees: list[tuple[bytes, ...]] = [()] * num_shards
    seen: set[bytes] = set()
    for shard_text, keys in raw.items():
        if not shard_text.isdigit() or int(shard_text) >= num_shards:
            raise InvalidGenesis(f"committees: {shard_text!r} is not a shard of this network")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise InvalidGenesis(f"committee of shard {shard_text} must be a list of hex strings")
        parsed = []
        for text in keys:
            try:
                key = bytes.fromhex(text.removeprefix("0x"))
            except ValueError as exc:
                raise InvalidGenesis(f"committee of shard {shard_text}: {text!r} is not hex") from exc
            try:
                bls.get_public_key_cache().get_point(key)
            except InvalidKey as exc:
                raise InvalidGenesis(f"committee of shard {shard_text}: {text!r}: {exc}") from exc
            if key in seen:
                raise InvalidGenesis(f"committees list BLS key {text} twice")
            seen.add(key)
            parsed.append(key)
        committees[int(shard_text)] = tuple(parsed)
    return tuple(committees) if any(committees) else ()


def load_genesis(path: str | Path) -> Genesis:
    """Read and parse a genesis file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_GENESIS_FILE_BYTES:
            raise InvalidGenesis(f"{path} is larger than {MAX_GENESIS_FILE_BYTES} bytes")
        return parse_genesis(path.read_bytes())
    except OSError as exc:
        raise InvalidGenesis(f"cannot read genesis file {path}: {exc.strerror}") from exc


def get_localnet_genesis() -> Genesis:
    """The default localnet genesis shipped with the package."""
    text = resources.files("harmony_node.chain").joinpath("localnet_genesis.json").read_text()
    return parse_genesis(text)


def build_genesis_block(
    genesis: Genesis, shard_id: int, store: KeyValueStore, batch: WriteBatch
) -> Block:
    """Block 0 of ``shard_id``: fund the alloc, commit its state into ``batch``, return the block."""
    if not 0 <= shard_id < genesis.config.num_shards:
        raise InvalidGenesis(f"shard {shard_id} does not exist ({genesis.config.num_shards} shards)")
    state = StateDB(store)
    for address, balance in genesis.alloc:
        state.set_account(address, Account(balance=balance))
    header = make_header(
        state_root=state.commit(batch),
        transactions_root=EMPTY_ROOT,
        receipts_root=EMPTY_ROOT,
        outgoing_receipts_root=EMPTY_ROOT,
        incoming_receipts_root=EMPTY_ROOT,
        gas_limit=genesis.config.block_gas_limit,
        timestamp=genesis.timestamp,
        extra_data=genesis.extra_data,
        shard_id=shard_id,
        shard_state=rlp.encode(list(genesis.get_committee_keys(shard_id))) if genesis.committees else b"",
    )
    return Block(header=header, transactions=[], staking_transactions=[], uncles=[], incoming_receipts=[])
