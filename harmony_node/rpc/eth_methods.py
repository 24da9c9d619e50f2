"""The ``eth_``, ``net_`` and ``web3_`` namespaces: what Ethereum wallets and web3.py / eth-account call.

Addresses are 0x-hex and a transaction is known by its Ethereum hash (keccak of the legacy
encoding a wallet signed); the Harmony hash of the same transaction resolves too. There is no
EVM here: ``eth_call`` is refused and code and storage read empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crypto.address import to_bech32
from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError, InvalidTransaction, NotFound
from harmony_node.rpc import format as fmt
from harmony_node.rpc.backend import RPCBackend
from harmony_node.rpc.chain_reads import (
    IncludedTransaction,
    find_transaction,
    get_block,
    get_block_by_hash,
    get_leader_address,
)
from harmony_node.rpc.dispatch import Dispatcher
from harmony_node.rpc.errors import ServerError
from harmony_node.rpc.format import Flavour
from harmony_node.rpc.harmony_methods import HarmonyMethods, bind_params
from harmony_node.rpc.params import (
    PENDING,
    get_param,
    read_block_number,
    read_bool,
    read_hash,
    read_hex_bytes,
    validate_param_count,
)
from harmony_node.types.block import Block
from harmony_node.types.eth_transaction import decode_eth_transaction
from harmony_node.types.transaction import Transaction

Params = list[Any]


class EthMethods:
    """eth_/net_/web3_ over one backend; account reads are shared with the Harmony namespaces."""

    def __init__(self, backend: RPCBackend, client_version: str) -> None:
        self.backend = backend
        self.client_version = client_version
        # Balances, nonces and gas answers are the hmy_ (hex) ones.
        self.hmy = HarmonyMethods(backend, Flavour.V1)

    def get_methods(self) -> dict[str, Callable[[Params], Any]]:
        hmy = self.hmy
        return {
            "eth_chainId": self.get_chain_id,
            "eth_blockNumber": hmy.get_block_number,
            "eth_getBalance": hmy.get_balance,
            "eth_getTransactionCount": hmy.get_transaction_count,
            "eth_gasPrice": hmy.get_gas_price,
            "eth_estimateGas": hmy.estimate_gas,
            "eth_getCode": hmy.get_code,
            "eth_getStorageAt": hmy.get_storage_at,
            "eth_accounts": lambda params: [],
            "eth_syncing": hmy.get_syncing,
            "eth_protocolVersion": hmy.get_protocol_version,
            "eth_call": self.call,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_getTransactionByHash": self.get_transaction_by_hash,
            "eth_getTransactionReceipt": self.get_transaction_receipt,
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getBlockTransactionCountByNumber": hmy.get_block_transaction_count_by_number,
            "eth_getBlockTransactionCountByHash": hmy.get_block_transaction_count_by_hash,
            "eth_getTransactionByBlockNumberAndIndex": self.get_transaction_by_block_number_and_index,
            "eth_getTransactionByBlockHashAndIndex": self.get_transaction_by_block_hash_and_index,
            "net_version": lambda params: str(self.get_eth_chain_id()),
            "net_listening": lambda params: True,
            "net_peerCount": lambda params: fmt.to_quantity(len(self.backend.get_peer_ids())),
            "web3_clientVersion": lambda params: self.client_version,
            "web3_sha3": self.sha3,
        }

    def register(self, dispatcher: Dispatcher) -> None:
        for name, method in self.get_methods().items():
            dispatcher.register(name, bind_params(method))

    def get_eth_chain_id(self) -> int:
        return self.backend.genesis.config.get_eth_chain_id(self.backend.shard_id)

    def get_chain_id(self, params: Params) -> str:
        return fmt.to_quantity(self.get_eth_chain_id())

    def call(self, params: Params) -> str:
        raise ServerError("eth_call is not supported: this network has no EVM (plain transfers only)")

    def sha3(self, params: Params) -> str:
        return "0x" + keccak256(read_hex_bytes(get_param(params, 0, "data"), "data")).hex()

    def send_raw_transaction(self, params: Params) -> str:
        """Admit a legacy (EIP-155) Ethereum transaction; the result is its Ethereum hash, as wallets expect."""
        validate_param_count(params, 1)
        raw = read_hex_bytes(get_param(params, 0, "encoded transaction"), "encoded transaction")
        pool = self.backend.get_pool()
        try:
            if raw[:1] and raw[0] >= 0x80:
                decode_eth_transaction(raw)  # only the Ethereum form is accepted on eth_
            tx = pool.decode(raw)
            if not isinstance(tx, Transaction) or not tx.is_eth_compatible:
                raise InvalidTransaction("not an Ethereum transaction: send Harmony transactions with "
                                         "hmy_sendRawTransaction")
            pool.add_transaction(tx)
        except (InvalidTransaction, DecodingError) as exc:
            raise ServerError(str(exc)) from None
        self.backend.on_pending_transaction(tx)
        return "0x" + tx.eth_hash.hex()

    def _format_transaction(self, included: IncludedTransaction) -> dict[str, Any]:
        header = included.block.header
        assert isinstance(included.tx, Transaction)
        return fmt.format_transaction(included.tx, flavour=Flavour.ETH, block_hash=header.hash,
                                      block_number=int(header.number), index=included.index,
                                      timestamp=int(header.timestamp))

    def get_transaction_by_hash(self, params: Params) -> dict[str, Any] | None:
        tx_hash = read_hash(get_param(params, 0, "transaction hash"), "transaction hash")
        try:
            return self._format_transaction(find_transaction(self.backend.get_chain(), tx_hash, staking=False))
        except NotFound:
            pass
        pending = self.backend.get_pool().get(tx_hash) or self._find_pooled_by_eth_hash(tx_hash)
        if isinstance(pending, Transaction):
            return fmt.format_transaction(pending, flavour=Flavour.ETH, block_hash=None, block_number=None,
                                          index=None, timestamp=None)
        return None

    def _find_pooled_by_eth_hash(self, eth_hash: bytes) -> Transaction | None:
        pool = self.backend.get_pool()
        for group in (pool.get_pending(), pool.get_queued()):
            for txs in group.values():
                for tx in txs:
                    if isinstance(tx, Transaction) and tx.eth_hash == eth_hash:
                        return tx
        return None

    def get_transaction_receipt(self, params: Params) -> dict[str, Any] | None:
        tx_hash = read_hash(get_param(params, 0, "transaction hash"), "transaction hash")
        try:
            included = find_transaction(self.backend.get_chain(), tx_hash, staking=False)
        except NotFound:
            return None  # web3's wait_for_transaction_receipt polls on null
        header = included.block.header
        assert isinstance(included.tx, Transaction)
        return fmt.format_receipt(included.tx, included.receipt, flavour=Flavour.ETH, block_hash=header.hash,
                                  block_number=int(header.number), index=included.index,
                                  gas_used=included.gas_used)

    def _format_block(self, block: Block, full: Any) -> dict[str, Any]:
        leader = to_bech32(get_leader_address(self.backend.get_chain(), int(block.header.number)))
        return fmt.format_block(block, flavour=Flavour.ETH, full_tx=read_bool(full, "fullTx"),
                                include_staking=False, signers=None, leader=leader)

    def get_block_by_number(self, params: Params) -> dict[str, Any] | None:
        validate_param_count(params, 2)
        number = read_block_number(get_param(params, 0, "block number"))
        full = get_param(params, 1, "fullTx", required=False, default=False)
        if number == PENDING:
            return None
        try:
            block = get_block(self.backend.get_chain(), number)
        except NotFound:
            return None  # tools such as Truffle poll for future blocks and expect null, not an error
        return self._format_block(block, full)

    def get_block_by_hash(self, params: Params) -> dict[str, Any] | None:
        validate_param_count(params, 2)
        block_hash = read_hash(get_param(params, 0, "block hash"), "block hash")
        full = get_param(params, 1, "fullTx", required=False, default=False)
        try:
            block = get_block_by_hash(self.backend.get_chain(), block_hash)
        except NotFound:
            return None
        return self._format_block(block, full)

    def _get_at(self, params: Params, by_hash: bool) -> dict[str, Any] | None:
        found = self.hmy.get_included_at(params, by_hash=by_hash, staking=False)
        return None if found is None else self._format_transaction(found)

    def get_transaction_by_block_number_and_index(self, params: Params) -> dict[str, Any] | None:
        return self._get_at(params, by_hash=False)

    def get_transaction_by_block_hash_and_index(self, params: Params) -> dict[str, Any] | None:
        return self._get_at(params, by_hash=True)

