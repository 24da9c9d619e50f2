"""The transaction pool: signed transactions waiting for a block, ordered per sender by nonce.

The pool is the node's first line of defence and the block builder's source. It follows Harmony's
``core/tx_pool.go`` (itself geth's legacy pool) where that is sensible:

- **Admission validates before anything is stored.** Size, decoding, chain id, shard, recipient,
  gas price floor, intrinsic gas, signature, nonce, balance, duplicates, replacement price and
  capacity are all decided first; a rejected transaction raises ``InvalidTransaction`` with a reason
  a user can act on, changes nothing and is never handed out for gossip. The rules agree with the
  block rules of ``harmony_node.chain.execution``, except that the nonce may be ahead of the account
  (the transaction waits) and the balance must cover the sender's lower-nonce pool transactions too.
- **Pending and queued.** A sender's transactions whose nonces run without a gap from the account
  nonce are *pending* (executable in that order); the rest are *queued* until a transaction fills
  the gap. Both are kept in one map per sender, so promotion is only a recount.
- **Replacement.** A transaction with the nonce of one in the pool replaces it only if its gas price
  is higher by at least ``price_bump_percent`` (Harmony's default PriceBump is 1 %; geth's is 10 %).
- **Capacity.** Per-sender and global caps, evicting the cheapest *queued* transaction of another
  sender first, then the cheapest *tail* of another sender's pending run (so pending never gets a
  gap). There is no clock in the pool, so nothing expires: eviction is by capacity only.
- **Staking transactions** share the account nonce with plain ones (one nonce per account, as in
  Harmony's pool, which keeps both kinds in one list per sender). They are accepted on the beacon
  chain (shard 0) only. A block executes all its plain transactions before its staking ones, so the
  block builder may take, per sender, a run of plain transactions followed by a run of staking ones.

The pool reads accounts through ``PoolStateView`` (the chain core passes its state) and caches what
it read until ``on_new_head``/``reset``, so it always judges against one consistent head. FBFT
blocks are final, so there are no reorgs and nothing to re-inject on a head change (unlike geth).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, Union

from harmony_node.chain.config import ChainConfig
from harmony_node.chain.execution import validate_transaction_shape
from harmony_node.chain.gas import compute_intrinsic_gas, compute_staking_intrinsic_gas
from harmony_node.exceptions import DecodingError, InvalidSignature, InvalidTransaction, ValidationError
from harmony_node.types.eth_transaction import decode_eth_transaction, to_harmony
from harmony_node.types.rlp_codec import split_rlp_list
from harmony_node.types.staking_transaction import (
    CreateValidator,
    Delegate,
    EditValidator,
    StakeMessage,
    StakingTransaction,
    decode_staking_transaction,
    encode_staking_transaction,
)
from harmony_node.types.transaction import Transaction, decode_transaction, encode_transaction

BEACON_SHARD_ID = 0
_STAKING_FIELD_COUNT = 8
_ETH_FIELD_COUNT = 9
_HARMONY_FIELD_COUNT = 11

PoolTransaction = Union[Transaction, StakingTransaction]


@dataclass(frozen=True, slots=True)
class TxPoolConfig:
    """Limits of one node's pool; local policy, not consensus."""

    max_tx_size: int = 32 * 1024
    """Largest accepted encoding in bytes (Harmony's pool limit; a flood of large txs is cheap to send)."""
    account_slots: int = 64
    """Most transactions (pending + queued) one sender may have in the pool."""
    global_slots: int = 8192
    """Most transactions in the pool."""
    price_bump_percent: int = 1
    """How much higher (in percent) a replacement's gas price must be: Harmony's PriceBump (geth uses 10)."""

    def __post_init__(self) -> None:
        if self.max_tx_size < 1 or self.account_slots < 1 or self.global_slots < 1:
            raise ValidationError("pool size limits must be positive")
        if self.account_slots > self.global_slots:
            raise ValidationError("account_slots must not exceed global_slots")
        if self.price_bump_percent < 0:
            raise ValidationError("price_bump_percent must not be negative")


class PoolStateView(Protocol):
    """The account reads the pool needs from the state at the chain head."""

    def get_nonce(self, address: bytes) -> int: ...

    def get_balance(self, address: bytes) -> int: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    """A validated transaction in the pool with what the pool needs to know about it."""

    tx: PoolTransaction
    raw: bytes
    """The encoding peers receive; for an Ethereum transaction its Harmony form, which ``add`` accepts."""
    sender: bytes
    cost: int
    """The most the transaction can take from the sender's balance."""
    sequence: int
    """Admission order: ties in gas price go to the earlier transaction (the pool has no clock)."""

    @property
    def nonce(self) -> int:
        nonce: int = self.tx.nonce
        return nonce

    @property
    def gas_price(self) -> int:
        price: int = self.tx.gas_price
        return price

    @property
    def gas_limit(self) -> int:
        gas: int = self.tx.gas_limit
        return gas


@dataclass(slots=True)
class _Account:
    """One sender's transactions and the account as the pool last read it from the state."""

    nonce: int
    balance: int
    txs: dict[int, _Entry] = field(default_factory=dict)
    pending: int = 0
    """How many transactions run from ``nonce`` without a gap (the executable ones)."""

    def get_sorted(self) -> list[_Entry]:
        return [self.txs[nonce] for nonce in sorted(self.txs)]

    def get_pending_tail(self) -> _Entry:
        return self.txs[self.nonce + self.pending - 1]

    def is_pending(self, entry: _Entry) -> bool:
        return entry.nonce < self.nonce + self.pending


@dataclass(frozen=True, slots=True)
class _Admission:
    """What admitting a transaction will remove; decided in full before anything changes."""

    replaced: _Entry | None
    evicted: _Entry | None


def compute_min_replacement_price(old_price: int, price_bump_percent: int) -> int:
    """The lowest gas price that may replace a transaction priced ``old_price`` (Go ``txList.Add``).

    Harmony needs both ``new > old`` and ``new >= old * (100 + bump) / 100`` (integer division), so
    a wei-level price still has to rise.
    """
    return max(old_price + 1, old_price * (100 + price_bump_percent) // 100)


def compute_staking_owner(message: StakeMessage) -> bytes:
    """The address that must sign a staking message: the validator's or the delegator's."""
    if isinstance(message, (CreateValidator, EditValidator)):
        return message.validator_address
    return message.delegator_address  # Delegate, Undelegate, CollectRewards, CompoundRewards


def compute_cost(tx: PoolTransaction) -> int:
    """The most ``tx`` can debit from its sender: value (or staked amount) plus gas limit x price.

    As Harmony's ``Cost``: CreateValidator and Delegate move their amount out of the balance; the
    other staking directives only pay gas.
    """
    gas_cost: int = tx.gas_limit * tx.gas_price
    if isinstance(tx, StakingTransaction):
        message = tx.stake_message
        if isinstance(message, CreateValidator) or type(message) is Delegate:
            return gas_cost + message.amount
        return gas_cost
    value: int = tx.value
    return gas_cost + value


def decode_pool_transaction(raw: bytes, eth_chain_id_base: int) -> PoolTransaction:
    """Decode any kind a client or peer may send: Harmony (11 fields), Ethereum (9) or staking (8).

    The field count tells the kinds apart, so one entry point serves RPC and gossip. An Ethereum
    transaction comes back in its Harmony form (``to_harmony``), with its shard from its chain id.
    """
    if raw[:1] and raw[0] < 0x80:  # EIP-2718: a type byte, then the typed payload
        raise InvalidTransaction(
            f"typed Ethereum transactions (type {raw[0]}, such as EIP-1559 or EIP-2930) are not supported; "
            "send a legacy transaction"
        )
    try:
        count = len(split_rlp_list(raw))
        if count == _HARMONY_FIELD_COUNT:
            return decode_transaction(raw)
        if count == _ETH_FIELD_COUNT:
            return to_harmony(decode_eth_transaction(raw), eth_chain_id_base=eth_chain_id_base)
        if count == _STAKING_FIELD_COUNT:
            return decode_staking_transaction(raw)
    except DecodingError as exc:
        raise InvalidTransaction(f"malformed transaction: {exc}") from exc
    except InvalidSignature as exc:  # an Ethereum tx's chain id comes from v, which may be no valid v at all
        raise InvalidTransaction(f"invalid signature: {exc}") from exc
    raise InvalidTransaction(
        f"malformed transaction: a list of {count} items is none of a staking (8), Ethereum (9) "
        "or Harmony (11) transaction"
    )


def encode_pool_transaction(tx: PoolTransaction) -> bytes:
    """The encoding ``decode_pool_transaction`` reads back (the Harmony form for Ethereum txs)."""
    if isinstance(tx, StakingTransaction):
        return encode_staking_transaction(tx)
    return encode_transaction(tx)


class TxPool:
    """Transactions for one shard, waiting to be included in a block."""

    def __init__(
        self, config: TxPoolConfig, chain_config: ChainConfig, shard_id: int, state_view: PoolStateView,
        validate_staking: Callable[[StakingTransaction], None] | None = None,
    ) -> None:
        """``validate_staking`` checks a staking message against the beacon's staking records
        (InvalidTransaction with the reason); without it only the transaction's shape is checked."""
        if not 0 <= shard_id < chain_config.num_shards:
            raise ValidationError(f"shard {shard_id} does not exist ({chain_config.num_shards} shards)")
        self._config = config
        self._chain_config = chain_config
        self._shard_id = shard_id
        self._state = state_view
        self._validate_staking = validate_staking
        self._accounts: dict[bytes, _Account] = {}
        self._by_hash: dict[bytes, _Entry] = {}
        self._sequence = 0
        self._new_hashes: list[bytes] = []

    # --- admission -------------------------------------------------------------------------------

    def add(self, raw: bytes, *, relay: bool = True) -> bytes:
        """Admit an encoded Harmony, Ethereum or staking transaction; return its hash.

        The hash is that of the Harmony form (what blocks and ``get`` use); for an Ethereum
        transaction, ``get(hash).eth_hash`` is the hash its wallet knows. ``relay``: hand it to
        ``drain_new_for_gossip`` (a transaction that came by gossip has reached the others already).
        """
        return self._admit(self.decode(raw), relay)

    def decode(self, raw: bytes) -> PoolTransaction:
        """Decode an encoded transaction of any kind, refusing an oversized one before parsing it."""
        self._validate_size(len(raw))  # before decoding: parsing a huge blob is the cost to avoid
        return decode_pool_transaction(raw, self._chain_config.eth_chain_id_base)

    def add_transaction(self, tx: PoolTransaction, *, relay: bool = True) -> bytes:
        """Admit an already decoded transaction; return its hash (``relay`` as for ``add``)."""
        return self._admit(tx, relay)

    def _validate_size(self, size: int) -> None:
        if size > self._config.max_tx_size:
            raise InvalidTransaction(
                f"transaction too large: {size} bytes, the limit is {self._config.max_tx_size} bytes"
            )

    def _admit(self, tx: PoolTransaction, relay: bool) -> bytes:
        # What peers receive must pass their size check too (an Ethereum tx grows by its shard ids).
        raw = encode_pool_transaction(tx)
        self._validate_size(len(raw))
        if tx.hash in self._by_hash:
            raise InvalidTransaction(f"already known: transaction 0x{tx.hash.hex()} is in the pool")
        try:
            if isinstance(tx, StakingTransaction):
                sender = self._validate_staking_rules(tx)
            else:
                sender = self._validate_plain_rules(tx)
        except InvalidSignature as exc:  # the chain id checks read it from v, which may be no valid v at all
            raise InvalidTransaction(f"invalid signature: {exc}") from exc
        account = self._accounts.get(sender)
        if account is None:
            account = self._read_account(sender)
        if tx.nonce < account.nonce:
            raise InvalidTransaction(f"nonce too low: got {tx.nonce}, account nonce is {account.nonce}")
        entry = _Entry(tx, raw, sender, compute_cost(tx), self._sequence)
        admission = self._plan_admission(entry, account)
        # Everything is decided: from here on nothing can fail.
        self._sequence += 1
        for removed in (admission.replaced, admission.evicted):
            if removed is not None:
                self._remove(removed)
        self._accounts[sender] = account  # after the removals, which drop a sender left empty
        account.txs[entry.nonce] = entry
        self._by_hash[tx.hash] = entry
        # A lower nonce (or a dearer replacement) may leave the sender's later txs unaffordable.
        self._drop_unaffordable(account)
        self._count_pending(account)
        tx_hash: bytes = tx.hash
        if relay:
            self._new_hashes.append(tx_hash)
        return tx_hash

    def _validate_chain_rules(self, tx: Transaction) -> None:
        """The stateless block rules (``validate_transaction``), in the same words."""
        validate_transaction_shape(tx, self._chain_config, self._shard_id)
        self._validate_gas(tx.gas_price, tx.gas_limit, compute_intrinsic_gas(tx.data))

    def _validate_plain_rules(self, tx: Transaction) -> bytes:
        self._validate_chain_rules(tx)
        # Recovery is the costly check (~100 µs), so it runs after the cheap ones.
        try:
            sender: bytes = tx.recover_sender()
        except InvalidSignature as exc:
            raise InvalidTransaction(f"invalid signature: {exc}") from exc
        return sender

    def _validate_staking_rules(self, tx: StakingTransaction) -> bytes:
        if self._shard_id != BEACON_SHARD_ID:
            raise InvalidTransaction(
                f"staking transactions are processed by the beacon chain (shard {BEACON_SHARD_ID}) only, "
                f"this is shard {self._shard_id}"
            )
        if tx.chain_id != self._chain_config.chain_id:
            raise InvalidTransaction(
                f"wrong chain id {tx.chain_id}: staking transactions must be signed with chain id "
                f"{self._chain_config.chain_id}"
            )
        try:
            intrinsic_gas = compute_staking_intrinsic_gas(tx)
        except DecodingError as exc:  # only a tx built in-process can carry a bad message
            raise InvalidTransaction(f"malformed staking message: {exc}") from exc
        self._validate_gas(tx.gas_price, tx.gas_limit, intrinsic_gas)
        try:
            sender: bytes = tx.recover_sender()
        except InvalidSignature as exc:
            raise InvalidTransaction(f"invalid signature: {exc}") from exc
        # As Harmony's pool (ErrInvalidSender): only the validator or delegator itself may send it.
        owner = compute_staking_owner(tx.stake_message)
        if sender != owner:
            raise InvalidTransaction(
                f"staking transaction is signed by 0x{sender.hex()}, but its message is for 0x{owner.hex()}"
            )
        if self._validate_staking is not None:
            self._validate_staking(tx)
        return sender

    def _validate_gas(self, gas_price: int, gas_limit: int, intrinsic_gas: int) -> None:
        config = self._chain_config
        if gas_price < config.min_gas_price:
            raise InvalidTransaction(f"gas price {gas_price} is below the minimum {config.min_gas_price}")
        if gas_limit < intrinsic_gas:
            raise InvalidTransaction(f"intrinsic gas too low: need {intrinsic_gas}, gas limit is {gas_limit}")
        if gas_limit > config.block_gas_limit:
            raise InvalidTransaction(
                f"gas limit {gas_limit} exceeds the block gas limit {config.block_gas_limit}: it could never be mined"
            )

    def _plan_admission(self, entry: _Entry, account: _Account) -> _Admission:
        """Decide replacement, balance and capacity for ``entry``; raise without changing anything."""
        replaced = account.txs.get(entry.nonce)
        if replaced is not None:
            floor = compute_min_replacement_price(replaced.gas_price, self._config.price_bump_percent)
            if entry.gas_price < floor:
                raise InvalidTransaction(
                    f"replacement transaction underpriced: nonce {entry.nonce} is taken by a transaction "
                    f"with gas price {replaced.gas_price}; a replacement needs at least {floor}"
                )
        spent = sum(other.cost for nonce, other in account.txs.items() if nonce < entry.nonce)
        if spent + entry.cost > account.balance:
            raise InvalidTransaction(
                f"insufficient funds: balance {account.balance}, this transaction may cost {entry.cost} "
                f"and the sender's lower-nonce transactions in the pool {spent}"
            )
        if replaced is not None:
            return _Admission(replaced, None)  # takes the old one's slot
        if len(account.txs) >= self._config.account_slots:
            highest = max(account.txs)
            if entry.nonce > highest:
                raise InvalidTransaction(
                    f"account has too many transactions in the pool ({len(account.txs)}, the limit); "
                    "wait for some to be mined"
                )
            # The newcomer is closer to execution than the sender's furthest transaction: without
            # this, a sender whose slots hold only gapped transactions could never fill the gap.
            return _Admission(None, account.txs[highest])
        if len(self._by_hash) >= self._config.global_slots:
            executable = entry.nonce == account.nonce + account.pending
            victim = self._find_victim(entry, executable)
            if victim is None:
                raise InvalidTransaction(
                    f"pool is full: gas price {entry.gas_price} does not beat the cheapest transaction "
                    "that could make room; raise the gas price or retry later"
                )
            return _Admission(None, victim)
        return _Admission(None, None)

    def _find_victim(self, entry: _Entry, executable: bool) -> _Entry | None:
        """The transaction of another sender that makes room for ``entry``, or None.

        Queued transactions go first (they cannot be mined now), then the cheapest end of a
        pending run; a victim must be strictly cheaper than the newcomer, and a newcomer that would
        itself be queued never pushes out an executable transaction. Ties evict the latest admitted.
        This scans the pool, which only happens while it is full.
        """
        queued: _Entry | None = None
        tail: _Entry | None = None
        for sender, account in self._accounts.items():
            if sender == entry.sender:
                continue
            for candidate in account.txs.values():
                if not account.is_pending(candidate) and (queued is None or _is_cheaper(candidate, queued)):
                    queued = candidate
            if account.pending and (tail is None or _is_cheaper(account.get_pending_tail(), tail)):
                tail = account.get_pending_tail()
        if queued is not None and queued.gas_price < entry.gas_price:
            return queued
        if executable and tail is not None and tail.gas_price < entry.gas_price:
            return tail
        return None

    # --- bookkeeping -----------------------------------------------------------------------------

    def _read_account(self, sender: bytes) -> _Account:
        return _Account(self._state.get_nonce(sender), self._state.get_balance(sender))

    def _remove(self, entry: _Entry) -> None:
        account = self._accounts[entry.sender]
        del account.txs[entry.nonce]
        del self._by_hash[entry.tx.hash]
        self._count_pending(account)
        if not account.txs:
            del self._accounts[entry.sender]

    def _drop_unaffordable(self, account: _Account) -> None:
        """Drop the sender's transactions from the first one its balance cannot cover.

        Later nonces cannot execute before that one, and keeping them would let a sender hold
        slots it cannot pay for.
        """
        spent = 0
        entries = account.get_sorted()
        for index, entry in enumerate(entries):
            spent += entry.cost
            if spent > account.balance:
                for dropped in entries[index:]:
                    self._remove(dropped)
                return

    @staticmethod
    def _count_pending(account: _Account) -> None:
        pending = 0
        while account.nonce + pending in account.txs:
            pending += 1
        account.pending = pending

    # --- head changes ----------------------------------------------------------------------------

    def on_new_head(self) -> None:
        """Re-read every sender from the state after a block was committed.

        Mined transactions (nonce below the account nonce) leave; a sender whose balance shrank
        loses the transactions it can no longer pay for; the rest are recounted as pending or queued.
        """
        for sender in list(self._accounts):
            account = self._accounts[sender]
            fresh = self._read_account(sender)
            account.nonce, account.balance = fresh.nonce, fresh.balance
            for entry in account.get_sorted():
                if entry.nonce < account.nonce:
                    self._remove(entry)
            if sender in self._accounts:
                self._drop_unaffordable(account)
                self._count_pending(account)

    def reset(self, state_view: PoolStateView) -> None:
        """Switch to the state of a new head (a new state object) and re-check the pool against it."""
        self._state = state_view
        self.on_new_head()

    # --- block building and gossip ---------------------------------------------------------------

    def get_executable(self, max_count: int, max_gas: int) -> list[Transaction]:
        """Plain transactions for the next block: per sender in nonce order, senders by gas price.

        A sender's run stops at its first staking transaction, which must execute before its
        later plain ones. The gas limits sum to at most ``max_gas``.
        """
        transactions, _ = self._select(max_count, max_gas, with_staking=False)
        return transactions

    def get_executable_with_staking(
        self, max_count: int, max_gas: int
    ) -> tuple[list[Transaction], list[StakingTransaction]]:
        """A beacon block's plain and staking transactions, ``max_count`` and ``max_gas`` in total.

        A block executes its plain transactions first, so a sender contributes a run of plain
        transactions and then a run of staking ones; a plain one after a staking one waits.
        """
        return self._select(max_count, max_gas, with_staking=True)

    def _select(
        self, max_count: int, max_gas: int, *, with_staking: bool
    ) -> tuple[list[Transaction], list[StakingTransaction]]:
        # geth's TransactionsByPriceAndNonce: a heap of each sender's next transaction by price.
        heap: list[tuple[int, int, bytes]] = []
        for sender, account in self._accounts.items():
            if account.pending:
                head = account.txs[account.nonce]
                if with_staking or not isinstance(head.tx, StakingTransaction):
                    heap.append((-head.gas_price, head.sequence, sender))
        heapq.heapify(heap)
        transactions: list[Transaction] = []
        staking: list[StakingTransaction] = []
        gas_left = max_gas
        next_nonces: dict[bytes, int] = {}
        while heap and len(transactions) + len(staking) < max_count:
            _, _, sender = heapq.heappop(heap)
            account = self._accounts[sender]
            nonce = next_nonces.get(sender, account.nonce)
            entry = account.txs[nonce]
            if entry.gas_limit > gas_left:
                continue  # the sender's later transactions cannot go without this one
            gas_left -= entry.gas_limit
            if isinstance(entry.tx, StakingTransaction):
                staking.append(entry.tx)
            else:
                transactions.append(entry.tx)
            nonce += 1
            next_nonces[sender] = nonce
            if nonce >= account.nonce + account.pending:
                continue
            following = account.txs[nonce]
            if isinstance(following.tx, StakingTransaction):
                if not with_staking:
                    continue
            elif isinstance(entry.tx, StakingTransaction):
                continue  # a plain tx would execute before the staking one it follows
            heapq.heappush(heap, (-following.gas_price, following.sequence, sender))
        return transactions, staking

    def drain_new_for_gossip(self) -> list[bytes]:
        """Encodings of the transactions admitted since the last call that are still in the pool."""
        hashes, self._new_hashes = self._new_hashes, []
        # dict.fromkeys: a tx evicted and admitted again before the drain is sent once.
        return [self._by_hash[h].raw for h in dict.fromkeys(hashes) if h in self._by_hash]

    # --- queries ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, tx_hash: bytes) -> PoolTransaction | None:
        entry = self._by_hash.get(tx_hash)
        return None if entry is None else entry.tx

    def contains(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    @property
    def pending_count(self) -> int:
        return sum(account.pending for account in self._accounts.values())

    @property
    def queued_count(self) -> int:
        return len(self._by_hash) - self.pending_count

    def get_pending_nonce(self, address: bytes) -> int:
        """The nonce the sender's next transaction should carry (what wallets ask for as "pending")."""
        account = self._accounts.get(address)
        if account is None:
            return self._state.get_nonce(address)
        return account.nonce + account.pending

    def get_pending(self) -> dict[bytes, list[PoolTransaction]]:
        """Executable transactions by sender, in nonce order."""
        return {
            sender: [entry.tx for entry in account.get_sorted() if account.is_pending(entry)]
            for sender, account in self._accounts.items()
            if account.pending
        }

    def get_queued(self) -> dict[bytes, list[PoolTransaction]]:
        """Transactions waiting for a lower nonce, by sender, in nonce order."""
        return {
            sender: [entry.tx for entry in account.get_sorted() if not account.is_pending(entry)]
            for sender, account in self._accounts.items()
            if len(account.txs) > account.pending
        }


def _is_cheaper(candidate: _Entry, current: _Entry) -> bool:
    """Eviction order: lower gas price first; among equal prices the later admitted one."""
    return (candidate.gas_price, -candidate.sequence) < (current.gas_price, -current.sequence)
