"""Staking transactions: live agreement with pyhmy over random fields, message round trips, strict decoding.

The fixed pyhmy vectors (tests/vectors/transactions) are checked in test_transaction_vectors.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhmy.staking_signing import sign_staking_transaction as pyhmy_sign_staking_transaction
from pyhmy.staking_structures import Directive as PyhmyDirective

from crypto.address import to_bech32
from crypto.hash import keccak256
from crypto.secp256k1 import SECP256K1_N
from harmony_node.exceptions import DecodingError, InvalidSignature
from harmony_node.types.rlp_codec import encode_item, encode_rlp_list
from harmony_node.types.staking_transaction import (
    CollectRewards,
    CommissionRates,
    CompoundRewards,
    CreateValidator,
    Delegate,
    Description,
    Directive,
    EditValidator,
    StakeMessage,
    Undelegate,
    decode_staking_transaction,
    encode_staking_transaction,
    sign_staking_transaction,
)

KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
SENDER = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")
addresses = st.binary(min_size=20, max_size=20)
amounts = st.integers(0, 2**160)
texts = st.text(max_size=20)


@settings(max_examples=15)
@given(
    kind=st.sampled_from([PyhmyDirective.Delegate, PyhmyDirective.Undelegate, PyhmyDirective.CollectRewards]),
    validator=addresses,
    amount=st.integers(1, 2**128),
    nonce=st.integers(0, 2**64 - 1),
    gas_price=st.integers(1, 2**64),
    gas_limit=st.integers(21000, 2**63),
    chain_id=st.integers(1, 4),
)
def test_pyhmy_and_we_agree(
    kind: PyhmyDirective, validator: bytes, amount: int, nonce: int, gas_price: int, gas_limit: int, chain_id: int
) -> None:
    fields: dict[str, Any] = {"directive": kind, "delegatorAddress": to_bech32(SENDER), "nonce": nonce,
                              "gasPrice": gas_price, "gasLimit": gas_limit, "chainId": chain_id}
    message: StakeMessage
    if kind == PyhmyDirective.CollectRewards:
        message = CollectRewards(SENDER)
    else:
        fields.update(validatorAddress=to_bech32(validator), amount=amount)
        message = (Delegate if kind == PyhmyDirective.Delegate else Undelegate)(SENDER, validator, amount)
    signed = pyhmy_sign_staking_transaction(fields, "0x" + KEY.hex())
    raw = bytes(signed.rawTransaction)
    tx = decode_staking_transaction(raw)
    assert tx.stake_message == message and tx.directive == int(kind.value)
    assert (tx.nonce, tx.gas_price, tx.gas_limit, tx.chain_id) == (nonce, gas_price, gas_limit, chain_id)
    assert tx.recover_sender() == SENDER and tx.hash == bytes(signed.hash)
    assert encode_staking_transaction(tx) == raw
    ours = sign_staking_transaction(message, nonce=nonce, gas_price=gas_price, gas_limit=gas_limit,
                                    private_key=KEY, chain_id=chain_id)
    assert encode_staking_transaction(ours) == raw


descriptions = st.builds(Description, texts, texts, texts, texts, texts)
bls_keys = st.binary(min_size=48, max_size=48)
rates = st.integers(0, 10**18)
messages = st.one_of(
    st.builds(CreateValidator, addresses, descriptions, st.builds(CommissionRates, rates, rates, rates), amounts,
              amounts, st.lists(bls_keys, max_size=3).map(tuple),
              st.lists(st.binary(min_size=96, max_size=96), max_size=3).map(tuple), amounts),
    st.builds(EditValidator, addresses, descriptions, st.none() | rates, st.none() | st.integers(1, 2**160),
              st.none() | st.integers(1, 2**160), st.none() | bls_keys, st.none() | bls_keys,
              st.none() | st.binary(min_size=96, max_size=96), st.none() | st.integers(0, 3)),
    st.builds(Delegate, addresses, addresses, amounts),
    st.builds(Undelegate, addresses, addresses, amounts),
    st.builds(CollectRewards, addresses),
    st.builds(CompoundRewards, addresses),
)


@settings(max_examples=40)
@given(messages, st.integers(0, 2**64 - 1), st.integers(1, 4))
def test_every_message_kind_round_trips(message: StakeMessage, nonce: int, chain_id: int) -> None:
    tx = sign_staking_transaction(message, nonce=nonce, gas_price=1, gas_limit=100_000, private_key=KEY,
                                  chain_id=chain_id)
    raw = encode_staking_transaction(tx)
    decoded = decode_staking_transaction(raw)
    assert decoded.stake_message == message and type(decoded.stake_message) is type(message)
    assert decoded.directive == message.directive and decoded.sender == SENDER
    assert decoded.hash == keccak256(raw) and encode_staking_transaction(decoded) == raw


def test_edit_validator_has_an_8_and_a_9_field_form() -> None:
    description = Description("a", "b", "c", "d", "e")
    short = EditValidator(SENDER, description, None, None, None, None, None, None)
    long = EditValidator(SENDER, description, None, None, None, None, None, None, status=2)
    assert len(short.to_rlp()) == 8 and len(long.to_rlp()) == 9
    for message in (short, long):
        tx = sign_staking_transaction(message, nonce=0, gas_price=1, gas_limit=1, private_key=KEY, chain_id=2)
        assert decode_staking_transaction(encode_staking_transaction(tx)).stake_message == message


def _staking_raw(directive: object, message: object, nonce: bytes = b"\x05") -> bytes:
    """A staking transaction with the given items, nonce already RLP-encoded (to write it non-canonically)."""
    return encode_rlp_list(
        encode_item(directive) + encode_item(message) + nonce  # type: ignore[arg-type]
        + b"".join(encode_item(x) for x in (1, 21000, 39, 1, 1))
    )


DELEGATE = [SENDER, b"\x22" * 20, b"\x0a"]


def test_canonical_reference_decodes() -> None:
    assert decode_staking_transaction(_staking_raw(2, DELEGATE)).nonce == 5


@pytest.mark.parametrize(
    "raw",
    [
        _staking_raw(2, DELEGATE, nonce=b"\x82\x00\x05"),  # leading zero in an integer
        _staking_raw(2, DELEGATE, nonce=b"\x81\x05"),  # single byte < 0x80 wrapped as 0x81 05
        _staking_raw(2, [SENDER, b"\x22" * 20, b"\x00\x0a"]),  # leading zero inside the message
        bytes([0xF8, 11]) + b"\x80" * 11,  # long-form list length for 11 bytes
        _staking_raw(2, DELEGATE) + b"\x80",  # trailing bytes
    ],
    ids=["leading zero", "wrapped single byte", "leading zero in message", "long form short list", "trailing"],
)
def test_non_canonical_encodings_are_rejected(raw: bytes) -> None:
    with pytest.raises(DecodingError):
        decode_staking_transaction(raw)


DESCRIPTION = [b"a", b"b", b"c", b"d", b"e"]
RATES = [[b"\x01"], [b"\x02"], [b"\x03"]]
CREATE = [SENDER, DESCRIPTION, RATES, b"\x01", b"\x02", [b"\xb2" * 48], [b"\xc3" * 96], b"\x03"]
EDIT = [SENDER, DESCRIPTION, [], b"", b"", b"", b"", b""]


@pytest.mark.parametrize(
    ("directive", "message", "match"),
    [
        (6, DELEGATE, "unknown staking directive 6"),
        (0, CREATE, None),
        (0, CREATE[:7], "CreateValidator must have 8 items"),
        (0, [SENDER, DESCRIPTION[:4], *CREATE[2:]], "description must have 5 items"),
        (0, [SENDER, [b"\xff", *DESCRIPTION[1:]], *CREATE[2:]], "not valid UTF-8"),
        (0, [SENDER, DESCRIPTION, [b"\x01", b"\x02", b"\x03"], *CREATE[3:]], "commission rate must be a list"),
        (0, [*CREATE[:5], [b"\xb2" * 47], *CREATE[6:]], "slot public key must be 48 bytes"),
        (1, EDIT, None),
        (1, [*EDIT, b"\x02"], None),
        (1, [*EDIT, b"\x04"], "unknown EPoS status 4"),
        (1, [*EDIT, b"", b""], "EditValidator must have 8 or 9 items"),
        (1, [SENDER, DESCRIPTION, [b"\x01", b"\x02"], *EDIT[3:]], "commission rate must be empty or one number"),
        (1, [*EDIT[:6], b"\xd4" * 47, b""], "slot key to add must be 0 or 48 bytes"),
        (3, [SENDER, [b"\x22" * 20], b"\x0a"], "validator address must be a byte string"),
        (4, [SENDER, SENDER], "CollectRewards must have 1 items"),
        (5, [SENDER], None),
        (5, b"flat", "CompoundRewards must be a list"),
    ],
)
def test_message_shapes(directive: int, message: object, match: str | None) -> None:
    raw = _staking_raw(directive, message)
    if match is None:
        assert decode_staking_transaction(raw).directive == directive
    else:
        with pytest.raises(DecodingError, match=match):
            decode_staking_transaction(raw)


def test_high_s_twin_is_rejected_and_other_chain_recovers_someone_else() -> None:
    tx = sign_staking_transaction(CompoundRewards(SENDER), nonce=0, gas_price=1, gas_limit=1, private_key=KEY,
                                  chain_id=2)
    recovery_id = (tx.v - 35) % 2
    twin = decode_staking_transaction(encode_staking_transaction(
        tx.copy(v=tx.v + (1 if recovery_id == 0 else -1), s=SECP256K1_N - tx.s)))
    with pytest.raises(InvalidSignature, match="high-s"):
        twin.recover_sender()
    other_chain = decode_staking_transaction(encode_staking_transaction(tx.copy(v=tx.v + 2)))
    assert other_chain.chain_id == 3 and other_chain.sender != SENDER
    assert Directive(tx.directive) is Directive.COMPOUND_REWARDS
