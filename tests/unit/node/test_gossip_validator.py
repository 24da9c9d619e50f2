"""The gossip topic validator of a node (``service.is_wellformed_envelope``): what it refuses is
neither delivered nor forwarded, so junk stops at the first honest node."""

from __future__ import annotations

from harmony_node.node.service import is_wellformed_envelope
from harmony_node.p2p.envelope import Envelope, MessageKind, pack_staking_transactions, pack_transactions
from harmony_node.types.transaction import encode_transaction, sign_transaction

ETH_CHAIN_ID_BASE = 1666700000


def _raw_transfer(nonce: int) -> bytes:
    tx = sign_transaction(nonce=nonce, gas_price=10**11, gas_limit=21_000, shard_id=0, to_shard_id=0,
                          to=b"\x11" * 20, value=1, data=b"", private_key=b"\x01" * 32, chain_id=2)
    return encode_transaction(tx)


def _is_valid(envelope: Envelope) -> bool:
    return is_wellformed_envelope(envelope.encode(), ETH_CHAIN_ID_BASE)


def test_a_batch_of_transactions_passes() -> None:
    assert _is_valid(pack_transactions([_raw_transfer(0), _raw_transfer(1)]))


def test_a_batch_with_one_item_that_is_no_transaction_is_refused_whole() -> None:
    assert not _is_valid(pack_transactions([_raw_transfer(0), b"\x01\x02junk"]))
    assert not _is_valid(pack_transactions([_raw_transfer(0)[:-3]]))  # cut short
    assert not _is_valid(pack_staking_transactions([b"\xc0"]))
    assert not _is_valid(Envelope(MessageKind.TRANSACTION, b"\xff\x00"))  # not even a batch


def test_other_kinds_are_checked_for_framing_only() -> None:
    # Consensus messages carry their own signatures, checked by the engine with the committee at hand.
    assert _is_valid(Envelope(MessageKind.CONSENSUS, b"anything"))
    assert not is_wellformed_envelope(b"\x00\x01garbage", ETH_CHAIN_ID_BASE)
