"""Harmony's JSON-RPC result shapes: blocks, transactions, receipts, headers, crosslinks, cross-shard proofs.

Harmony serves one chain under three namespaces (reference §9), each with its own JSON shapes:

- ``hmy_`` (``rpc/harmony/v1/types.go``): numbers as 0x-hex strings, accounts as bech32 ``one1…``;
- ``hmyv2_`` (``rpc/harmony/v2/types.go``): the same objects with numbers as JSON integers, except
  the signature values ``v``, ``r``, ``s``, which stay hex;
- ``eth_`` (``rpc/harmony/eth/types.go``): Ethereum's shapes, numbers hex, accounts 0x hex.

Every function here is pure: it maps our chain objects to the dict that Harmony's Go struct
marshals to, with the same keys, the same hex-or-integer choice for each field, and the same
quirks. For example, a pending ``hmy_`` transaction has the zero hash as ``blockHash``. Go
marshals ``common.Address`` as lower-case hex, so every 0x address here is lower case, except the
one place where Harmony calls ``Address.String()`` (EIP-55).

Hashes and byte strings are 0x-hex unless Harmony says otherwise (BLS keys and header-information
signatures are bare hex). The caller supplies what a formatter cannot know from the object itself:
where a transaction was included, the gas it alone used, the proposer's ``one1…`` account, which
Harmony finds through the committee (``GetLeaderAddress``), and the signers' ``one1…`` accounts,
which come from the commit bitmap and the committee (``GetSigners``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime, timezone
from enum import Enum

from crypto.address import parse_address, to_bech32, to_checksum_hex
from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError
from harmony_node.types.block import Block, encode_block
from harmony_node.types.cx_receipt import CXReceipt, CXReceiptsProof
from harmony_node.types.header import Header
from harmony_node.types.receipt import Receipt
from harmony_node.types.rlp_codec import encode_item
from harmony_node.types.staking_transaction import (
    DEC_PRECISION,
    CreateValidator,
    Delegate,
    Directive,
    EditValidator,
    StakeMessage,
    StakingTransaction,
)
from harmony_node.types.transaction import Transaction
from sharding.crosslink import BEACON_SHARD_ID, CrossLink, decode_crosslinks

Json = dict[str, object]
"""A JSON object as ``json.dumps`` writes it."""


class Flavour(Enum):
    """Which namespace's shapes to produce; the value is the method-name prefix."""

    V1 = "hmy"
    V2 = "hmyv2"
    ETH = "eth"


ZERO_HASH = "0x" + "00" * 32
"""``blockHash`` of a pending transaction under ``hmy_`` and ``hmyv2_`` (Go's zero ``common.Hash``)."""
ZERO_ADDRESS = "0x" + "00" * 20
"""``contractAddress`` of a ``hmy_`` / ``hmyv2_`` receipt that created no contract."""
EMPTY_UNCLES_HASH = keccak256(b"\xc0")
"""keccak256(RLP([])): geth's ``CalcUncleHash`` of a block without uncles, as every Harmony block is."""

_VRF_SIZE = 32
_VRF_PROOF_SIZE = 96
_DIRECTIVE_NAMES = {
    Directive.CREATE_VALIDATOR: "CreateValidator",
    Directive.EDIT_VALIDATOR: "EditValidator",
    Directive.DELEGATE: "Delegate",
    Directive.UNDELEGATE: "Undelegate",
    Directive.COLLECT_REWARDS: "CollectRewards",
    Directive.COMPOUND_REWARDS: "CompoundRewards",
}
"""``Directive.String()``; CompoundRewards is ours (Harmony would write "Directive 5")."""


def to_quantity(value: int) -> str:
    """Minimal 0x-hex of a non-negative integer, as geth's ``hexutil.Big`` / ``Uint64`` (0 is "0x0")."""
    if value < 0:
        raise ValueError(f"a JSON-RPC quantity cannot be negative: {value}")
    return hex(value)


def to_data(data: bytes) -> str:
    """0x-hex of a byte string, two digits a byte, as ``hexutil.Bytes`` (empty is "0x")."""
    return "0x" + data.hex()


def to_dec(value: int) -> str:
    """``numeric.Dec`` JSON of a fixed-point ``value`` (10**18 is 1): a decimal string without trailing zeros.

    For example "0.1", "1" or "0" (``Dec.String()`` since Harmony #4709). Go marshals it as a JSON string.
    """
    whole, fraction = divmod(abs(value), DEC_PRECISION)
    decimals = f"{fraction:018d}".rstrip("0")
    return ("-" if value < 0 else "") + str(whole) + ("." + decimals if decimals else "")


def compute_eth_form_hash(tx: Transaction) -> bytes:
    """keccak256 of ``tx`` in Ethereum's field layout, without shard ids (Go ``ConvertToEth().Hash()``).

    Harmony shows this hash as every plain transaction's ``ethHash`` and as its hash under ``eth_``,
    including a Harmony-signed transaction whose signature does not cover this form. That is why
    this is not ``Transaction.eth_hash``, which is ``HashByType`` (the Harmony hash for those).
    """
    return keccak256(encode_item([tx.nonce, tx.gas_price, tx.gas_limit, tx.to, tx.value, tx.data, tx.v, tx.r, tx.s]))


def compute_contract_address(sender: bytes, nonce: int) -> bytes:
    """The address a contract creation by ``sender`` at ``nonce`` deploys to (geth ``CreateAddress``)."""
    return keccak256(encode_item([sender, nonce]))[12:]


def compute_gas_used(receipts: Sequence[Receipt], position: int) -> int:
    """Gas used by the transaction of ``receipts[position]``: how much its cumulative gas grew over the previous one."""
    previous = receipts[position - 1].cumulative_gas_used if position > 0 else 0
    return receipts[position].cumulative_gas_used - previous


def _number(value: int, flavour: Flavour) -> int | str:
    """A number as hmyv2_ writes it (Go ``*big.Int`` / ``uint64``: a JSON integer) or as hmy_ / eth_ do (hex)."""
    return value if flavour is Flavour.V2 else to_quantity(value)


def _hex_address(address: bytes) -> str:
    """Go's JSON form of a ``common.Address``: lower-case hex, no checksum."""
    return "0x" + address.hex()


def _split_vrf(vrf: bytes) -> tuple[bytes, bytes]:
    """The header's VRF output and proof; Harmony shows zeros and no proof unless it is exactly 32 + 96 bytes."""
    if len(vrf) == _VRF_SIZE + _VRF_PROOF_SIZE:
        return vrf[:_VRF_SIZE], vrf[_VRF_SIZE:]
    return bytes(_VRF_SIZE), b""


def _format_block_fields(block: Block, flavour: Flavour, miner: bytes) -> Json:
    """The block fields before ``transactions``, in the Go struct's order (``eth.Block``, ``v1/v2.BlockWithTxHash``)."""
    header = block.header
    vrf, vrf_proof = _split_vrf(header.vrf)
    is_eth = flavour is Flavour.ETH
    fields: Json = {"number": _number(header.number, flavour)}
    if not is_eth:
        fields["viewID"] = _number(header.view_id, flavour)
        fields["epoch"] = _number(header.epoch, flavour)
    fields["hash"] = to_data(header.hash)
    fields["parentHash"] = to_data(header.parent_hash)
    # Proof of stake has no proof-of-work nonce: Harmony writes a Go uint64 0 (hmy_) or 8 zero bytes (eth_).
    fields["nonce"] = to_data(bytes(8)) if is_eth else 0
    fields["mixHash"] = to_data(header.mix_digest)
    if is_eth:
        fields["sha3Uncles"] = to_data(EMPTY_UNCLES_HASH)
    fields["logsBloom"] = to_data(header.bloom)
    fields["stateRoot"] = to_data(header.state_root)
    fields["miner"] = _hex_address(miner) if is_eth else to_bech32(miner)
    # No proof of work, so no difficulty: Harmony writes a Go uint64 0 (hmy_) or a hexutil.Big 0 (eth_).
    fields["difficulty"] = "0x0" if is_eth else 0
    fields["extraData"] = to_data(header.extra_data)
    fields["size"] = _number(len(encode_block(block)), flavour)
    fields["gasLimit"] = _number(header.gas_limit, flavour)
    fields["gasUsed"] = _number(header.gas_used, flavour)
    fields["vrf"] = to_data(vrf)
    fields["vrfProof"] = to_data(vrf_proof)
    fields["timestamp"] = _number(header.timestamp, flavour)
    fields["transactionsRoot"] = to_data(header.transactions_root)
    fields["receiptsRoot"] = to_data(header.receipts_root)
    fields["uncles"] = []  # Harmony blocks never have uncles
    return fields


def format_block(
    block: Block,
    *,
    flavour: Flavour,
    full_tx: bool,
    include_staking: bool,
    signers: Sequence[str] | None,
    leader: str | None = None,
) -> Json:
    """``getBlockByNumber`` / ``getBlockByHash``: the block with its transactions as hashes or, if ``full_tx``, in full.

    ``include_staking`` fills ``stakingTransactions`` (Harmony's ``inclStaking``; hmy_ always asks
    for it, hmyv2_ only when told). eth_ blocks have no staking field and ignore it.

    ``signers`` is what Harmony's ``GetSigners`` gives: the ``one1…`` accounts of the validators
    whose keys signed the block. They are shown as given in every namespace. None, or an empty list,
    leaves ``signers`` out, because Go tags it ``omitempty``. ``leader`` is the proposer's ``one1…``
    account (``GetLeaderAddress``); eth_ shows it as hex. Without it, ``miner`` is the header's coinbase.
    """
    header = block.header
    block_hash = header.hash
    result = _format_block_fields(block, flavour, header.coinbase if leader is None else parse_address(leader))
    if full_tx:
        result["transactions"] = [
            format_transaction(tx, flavour=flavour, block_hash=block_hash, block_number=header.number, index=index,
                               timestamp=header.timestamp)
            for index, tx in enumerate(block.transactions)
        ]
    elif flavour is Flavour.ETH:
        result["transactions"] = [to_data(compute_eth_form_hash(tx)) for tx in block.transactions]
    else:
        result["transactions"] = [to_data(tx.hash) for tx in block.transactions]
        # Only the hash-only shape (v1/v2 BlockWithTxHash) has this list; BlockWithFullTx lacks it.
        result["transactionsInEthHash"] = [to_data(compute_eth_form_hash(tx)) for tx in block.transactions]
    if flavour is not Flavour.ETH:
        # Go starts this list empty, so it is present, and empty, unless inclStaking fills it.
        staking_txs = block.staking_transactions if include_staking else ()
        result["stakingTransactions"] = [
            format_staking_transaction(tx, flavour=flavour, block_hash=block_hash, block_number=header.number,
                                       index=index, timestamp=header.timestamp)
            if full_tx else to_data(tx.hash)
            for index, tx in enumerate(staking_txs)
        ]
    if signers:
        result["signers"] = list(signers)
    return result


def _get_inclusion(
    block_hash: bytes | None, block_number: int | None, index: int | None
) -> tuple[bytes, int, int] | None:
    """(block hash, number, index) of an included transaction; None for a pending one (no block hash)."""
    if block_hash is None:
        return None
    if block_number is None or index is None:
        raise ValueError("a transaction in a block needs the block number and its index")
    return block_hash, block_number, index


def format_transaction(
    tx: Transaction,
    *,
    flavour: Flavour,
    block_hash: bytes | None,
    block_number: int | None,
    index: int | None,
    timestamp: int | None,
) -> Json:
    """``getTransactionByHash`` and the entries of a full block: ``tx``, the ``index``-th plain tx of its block.

    ``timestamp`` is the block's. A pending transaction has ``block_hash=None``, and Harmony then
    ignores the other three. hmy_ and hmyv2_ show it with the zero hash, a null number and index and
    timestamp 0 (pyhmy polls ``blockHash`` until it is not zero). eth_ shows hash, number and index
    as null.
    """
    included = _get_inclusion(block_hash, block_number, index)
    seconds = 0 if included is None or timestamp is None else timestamp
    sender = tx.sender
    is_creation = not tx.to
    if flavour is Flavour.ETH:
        return {
            "blockHash": None if included is None else to_data(included[0]),
            "blockNumber": None if included is None else to_quantity(included[1]),
            "from": _hex_address(sender),
            "timestamp": to_quantity(seconds),
            "gas": to_quantity(tx.gas_limit),
            "gasPrice": to_quantity(tx.gas_price),
            "hash": to_data(compute_eth_form_hash(tx)),
            "input": to_data(tx.data),
            "nonce": to_quantity(tx.nonce),
            "to": None if is_creation else _hex_address(tx.to),
            "transactionIndex": None if included is None else to_quantity(included[2]),
            "value": to_quantity(tx.value),
            "v": to_quantity(tx.v),
            "r": to_quantity(tx.r),
            "s": to_quantity(tx.s),
        }
    return {
        "blockHash": ZERO_HASH if included is None else to_data(included[0]),
        "blockNumber": None if included is None else _number(included[1], flavour),
        # Harmony writes a contract creation's sender as lower-case hex, every other sender as bech32.
        "from": _hex_address(sender) if is_creation else to_bech32(sender),
        "timestamp": _number(seconds, flavour),
        "gas": _number(tx.gas_limit, flavour),
        "gasPrice": _number(tx.gas_price, flavour),
        "hash": to_data(tx.hash),
        "ethHash": to_data(compute_eth_form_hash(tx)),
        "input": to_data(tx.data),
        "nonce": _number(tx.nonce, flavour),
        "to": "" if is_creation else to_bech32(tx.to),
        "transactionIndex": _number(0 if included is None else included[2], flavour),
        "value": _number(tx.value, flavour),
        "shardID": tx.shard_id,
        "toShardID": tx.to_shard_id,
        "v": to_quantity(tx.v),  # v, r and s are *hexutil.Big in both versions
        "r": to_quantity(tx.r),
        "s": to_quantity(tx.s),
    }


def _format_stake_message(message: StakeMessage, flavour: Flavour) -> Json:
    """The ``msg`` of a staking transaction; hmyv2_ adds the key signatures that hmy_ leaves out."""
    if isinstance(message, CreateValidator):
        fields: Json = {
            "validatorAddress": to_bech32(message.validator_address),
            "commissionRate": _number(message.commission_rates.rate, flavour),
            "maxCommissionRate": _number(message.commission_rates.max_rate, flavour),
            "maxChangeRate": _number(message.commission_rates.max_change_rate, flavour),
            "minSelfDelegation": _number(message.min_self_delegation, flavour),
            "maxTotalDelegation": _number(message.max_total_delegation, flavour),
            "amount": _number(message.amount, flavour),
            "name": message.description.name,
            "website": message.description.website,
            "identity": message.description.identity,
            "securityContact": message.description.security_contact,
            "details": message.description.details,
            # A BLS public key's MarshalText is bare hex, without 0x.
            "slotPubKeys": [key.hex() for key in message.slot_pub_keys],
        }
        if flavour is Flavour.V2:
            # SerializedSignature is a [96]byte with no MarshalText, so Go writes an array of 96 integers.
            fields["slotKeySigs"] = [list(signature) for signature in message.slot_key_sigs]
        return fields
    if isinstance(message, EditValidator):
        fields = {
            "validatorAddress": to_bech32(message.validator_address),
            # An unchanged rate is shown as 0 (Go substitutes an empty big.Int); other absent fields as null.
            "commissionRate": _number(0 if message.commission_rate is None else message.commission_rate, flavour),
            "minSelfDelegation": None if message.min_self_delegation is None
            else _number(message.min_self_delegation, flavour),
            "maxTotalDelegation": None if message.max_total_delegation is None
            else _number(message.max_total_delegation, flavour),
            "name": message.description.name,
            "website": message.description.website,
            "identity": message.description.identity,
            "securityContact": message.description.security_contact,
            "details": message.description.details,
            "slotPubKeyToAdd": None if message.slot_key_to_add is None else message.slot_key_to_add.hex(),
            "slotPubKeyToRemove": None if message.slot_key_to_remove is None else message.slot_key_to_remove.hex(),
        }
        if flavour is Flavour.V2:
            signature = message.slot_key_to_add_sig
            fields["slotKeyToAddSig"] = None if signature is None else list(signature)
        return fields
    if isinstance(message, Delegate):  # Undelegate carries the same fields
        return {
            "delegatorAddress": to_bech32(message.delegator_address),
            "validatorAddress": to_bech32(message.validator_address),
            "amount": _number(message.amount, flavour),
        }
    # CollectRewards, and our CompoundRewards, which carries the same message.
    return {"delegatorAddress": to_bech32(message.delegator_address)}


def _hmy_flavour_for_eth(flavour: Flavour) -> Flavour:
    """eth_ has no shape for staking txs or cross-shard receipts; where Harmony's eth_ answers with one at all
    (getStakingTransactionByBlockHashAndIndex, getCXReceiptByHash) it uses hmy_'s."""
    return Flavour.V1 if flavour is Flavour.ETH else flavour


def format_staking_transaction(
    tx: StakingTransaction,
    *,
    flavour: Flavour,
    block_hash: bytes | None,
    block_number: int | None,
    index: int | None,
    timestamp: int | None,
) -> Json:
    """``getStakingTransactionByHash`` and full-block entries: ``tx``, the ``index``-th staking tx of its block.

    ``block_hash=None`` is a pending transaction, shown as ``format_transaction`` shows one under
    hmy_. eth_ gets the hmy_ shape.
    """
    flavour = _hmy_flavour_for_eth(flavour)
    included = _get_inclusion(block_hash, block_number, index)
    return {
        "blockHash": ZERO_HASH if included is None else to_data(included[0]),
        "blockNumber": None if included is None else _number(included[1], flavour),
        "from": to_bech32(tx.sender),
        "timestamp": _number(0 if included is None or timestamp is None else timestamp, flavour),
        "gas": _number(tx.gas_limit, flavour),
        "gasPrice": _number(tx.gas_price, flavour),
        "hash": to_data(tx.hash),
        "nonce": _number(tx.nonce, flavour),
        "transactionIndex": _number(0 if included is None else included[2], flavour),
        "v": to_quantity(tx.v),
        "r": to_quantity(tx.r),
        "s": to_quantity(tx.s),
        "type": _DIRECTIVE_NAMES[Directive(tx.directive)],
        "msg": _format_stake_message(tx.stake_message, flavour),
    }


def _format_logs(
    receipt: Receipt, *, block_hash: bytes, block_number: int, tx_hash: bytes, index: int, first_log_index: int
) -> list[Json]:
    """A receipt's logs as geth's ``types.Log`` marshals them: all hex, in every namespace."""
    return [
        {
            "address": _hex_address(log.address),
            "topics": [to_data(topic) for topic in log.topics],
            "data": to_data(log.data),
            "blockNumber": to_quantity(block_number),
            "transactionHash": to_data(tx_hash),
            "transactionIndex": to_quantity(index),
            "blockHash": to_data(block_hash),
            "logIndex": to_quantity(first_log_index + offset),
            "removed": False,
        }
        for offset, log in enumerate(receipt.logs)
    ]


def format_receipt(
    tx: Transaction,
    receipt: Receipt,
    *,
    flavour: Flavour,
    block_hash: bytes,
    block_number: int,
    index: int,
    gas_used: int,
    first_log_index: int = 0,
) -> Json:
    """``getTransactionReceipt`` of a plain transaction, the ``index``-th of its block.

    ``gas_used`` is ``tx``'s own share: its receipt's cumulative gas minus the previous receipt's
    (``compute_gas_used``). ``first_log_index`` is how many logs the block's earlier receipts hold,
    because log indices count across the block.
    """
    sender = tx.sender
    is_creation = not tx.to
    contract = compute_contract_address(sender, tx.nonce) if is_creation else None
    if flavour is Flavour.ETH:
        eth_hash = compute_eth_form_hash(tx)
        return {
            "blockHash": to_data(block_hash),
            "blockNumber": to_quantity(block_number),
            "transactionHash": to_data(eth_hash),
            "transactionIndex": to_quantity(index),
            "from": _hex_address(sender),
            "to": None if is_creation else _hex_address(tx.to),
            "gasUsed": to_quantity(gas_used),
            "cumulativeGasUsed": to_quantity(receipt.cumulative_gas_used),
            "contractAddress": None if contract is None else _hex_address(contract),
            # eth_ rewrites the logs' transaction hash to the Ethereum-form hash it reports.
            "logs": _format_logs(receipt, block_hash=block_hash, block_number=block_number, tx_hash=eth_hash,
                                 index=index, first_log_index=first_log_index),
            "logsBloom": to_data(receipt.bloom),
            "effectiveGasPrice": to_quantity(tx.gas_price),
            "status": to_quantity(receipt.status),
        }
    return {
        "blockHash": to_data(block_hash),
        "transactionHash": to_data(tx.hash),
        "blockNumber": _number(block_number, flavour),
        "transactionIndex": _number(index, flavour),
        "gasUsed": _number(gas_used, flavour),
        "cumulativeGasUsed": _number(receipt.cumulative_gas_used, flavour),
        "contractAddress": ZERO_ADDRESS if contract is None else _hex_address(contract),
        "logs": _format_logs(receipt, block_hash=block_hash, block_number=block_number, tx_hash=tx.hash,
                             index=index, first_log_index=first_log_index),
        "logsBloom": to_data(receipt.bloom),
        "shardID": tx.shard_id,
        # A contract creation's receipt names its sender by Address.String() (EIP-55) and no recipient.
        "from": to_checksum_hex(sender) if is_creation else to_bech32(sender),
        "to": "" if is_creation else to_bech32(tx.to),
        "root": "0x",  # a status receipt has no post-state root; Go writes the nil bytes as "0x"
        "status": _number(receipt.status, flavour),
        # A legacy transaction pays its gas price (Go EffectiveGasPrice(0, nil)).
        "effectiveGasPrice": _number(tx.gas_price, flavour),
    }


def format_staking_receipt(
    tx: StakingTransaction,
    receipt: Receipt,
    *,
    flavour: Flavour,
    block_hash: bytes,
    block_number: int,
    index: int,
    gas_used: int,
    first_log_index: int = 0,
) -> Json:
    """``getTransactionReceipt`` of a staking transaction (hmy_ and hmyv2_ only).

    Harmony reports ``transactionIndex`` as the receipt's position in the block, so ``index`` is
    the number of plain transactions plus the staking index. ``gas_used`` and ``first_log_index``
    are as for ``format_receipt``. Harmony's eth_ answers null for a staking receipt, so eth_
    raises ValueError here and the caller answers null.
    """
    if flavour is Flavour.ETH:
        raise ValueError("eth_ has no staking receipts (Harmony answers null)")
    return {
        "blockHash": to_data(block_hash),
        "transactionHash": to_data(tx.hash),
        "blockNumber": _number(block_number, flavour),
        "transactionIndex": _number(index, flavour),
        "gasUsed": _number(gas_used, flavour),
        "cumulativeGasUsed": _number(receipt.cumulative_gas_used, flavour),
        "contractAddress": ZERO_ADDRESS,
        "logs": _format_logs(receipt, block_hash=block_hash, block_number=block_number, tx_hash=tx.hash,
                             index=index, first_log_index=first_log_index),
        "logsBloom": to_data(receipt.bloom),
        "sender": to_bech32(tx.sender),
        "type": _number(tx.directive, flavour),
        "root": "0x",  # a status receipt has no post-state root; Go writes the nil bytes as "0x"
        "status": _number(receipt.status, flavour),
        "effectiveGasPrice": _number(tx.gas_price, flavour),
    }


def format_cx_receipt(cx: CXReceipt, *, flavour: Flavour, block_hash: bytes, block_number: int) -> Json:
    """``getCXReceiptByHash``: the outgoing cross-shard receipt ``cx`` of the source block.

    eth_ gets the hmy_ shape.
    """
    flavour = _hmy_flavour_for_eth(flavour)
    return {
        "blockHash": to_data(block_hash),
        "blockNumber": _number(block_number, flavour),
        "hash": to_data(cx.tx_hash),
        "from": to_bech32(cx.from_address),
        "to": to_bech32(cx.to_address),
        "shardID": cx.shard_id,
        "toShardID": cx.to_shard_id,
        "value": _number(cx.amount, flavour),
    }


def format_crosslink(link: CrossLink) -> Json:
    """A crosslink as ``CrossLink.MarshalJSON`` writes it: kebab-case keys, integers, bare-hex signature and bitmap.

    This is the shape of ``getLastCrossLinks`` and of ``crossLinks`` in header information.
    """
    return {
        "hash": to_data(link.hash),
        "block-number": link.block_number,
        "view-id": link.view_id,
        "signature": link.signature.hex(),
        "signature-bitmap": link.bitmap.hex(),
        "shard-id": link.shard_id,
        "epoch-number": link.epoch,
    }


def format_header_information(header: Header, *, leader: str) -> Json:
    """``latestHeader`` / ``getHeaderByNumber`` (Harmony's ``HeaderInformation``), the same in every namespace.

    ``leader`` is the proposer's ``one1…`` account, shown as given. A beacon-shard header lists its
    crosslinks: an empty list when it has none, or when they do not decode, as Harmony does. Other
    shards have no ``crossLinks`` key.
    """
    vrf, vrf_proof = _split_vrf(header.vrf)
    info: Json = {
        "blockHash": to_data(header.hash),
        "blockNumber": header.number,
        "shardID": header.shard_id,
        "leader": leader,
        "viewID": header.view_id,
        "epoch": header.epoch,
        # Go's time.Time.String() of the UTC time, e.g. "2019-06-28 04:20:00 +0000 UTC".
        "timestamp": datetime.fromtimestamp(header.timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC"),
        "unixtime": header.timestamp,
        "lastCommitSig": header.last_commit_signature.hex(),
        "lastCommitBitmap": header.last_commit_bitmap.hex(),
        "vrf": vrf.hex(),
        "vrfProof": vrf_proof.hex(),
    }
    if header.shard_id == BEACON_SHARD_ID:
        try:
            links: Sequence[CrossLink] = decode_crosslinks(header.cross_links)
        except DecodingError:
            links = ()
        info["crossLinks"] = [format_crosslink(link) for link in links]
    return info


def _format_go_header(header: Header) -> Json:
    """``block.Header.MarshalJSON``, the header inside a cross-shard proof.

    Unlike an RPC block it has a zero ``sha3Uncles``, and its view, epoch and shard are integers.
    """
    return {
        "parentHash": to_data(header.parent_hash),
        "sha3Uncles": ZERO_HASH,
        "nonce": to_data(bytes(8)),
        "miner": _hex_address(header.coinbase),
        "stateRoot": to_data(header.state_root),
        "transactionsRoot": to_data(header.transactions_root),
        "receiptsRoot": to_data(header.receipts_root),
        "logsBloom": to_data(header.bloom),
        "difficulty": "0x0",
        "number": to_quantity(header.number),
        "gasLimit": to_quantity(header.gas_limit),
        "gasUsed": to_quantity(header.gas_used),
        "timestamp": to_quantity(header.timestamp),
        "extraData": to_data(header.extra_data),
        "mixHash": to_data(header.mix_digest),
        "hash": to_data(header.hash),
        "viewID": header.view_id,
        "epoch": header.epoch,
        "shardID": header.shard_id,
    }


def format_cx_receipts_proof(proof: CXReceiptsProof) -> Json:
    """An entry of ``getPendingCXReceipts``: the Go ``CXReceiptsProof`` marshalled as is, alike in every namespace.

    Its structs have no JSON tags, so the keys are the Go field names. Go writes ``[]byte`` as
    base64 and ``*big.Int`` as an integer. ``commit_view`` is ours and not shown (Harmony has no such
    field).
    """
    merkle = proof.merkle_proof
    return {
        "Receipts": [
            {
                "TxHash": to_data(cx.tx_hash),
                "From": _hex_address(cx.from_address),
                "To": _hex_address(cx.to_address),
                "ShardID": cx.shard_id,
                "ToShardID": cx.to_shard_id,
                "Amount": cx.amount,
            }
            for cx in proof.receipts
        ],
        "MerkleProof": {
            "BlockNum": merkle.block_number,
            "BlockHash": to_data(merkle.block_hash),
            "ShardID": merkle.shard_id,
            "CXReceiptHash": to_data(merkle.cx_receipt_hash),
            "ShardIDs": list(merkle.shard_ids),
            "CXShardHashes": [to_data(root) for root in merkle.cx_shard_hashes],
        },
        "Header": _format_go_header(proof.header),
        "CommitSig": base64.b64encode(proof.commit_signature).decode("ascii"),
        "CommitBitmap": base64.b64encode(proof.commit_bitmap).decode("ascii"),
    }
