"""The ``hmy_`` (v1, hex numbers) and ``hmyv2_`` (v2, decimal numbers) namespaces: blocks, accounts,
transactions, receipts, the pool, cross-shard receipts and node facts (reference §9).

One ``HarmonyMethods`` object serves one namespace; ``register`` adds its methods to a dispatcher
under Harmony's names (namespace + "_" + lowerCamel). Staking methods live in ``staking_methods``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harmony_node.chain.epochs import BEACON_SHARD
from harmony_node.exceptions import InvalidTransaction, NotFound
from harmony_node.rpc import format as fmt
from harmony_node.rpc.backend import RPCBackend
from harmony_node.rpc.chain_reads import (
    IncludedTransaction,
    find_transaction,
    get_block,
    get_block_by_hash,
    get_leader_address,
    get_signers,
    get_transaction_at,
    resolve_number,
)
from harmony_node.rpc.dispatch import CallContext, Dispatcher
from harmony_node.rpc.errors import InvalidParams, ServerError
from harmony_node.rpc.format import Flavour
from harmony_node.rpc.params import (
    PENDING,
    get_param,
    read_address,
    read_block_number,
    read_block_options,
    read_hash,
    read_hex_bytes,
    read_quantity,
    validate_param_count,
)
from harmony_node.types.block import Block
from harmony_node.types.staking_transaction import DEC_PRECISION, StakingTransaction
from harmony_node.types.transaction import Transaction
from crypto.address import to_bech32
from sharding.crosslink import CrossLink
from sharding.schedule import EpochSchedule

Params = list[Any]
PROTOCOL_VERSION = 1
TRANSFER_GAS = 21_000
MAX_BLOCKS_PER_REQUEST = 1024  # Harmony's rpcGetBlocksLimit


def _as_transaction(tx: Transaction | StakingTransaction) -> Transaction:
    assert isinstance(tx, Transaction)
    return tx


def _as_staking(tx: Transaction | StakingTransaction) -> StakingTransaction:
    assert isinstance(tx, StakingTransaction)
    return tx


class HarmonyMethods:
    """The methods of one Harmony namespace (``flavour`` V1 for hmy_, V2 for hmyv2_)."""

    def __init__(self, backend: RPCBackend, flavour: Flavour) -> None:
        assert flavour in (Flavour.V1, Flavour.V2)
        self.backend = backend
        self.flavour = flavour
        self.v2 = flavour == Flavour.V2
        self.schedule = EpochSchedule(backend.genesis.config.blocks_per_epoch)

    def number(self, value: int) -> int | str:
        """A quantity: a JSON integer in v2, 0x-hex in v1."""
        return value if self.v2 else fmt.to_quantity(value)

    def get_methods(self) -> dict[str, Callable[[Params], Any]]:
        return {
            # node
            "protocolVersion": self.get_protocol_version,
            "gasPrice": self.get_gas_price,
            "getNodeMetadata": self.get_node_metadata,
            "getPeerInfo": self.get_peer_info,
            "syncing": self.get_syncing,
            "inSync": self.is_in_sync,
            "beaconInSync": self.is_beacon_in_sync,
            "getNumPendingCrossLinks": self.get_num_pending_crosslinks,
            "getPendingCrossLinks": self.get_pending_crosslinks,
            # blockchain
            "chainId": self.get_chain_id,
            "accounts": lambda params: [],
            "blockNumber": self.get_block_number,
            "getEpoch": self.get_epoch,
            "getShardID": lambda params: self.backend.shard_id,
            "getShardingStructure": self.get_sharding_structure,
            "getLeader": self.get_leader,
            "getBlockByNumber": self.get_block_by_number,
            "getBlockByHash": self.get_block_by_hash,
            "getBlockByNumberNew": self.get_block_by_number,
            "getBlockByHashNew": self.get_block_by_hash,
            "getBlocks": self.get_blocks,
            "isLastBlock": self.is_last_block,
            "epochLastBlock": self.get_epoch_last_block,
            "getBlockSigners": self.get_block_signers,
            "getBlockSignerKeys": self.get_block_signer_keys,
            "isBlockSigner": self.is_block_signer,
            "getBlockReceipts": self.get_block_receipts,
            "latestHeader": self.get_latest_header,
            "getHeaderByNumber": self.get_header_by_number,
            "getLatestChainHeaders": self.get_latest_chain_headers,
            "getLastCrossLinks": self.get_last_crosslinks,
            "getSuperCommittees": self.get_super_committees,
            # accounts
            "getBalance": self.get_balance,
            "getBalanceByBlockNumber": self.get_balance_by_block_number,
            "getAccountNonce": self.get_account_nonce,
            "getTransactionCount": self.get_transaction_count,
            "getCode": self.get_code,
            "getStorageAt": self.get_storage_at,
            "estimateGas": self.estimate_gas,
            # transactions
            "getTransactionByHash": self.get_transaction_by_hash,
            "getStakingTransactionByHash": self.get_staking_transaction_by_hash,
            "getTransactionByBlockNumberAndIndex": self.get_transaction_by_block_number_and_index,
            "getTransactionByBlockHashAndIndex": self.get_transaction_by_block_hash_and_index,
            "getStakingTransactionByBlockNumberAndIndex": self.get_staking_transaction_by_block_number_and_index,
            "getStakingTransactionByBlockHashAndIndex": self.get_staking_transaction_by_block_hash_and_index,
            "getBlockTransactionCountByNumber": self.get_block_transaction_count_by_number,
            "getBlockTransactionCountByHash": self.get_block_transaction_count_by_hash,
            "getBlockStakingTransactionCountByNumber": self.get_block_staking_transaction_count_by_number,
            "getBlockStakingTransactionCountByHash": self.get_block_staking_transaction_count_by_hash,
            "getTransactionReceipt": self.get_transaction_receipt,
            "getCXReceiptByHash": self.get_cx_receipt_by_hash,
            "resendCx": self.resend_cx,
            # pool
            "sendRawTransaction": self.send_raw_transaction,
            "sendRawStakingTransaction": self.send_raw_staking_transaction,
            "getPoolStats": self.get_pool_stats,
            "pendingTransactions": self.get_pending_transactions,
            "pendingStakingTransactions": self.get_pending_staking_transactions,
            "getCurrentTransactionErrorSink": lambda params: [],
            "getCurrentStakingErrorSink": lambda params: [],
            "getPendingCXReceipts": self.get_pending_cx_receipts,
            "getNumPendingCXReceipts": self.get_num_pending_cx_receipts,
        }

    def register(self, dispatcher: Dispatcher, namespace: str) -> None:
        for name, method in self.get_methods().items():
            dispatcher.register(f"{namespace}_{name}", bind_params(method))

    # --- node ------------------------------------------------------------------------------------

    def get_protocol_version(self, params: Params) -> int | str:
        return self.number(PROTOCOL_VERSION)

    def get_gas_price(self, params: Params) -> int | str:
        return self.number(self.backend.genesis.config.min_gas_price)

    def get_syncing(self, params: Params) -> bool:
        return self.backend.is_syncing(self.backend.shard_id)

    def is_in_sync(self, params: Params) -> bool:
        return not self.backend.is_syncing(self.backend.shard_id)

    def is_beacon_in_sync(self, params: Params) -> bool:
        return not self.backend.is_syncing(BEACON_SHARD)

    def get_num_pending_crosslinks(self, params: Params) -> int:
        return len(self.backend.get_pending_crosslinks())

    def get_pending_crosslinks(self, params: Params) -> list[dict[str, Any]]:
        """Crosslinks the beacon leader has not included yet (beacon nodes)."""
        return [fmt.format_crosslink(link) for link in self.backend.get_pending_crosslinks()]

    def get_node_metadata(self, params: Params) -> dict[str, Any]:
        backend = self.backend
        chain = backend.get_chain()
        config = backend.genesis.config
        status = backend.get_consensus_status()
        peers = backend.get_peer_ids()
        return {
            "blskey": [key.hex() for key in backend.node.bls_public_keys],
            "version": backend.node.version,
            "network": backend.genesis.network,
            "chain-config": {"chain-id": config.chain_id, "eth-compatible-chain-id": config.get_eth_chain_id(0),
                             "eth-compatible-shard-0-chain-id": config.get_eth_chain_id(0)},
            "is-leader": bool(status and status.is_leader),
            "shard-id": backend.shard_id,
            "current-epoch": int(chain.head.epoch),
            "current-block-number": int(chain.head.number),
            "blocks-per-epoch": config.blocks_per_epoch,
            "role": backend.node.role,
            "dns-zone": "",
            "is-archival": True,
            "is-backup": False,
            "node-unix-start-time": backend.node.start_time,
            "p2p-connectivity": {"total-known-peers": len(peers), "connected": len(peers), "not-connected": 0},
            "peerid": backend.node.peer_id,
            "consensus": {"blocknum": int(chain.head.number), "viewId": status.view if status else 0,
                          "viewChangeId": status.view if status else 0, "mode": "Normal" if status else "Syncing",
                          "phase": "Announce"},
            "sync-peers": {},
        }

    def get_peer_info(self, params: Params) -> dict[str, Any]:
        peers = list(self.backend.get_peer_ids())
        return {"peerid": self.backend.node.peer_id, "blocked-peers": [],
                "connected-peers": [{"topic": "all", "peers": peers}]}

    # --- blockchain ------------------------------------------------------------------------------

    def get_chain_id(self, params: Params) -> int | str:
        return self.number(self.backend.genesis.config.chain_id)

    def get_block_number(self, params: Params) -> int | str:
        return self.number(int(self.backend.get_chain().head.number))

    def get_epoch(self, params: Params) -> int | str:
        return self.number(int(self.backend.get_chain().head.epoch))

    def get_sharding_structure(self, params: Params) -> list[dict[str, Any]]:
        return [{"current": endpoint.shard_id == self.backend.shard_id, "http": endpoint.http,
                 "shardID": endpoint.shard_id, "ws": endpoint.ws} for endpoint in self.backend.endpoints]

    def get_leader(self, params: Params) -> str:
        return to_bech32(get_leader_address(self.backend.get_chain()))

    def format_block(self, block: Block, options: Any) -> dict[str, Any]:
        full_tx, with_signers, include_staking = read_block_options(options, v2=self.v2)
        chain = self.backend.get_chain()
        signers = ([to_bech32(s.validator) for s in get_signers(chain, int(block.header.number))]
                   if with_signers else None)
        leader = to_bech32(get_leader_address(chain, int(block.header.number)))
        return fmt.format_block(block, flavour=self.flavour, full_tx=full_tx, include_staking=include_staking,
                                signers=signers, leader=leader)

    def get_block_by_number(self, params: Params) -> dict[str, Any]:
        validate_param_count(params, 2)
        number = read_block_number(get_param(params, 0, "block number"))
        if number == PENDING:
            raise ServerError("pending block number not implemented")
        try:
            block = get_block(self.backend.get_chain(), number)
        except NotFound:
            raise ServerError("requested block number greater than current block number") from None
        return self.format_block(block, get_param(params, 1, "options", required=False))

    def get_block_by_hash(self, params: Params) -> dict[str, Any] | None:
        validate_param_count(params, 2)
        block_hash = read_hash(get_param(params, 0, "block hash"), "block hash")
        try:
            block = get_block_by_hash(self.backend.get_chain(), block_hash)
        except NotFound:
            return None
        return self.format_block(block, get_param(params, 1, "options", required=False))

    def get_blocks(self, params: Params) -> list[dict[str, Any]]:
        validate_param_count(params, 3)
        chain = self.backend.get_chain()
        start = resolve_number(chain, read_block_number(get_param(params, 0, "start block")))
        end = resolve_number(chain, read_block_number(get_param(params, 1, "end block")))
        if end >= start and end - start > MAX_BLOCKS_PER_REQUEST:
            raise ServerError(f"GetBlocks query must be smaller than size {MAX_BLOCKS_PER_REQUEST}")
        options = get_param(params, 2, "options", required=False)
        return [self.format_block(get_block(chain, n), options)
                for n in range(start, min(end, int(chain.head.number)) + 1)]

    def _require_beacon(self) -> None:
        if self.backend.shard_id != BEACON_SHARD:
            raise ServerError("cannot call this rpc on non beaconchain node")

    def is_last_block(self, params: Params) -> bool:
        self._require_beacon()
        number = read_quantity(get_param(params, 0, "block number"), "block number")
        return self.schedule.is_last_block(number)

    def get_epoch_last_block(self, params: Params) -> int:
        self._require_beacon()
        epoch = read_quantity(get_param(params, 0, "epoch"), "epoch")
        return self.schedule.get_last_block(epoch)

    def get_block_signers(self, params: Params) -> list[str]:
        number = read_block_number(get_param(params, 0, "block number"))
        if number == PENDING:
            raise ServerError("cannot get signer keys for pending blocks")
        return [to_bech32(s.validator) for s in get_signers(self.backend.get_chain(), number)]

    def get_block_signer_keys(self, params: Params) -> list[str]:
        number = read_block_number(get_param(params, 0, "block number"))
        if number == PENDING:
            raise ServerError("cannot get signer keys for pending blocks")
        return [s.public_key.hex() for s in get_signers(self.backend.get_chain(), number)]

    def is_block_signer(self, params: Params) -> bool:
        number = read_block_number(get_param(params, 0, "block number"))
        address = read_address(get_param(params, 1, "address"))
        chain = self.backend.get_chain()
        if number == PENDING:
            raise ServerError("no signing data for pending block number")
        if resolve_number(chain, number) > chain.head.number:
            raise ServerError("requested block number greater than current block number")
        return any(s.validator == address for s in get_signers(chain, number))

    def get_block_receipts(self, params: Params) -> list[dict[str, Any]]:
        block_hash = read_hash(get_param(params, 0, "block hash"), "block hash")
        chain = self.backend.get_chain()
        block = get_block_by_hash(chain, block_hash)
        receipts = [self.format_receipt(get_transaction_at(chain, block, i, staking=False))
                    for i in range(len(block.transactions))]
        receipts += [self.format_receipt(get_transaction_at(chain, block, i, staking=True))
                     for i in range(len(block.staking_transactions))]
        return receipts

    def get_latest_header(self, params: Params) -> dict[str, Any]:
        chain = self.backend.get_chain()
        return fmt.format_header_information(chain.head, leader=to_bech32(get_leader_address(chain)))

    def get_header_by_number(self, params: Params) -> dict[str, Any]:
        chain = self.backend.get_chain()
        number = read_block_number(get_param(params, 0, "block number"))
        try:
            header = get_block(chain, number).header
        except NotFound:
            raise ServerError("requested block number greater than current block number") from None
        return fmt.format_header_information(header, leader=to_bech32(get_leader_address(chain, int(header.number))))

    def get_latest_chain_headers(self, params: Params) -> dict[str, Any]:
        """The beacon's head and this shard's head (Harmony's ``beacon-chain-header`` / ``shard-chain-header``)."""
        beacon = self.backend.get_beacon()
        chain = self.backend.get_chain()
        return {"beacon-chain-header": fmt.format_header_information(beacon.head, leader=to_bech32(
                    get_leader_address(beacon))),
                "shard-chain-header": fmt.format_header_information(chain.head, leader=to_bech32(
                    get_leader_address(chain)))}

    def get_last_crosslinks(self, params: Params) -> list[dict[str, Any]]:
        self._require_beacon()
        beacon = self.backend.get_beacon()
        links = []
        for shard_id in range(1, self.backend.genesis.config.num_shards):
            number = beacon.chain_store.get_last_linked(shard_id)
            if number == 0:  # nothing of this shard linked yet
                continue
            links.append(fmt.format_crosslink(CrossLink.decode(beacon.chain_store.get_crosslink(shard_id, number))))
        return links

    def get_super_committees(self, params: Params) -> dict[str, Any]:
        """The committees of the current and previous epoch, every shard (Harmony's ``Transition``)."""
        beacon = self.backend.get_beacon()
        if beacon.rules is None:
            raise ServerError("committees are not known on this node")
        epochs = beacon.rules.epochs
        epoch = int(beacon.head.epoch)
        genesis_keys = {slot.public_key for slot in epochs.slots}
        result: dict[str, Any] = {}
        for label, which in (("current", epoch), ("previous", max(0, epoch - 1))):
            state = epochs.get_shard_state(which)
            quorum = {}
            for shard_id in range(state.num_shards):
                committee = state.get_committee(shard_id)
                slots = state.shards[shard_id]
                quorum[str(shard_id)] = {
                    "policy": "SuperMajorityStake",
                    "count": len(slots),
                    "committee-members": [{
                        "bls-public-key": slot.public_key.hex(),
                        "earning-account": to_bech32(slot.validator),
                        "is-harmony-slot": slot.public_key in genesis_keys,
                        "voting-power-%": fmt.to_dec(power * DEC_PRECISION // committee.total_power),
                        "effective-stake": fmt.to_dec(slot.stake),
                    } for slot, power in zip(slots, committee.voting_power)],
                    "total-effective-stake": fmt.to_dec(sum(slot.stake for slot in slots)),
                }
            external = sum(1 for slots in state.shards for slot in slots if slot.public_key not in genesis_keys)
            result[label] = {"epoch": which, "quorum-deciders": quorum, "external-slot-count": external}
        return result

    # --- accounts --------------------------------------------------------------------------------

    def _get_state_at(self, number: int) -> Any:
        chain = self.backend.get_chain()
        if number in (PENDING,) or resolve_number(chain, number) == chain.head.number:
            return chain.get_state()
        try:
            header = get_block(chain, number).header
        except NotFound:
            raise ServerError("requested block number greater than current block number") from None
        return chain.get_state(bytes(header.state_root))

    def get_balance(self, params: Params) -> int | str:
        validate_param_count(params, 2)
        address = read_address(get_param(params, 0, "address"))
        number = read_block_number(get_param(params, 1, "block number", required=False, default="latest"))
        return self.number(self._get_state_at(number).get_balance(address))

    def get_balance_by_block_number(self, params: Params) -> int | str:
        validate_param_count(params, 2)
        address = read_address(get_param(params, 0, "address"))
        number = read_block_number(get_param(params, 1, "block number"))
        if number == PENDING:
            raise ServerError("requested block number greater than current block number")
        return self.number(self._get_state_at(number).get_balance(address))

    def get_account_nonce(self, params: Params) -> int:
        """The nonce in the state (Harmony returns a plain number here in both versions)."""
        validate_param_count(params, 2)
        address = read_address(get_param(params, 0, "address"))
        number = read_block_number(get_param(params, 1, "block number", required=False, default="latest"))
        return int(self._get_state_at(number).get_nonce(address))

    def get_transaction_count(self, params: Params) -> int | str:
        """The next nonce: with "pending", counting the pool's executable transactions too."""
        validate_param_count(params, 2)
        address = read_address(get_param(params, 0, "address"))
        number = read_block_number(get_param(params, 1, "block number", required=False, default="latest"))
        if number == PENDING:
            return self.number(self.backend.get_pool().get_pending_nonce(address))
        return self.number(int(self._get_state_at(number).get_nonce(address)))

    def get_code(self, params: Params) -> str:
        read_address(get_param(params, 0, "address"))
        return "0x"  # no contracts: every account is a plain account

    def get_storage_at(self, params: Params) -> str:
        read_address(get_param(params, 0, "address"))
        return "0x" + "00" * 32

    def estimate_gas(self, params: Params) -> int | str:
        """Intrinsic gas of a transfer (there is no EVM): 21000 plus the calldata cost."""
        args = get_param(params, 0, "call arguments")
        if not isinstance(args, dict):
            raise InvalidParams("call arguments must be an object")
        data = read_hex_bytes(args.get("data") or args.get("input") or "0x", "data")
        zeros = data.count(0)
        return fmt.to_quantity(TRANSFER_GAS + 4 * zeros + 16 * (len(data) - zeros))

    # --- transactions ----------------------------------------------------------------------------

    def format_transaction(self, included: IncludedTransaction) -> dict[str, Any]:
        header = included.block.header
        return fmt.format_transaction(_as_transaction(included.tx), flavour=self.flavour,
                                      block_hash=header.hash, block_number=int(header.number),
                                      index=included.index, timestamp=int(header.timestamp))

    def format_staking_transaction(self, included: IncludedTransaction) -> dict[str, Any]:
        header = included.block.header
        return fmt.format_staking_transaction(_as_staking(included.tx), flavour=self.flavour,
                                              block_hash=header.hash, block_number=int(header.number),
                                              index=included.index, timestamp=int(header.timestamp))

    def format_receipt(self, included: IncludedTransaction) -> dict[str, Any]:
        header = included.block.header
        if isinstance(included.tx, StakingTransaction):
            # Harmony numbers a staking receipt after the block's plain transactions.
            return fmt.format_staking_receipt(included.tx, included.receipt, flavour=self.flavour,
                                              block_hash=header.hash, block_number=int(header.number),
                                              index=len(included.block.transactions) + included.index,
                                              gas_used=included.gas_used)
        return fmt.format_receipt(included.tx, included.receipt, flavour=self.flavour, block_hash=header.hash,
                                  block_number=int(header.number), index=included.index,
                                  gas_used=included.gas_used)

    def get_transaction_by_hash(self, params: Params) -> dict[str, Any] | None:
        tx_hash = read_hash(get_param(params, 0, "transaction hash"), "transaction hash")
        try:
            return self.format_transaction(find_transaction(self.backend.get_chain(), tx_hash, staking=False))
        except NotFound:
            pass
        pending = self.backend.get_pool().get(tx_hash)
        if isinstance(pending, Transaction):  # Harmony answers pool transactions with null block fields
            return fmt.format_transaction(pending, flavour=self.flavour, block_hash=None, block_number=None,
                                          index=None, timestamp=None)
        return None

    def get_staking_transaction_by_hash(self, params: Params) -> dict[str, Any] | None:
        tx_hash = read_hash(get_param(params, 0, "transaction hash"), "transaction hash")
        try:
            return self.format_staking_transaction(find_transaction(self.backend.get_chain(), tx_hash, staking=True))
        except NotFound:
            pass
        pending = self.backend.get_pool().get(tx_hash)
        if isinstance(pending, StakingTransaction):
            return fmt.format_staking_transaction(pending, flavour=self.flavour, block_hash=None,
                                                  block_number=None, index=None, timestamp=None)
        return None

    def get_included_at(self, params: Params, by_hash: bool, staking: bool) -> IncludedTransaction | None:
        chain = self.backend.get_chain()
        index = read_quantity(get_param(params, 1, "index"), "index")
        try:
            if by_hash:
                block = get_block_by_hash(chain, read_hash(get_param(params, 0, "block hash"), "block hash"))
            else:
                block = get_block(chain, read_block_number(get_param(params, 0, "block number")))
            return get_transaction_at(chain, block, index, staking=staking)
        except NotFound:
            return None

    def get_transaction_by_block_number_and_index(self, params: Params) -> dict[str, Any] | None:
        found = self.get_included_at(params, by_hash=False, staking=False)
        return None if found is None else self.format_transaction(found)

    def get_transaction_by_block_hash_and_index(self, params: Params) -> dict[str, Any] | None:
        found = self.get_included_at(params, by_hash=True, staking=False)
        return None if found is None else self.format_transaction(found)

    def get_staking_transaction_by_block_number_and_index(self, params: Params) -> dict[str, Any] | None:
        found = self.get_included_at(params, by_hash=False, staking=True)
        return None if found is None else self.format_staking_transaction(found)

    def get_staking_transaction_by_block_hash_and_index(self, params: Params) -> dict[str, Any] | None:
        found = self.get_included_at(params, by_hash=True, staking=True)
        return None if found is None else self.format_staking_transaction(found)

    def _count(self, params: Params, by_hash: bool, staking: bool) -> int | str:
        chain = self.backend.get_chain()
        try:
            if by_hash:
                block = get_block_by_hash(chain, read_hash(get_param(params, 0, "block hash"), "block hash"))
            else:
                block = get_block(chain, read_block_number(get_param(params, 0, "block number")))
        except NotFound:
            return self.number(0)
        return self.number(len(block.staking_transactions if staking else block.transactions))

    def get_block_transaction_count_by_number(self, params: Params) -> int | str:
        return self._count(params, by_hash=False, staking=False)

    def get_block_transaction_count_by_hash(self, params: Params) -> int | str:
        return self._count(params, by_hash=True, staking=False)

    def get_block_staking_transaction_count_by_number(self, params: Params) -> int | str:
        return self._count(params, by_hash=False, staking=True)

    def get_block_staking_transaction_count_by_hash(self, params: Params) -> int | str:
        return self._count(params, by_hash=True, staking=True)

    def get_transaction_receipt(self, params: Params) -> dict[str, Any] | None:
        tx_hash = read_hash(get_param(params, 0, "transaction hash"), "transaction hash")
        try:
            return self.format_receipt(find_transaction(self.backend.get_chain(), tx_hash))
        except NotFound:
            return None

    def get_cx_receipt_by_hash(self, params: Params) -> dict[str, Any] | None:
        """The cross-shard receipt of a transfer: on its destination shard, with the block that
        credited it (as Harmony, which indexes incoming receipts); on its source shard, with the
        block that sent it."""
        tx_hash = read_hash(get_param(params, 0, "transaction hash"), "transaction hash")
        chain = self.backend.get_chain()
        try:
            block = chain.get_block_by_number(chain.chain_store.get_crediting_block(tx_hash))
        except NotFound:
            pass
        else:
            for proof in block.incoming_receipts:
                for receipt in proof.receipts:
                    if receipt.tx_hash == tx_hash:
                        return fmt.format_cx_receipt(receipt, flavour=self.flavour, block_hash=block.header.hash,
                                                     block_number=int(block.header.number))
        try:
            included = find_transaction(chain, tx_hash, staking=False)
        except NotFound:
            return None
        header = included.block.header
        for receipt in chain.chain_store.get_outgoing_receipts(header.hash):
            if receipt.tx_hash == included.tx.hash:
                return fmt.format_cx_receipt(receipt, flavour=self.flavour, block_hash=header.hash,
                                             block_number=int(header.number))
        return None

    def resend_cx(self, params: Params) -> bool:
        tx_hash = read_hash(get_param(params, 0, "transaction hash"), "transaction hash")
        if self.backend.resend_cx is None:
            raise ServerError("this node does not relay cross-shard receipts")
        return self.backend.resend_cx(tx_hash)

    # --- pool ------------------------------------------------------------------------------------

    def _submit(self, params: Params, staking: bool) -> str:
        validate_param_count(params, 1)
        raw = read_hex_bytes(get_param(params, 0, "encoded transaction"), "encoded transaction")
        if not raw:
            raise InvalidParams("empty transaction")
        pool = self.backend.get_pool()
        try:
            tx = pool.decode(raw)
            if staking != isinstance(tx, StakingTransaction):
                raise InvalidTransaction(
                    f"not a {'staking' if staking else 'plain'} transaction: "
                    f"send it with {'sendRawTransaction' if staking else 'sendRawStakingTransaction'}")
            tx_hash = pool.add_transaction(tx)
        except InvalidTransaction as exc:
            raise ServerError(str(exc)) from None
        self.backend.on_pending_transaction(tx)
        return "0x" + tx_hash.hex()

    def send_raw_transaction(self, params: Params) -> str:
        return self._submit(params, staking=False)

    def send_raw_staking_transaction(self, params: Params) -> str:
        if self.backend.shard_id != BEACON_SHARD:
            raise ServerError("staking transactions are only accepted on the beacon chain (shard 0)")
        return self._submit(params, staking=True)

    def get_pool_stats(self, params: Params) -> dict[str, int]:
        pool = self.backend.get_pool()
        return {"executable-count": pool.pending_count, "non-executable-count": pool.queued_count}

    def _pooled(self, staking: bool) -> list[Transaction | StakingTransaction]:
        pool = self.backend.get_pool()
        listed: list[Transaction | StakingTransaction] = []
        for group in (pool.get_pending(), pool.get_queued()):
            for txs in group.values():
                listed.extend(tx for tx in txs if isinstance(tx, StakingTransaction) == staking)
        return listed

    def get_pending_transactions(self, params: Params) -> list[dict[str, Any]]:
        return [fmt.format_transaction(_as_transaction(tx), flavour=self.flavour, block_hash=None, block_number=None,
                                       index=None, timestamp=None) for tx in self._pooled(staking=False)]

    def get_pending_staking_transactions(self, params: Params) -> list[dict[str, Any]]:
        return [fmt.format_staking_transaction(_as_staking(tx), flavour=self.flavour, block_hash=None,
                                               block_number=None, index=None, timestamp=None)
                for tx in self._pooled(staking=True)]

    def get_pending_cx_receipts(self, params: Params) -> list[dict[str, Any]]:
        return [fmt.format_cx_receipts_proof(proof) for proof in self.backend.get_pending_cx()]

    def get_num_pending_cx_receipts(self, params: Params) -> int:
        return len(self.backend.get_pending_cx())


def bind_params(method: Callable[[Params], Any]) -> Callable[[Params, CallContext], Any]:
    """A dispatcher handler for a method that reads only its parameters (not the caller)."""

    def handle(params: Params, context: CallContext) -> Any:
        return method(params)

    return handle

