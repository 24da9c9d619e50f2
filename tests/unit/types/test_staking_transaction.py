"""Staking transactions: live agreement with pyhmy for every directive, message shapes, refusals, fuzzing.

The stored pyhmy vectors (tests/vectors/transactions) are checked in test_transaction_vectors.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhmy.staking_signing import sign_staking_transaction as pyhmy_sign_staking_transaction
from pyhmy.staking_structures import Directive as PyhmyDirective

from crypto.address import to_bech32
from crypto.hash import keccak256
from crypto.secp256k1 import SECP256K1_N, sign_hash
from harmony_node.exceptions import DecodingError, InvalidSignature
from harmony_node.types.rlp_codec import encode_item, encode_rlp_list
from harmony_node.types.staking_transaction import (
    MAX_MESSAGE_DEPTH,
    CollectRewards,
    CommissionRates,
    CompoundRewards,
    CreateValidator,
    Delegate,
    Description,
    Directive,
    EditValidator,
    StakeMessage,
    StakingTransaction,
    Undelegate,
    decode_staking_transaction,
    encode_staking_transaction,
    sign_staking_transaction,
)

KEY = bytes.fromhex("1f84c95ac16e6a50f08d44c7bde7aff8742212fda6e4321fde48bf83bef266dc")
SENDER = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")
CHAIN_ID = 2
addresses = st.binary(min_size=20, max_size=20)
amounts = st.integers(0, 2**160)
texts = st.text(max_size=20)
rates = st.integers(0, 10**18)
bls_keys = st.binary(min_size=48, max_size=48)
bls_sigs = st.binary(min_size=96, max_size=96)
descriptions = st.builds(Description, texts, texts, texts, texts, texts)
tx_fields = st.fixed_dictionaries({
    "nonce": st.integers(0, 2**64 - 1), "gasPrice": st.integers(1, 2**64), "gasLimit": st.integers(21000, 2**64 - 1),
    "chainId": st.integers(1, 4),
})


def _decimal(rate: int) -> str:
    """A numeric.Dec (rate × 10^18) as the decimal string pyhmy takes."""
    return f"{rate // 10**18}.{rate % 10**18:018d}"


def _description_fields(description: Description) -> dict[str, str]:
    return {"name": description.name, "identity": description.identity, "website": description.website,
            "security-contact": description.security_contact, "details": description.details}


def _check_against_pyhmy(fields: dict[str, Any], expected: StakeMessage) -> None:
    """pyhmy signs; we decode the message and transaction, recover, hash and re-encode as it does, and sign alike."""
    signed = pyhmy_sign_staking_transaction(fields, "0x" + KEY.hex())
    raw = bytes(signed.rawTransaction)
    tx = decode_staking_transaction(raw)
    assert tx.stake_message == expected and tx.directive == expected.directive == fields["directive"].value
    assert (tx.nonce, tx.gas_price, tx.gas_limit, tx.chain_id) == (
        fields["nonce"], fields["gasPrice"], fields["gasLimit"], fields["chainId"])
    assert tx.recover_sender() == SENDER
    assert tx.hash == bytes(signed.hash) == keccak256(raw)
    assert encode_staking_transaction(tx) == raw
    ours = sign_staking_transaction(expected, nonce=tx.nonce, gas_price=tx.gas_price, gas_limit=tx.gas_limit,
                                    private_key=KEY, chain_id=fields["chainId"])
    assert encode_staking_transaction(ours) == raw  # RFC 6979 on both sides: same bytes


@settings(max_examples=15)
@given(addresses, descriptions, st.tuples(rates, rates, rates), amounts, amounts,
       st.lists(st.tuples(bls_keys, bls_sigs), max_size=3), amounts, tx_fields)
def test_pyhmy_create_validator(
    validator: bytes, description: Description, commission: tuple[int, int, int], min_self: int, max_total: int,
    slots: list[tuple[bytes, bytes]], amount: int, fields: dict[str, int],
) -> None:
    pyhmy_fields = {
        "directive": PyhmyDirective.CreateValidator, "validatorAddress": to_bech32(validator),
        **_description_fields(description), "rate": _decimal(commission[0]), "max-rate": _decimal(commission[1]),
        "max-change-rate": _decimal(commission[2]), "min-self-delegation": min_self,
        "max-total-delegation": max_total, "bls-public-keys": ["0x" + key.hex() for key, _ in slots],
        "bls-key-sigs": ["0x" + sig.hex() for _, sig in slots], "amount": amount, **fields,
    }
    expected = CreateValidator(validator, description, CommissionRates(*commission), min_self, max_total,
                               tuple(key for key, _ in slots), tuple(sig for _, sig in slots), amount)
    _check_against_pyhmy(pyhmy_fields, expected)


@settings(max_examples=15)
@given(addresses, descriptions, rates, amounts, amounts, st.sampled_from([b""]) | bls_keys,
       st.tuples(bls_keys, bls_sigs) | st.just((b"", b"")), tx_fields)
def test_pyhmy_edit_validator(
    validator: bytes, description: Description, rate: int, min_self: int, max_total: int, key_to_remove: bytes,
    key_to_add: tuple[bytes, bytes], fields: dict[str, int],
) -> None:
    """pyhmy's 8-field EditValidator (no EPOSStatus); its zero amounts and empty keys are Go's nil pointers."""
    pyhmy_fields = {
        "directive": PyhmyDirective.EditValidator, "validatorAddress": to_bech32(validator),
        **_description_fields(description), "rate": _decimal(rate), "min-self-delegation": min_self,
        "max-total-delegation": max_total, "bls-key-to-remove": "0x" + key_to_remove.hex(),
        "bls-key-to-add": "0x" + key_to_add[0].hex(), "bls-key-to-add-sig": "0x" + key_to_add[1].hex(), **fields,
    }
    expected = EditValidator(validator, description, rate, min_self or None, max_total or None,
                             key_to_remove or None, key_to_add[0] or None, key_to_add[1] or None, status=None)
    _check_against_pyhmy(pyhmy_fields, expected)


@settings(max_examples=15)
@given(
    kind=st.sampled_from([PyhmyDirective.Delegate, PyhmyDirective.Undelegate, PyhmyDirective.CollectRewards]),
    validator=addresses,
    amount=amounts,
    fields=tx_fields,
)
def test_pyhmy_delegate_undelegate_collect_rewards(
    kind: PyhmyDirective, validator: bytes, amount: int, fields: dict[str, int]
) -> None:
    pyhmy_fields: dict[str, Any] = {"directive": kind, "delegatorAddress": to_bech32(SENDER), **fields}
    expected: StakeMessage
    if kind == PyhmyDirective.CollectRewards:
        expected = CollectRewards(SENDER)
    else:
        pyhmy_fields.update(validatorAddress=to_bech32(validator), amount=amount)
        expected = (Delegate if kind == PyhmyDirective.Delegate else Undelegate)(SENDER, validator, amount)
    _check_against_pyhmy(pyhmy_fields, expected)


messages = st.one_of(
    st.builds(CreateValidator, addresses, descriptions, st.builds(CommissionRates, rates, rates, rates), amounts,
              amounts, st.lists(bls_keys, max_size=3).map(tuple), st.lists(bls_sigs, max_size=3).map(tuple), amounts),
    st.builds(EditValidator, addresses, descriptions, st.none() | rates, st.none() | st.integers(1, 2**160),
              st.none() | st.integers(1, 2**160), st.none() | bls_keys, st.none() | bls_keys,
              st.none() | bls_sigs, st.none() | st.integers(0, 3)),
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


def test_signing_hash_and_hash_formulas() -> None:
    message = Delegate(SENDER, b"\x22" * 20, 10**21)
    tx = sign_staking_transaction(message, nonce=4, gas_price=10**11, gas_limit=50_000, private_key=KEY,
                                  chain_id=CHAIN_ID)
    fields = [2, [SENDER, b"\x22" * 20, 10**21], 4, 10**11, 50_000]
    assert tx.signing_hash(CHAIN_ID) == keccak256(rlp.encode([*fields, CHAIN_ID, 0, 0]))
    assert tx.hash == keccak256(rlp.encode([*fields, tx.v, tx.r, tx.s]))


def test_edit_validator_nil_fields_and_its_8_and_9_field_forms() -> None:
    description = Description("a", "b", "c", "d", "e")
    short = EditValidator(SENDER, description, None, None, None, None, None, None)
    active = EditValidator(SENDER, description, None, None, None, None, None, None, status=1)
    nil_status = EditValidator(SENDER, description, None, None, None, None, None, None, status=0)
    described = [SENDER, [b"a", b"b", b"c", b"d", b"e"]]
    # Go's rlp:"nil": an absent Dec is the empty list, absent big ints and keys the empty string.
    assert rlp.encode(short.to_rlp()) == rlp.encode([*described, [], b"", b"", b"", b"", b""])
    assert rlp.encode(active.to_rlp()) == rlp.encode([*described, [], b"", b"", b"", b"", b"", 1])
    assert rlp.encode(nil_status.to_rlp()) == rlp.encode([*described, [], b"", b"", b"", b"", b"", b""])
    zero_rate = EditValidator(SENDER, description, 0, None, None, None, None, None)
    assert rlp.encode(zero_rate.to_rlp()) == rlp.encode([*described, [b""], b"", b"", b"", b"", b""])
    for message in (short, active, nil_status, zero_rate):
        tx = sign_staking_transaction(message, nonce=0, gas_price=1, gas_limit=1, private_key=KEY, chain_id=CHAIN_ID)
        assert decode_staking_transaction(encode_staking_transaction(tx)).stake_message == message


def test_high_s_twin_is_rejected_and_other_chain_recovers_someone_else() -> None:
    tx = sign_staking_transaction(CompoundRewards(SENDER), nonce=0, gas_price=1, gas_limit=1, private_key=KEY,
                                  chain_id=CHAIN_ID)
    assert Directive(tx.directive) is Directive.COMPOUND_REWARDS and tx.sender == SENDER
    recovery_id = (tx.v - 35) % 2
    twin = decode_staking_transaction(encode_staking_transaction(
        tx.copy(v=tx.v + (1 if recovery_id == 0 else -1), s=SECP256K1_N - tx.s)))
    with pytest.raises(InvalidSignature, match="high-s"):
        twin.recover_sender()
    other_chain = decode_staking_transaction(encode_staking_transaction(tx.copy(v=tx.v + 2)))
    assert other_chain.chain_id == CHAIN_ID + 1
    try:
        assert other_chain.sender != SENDER
    except InvalidSignature:
        pass  # or no key recovers at all: either way it is not the key holder's


def test_pre_eip155_staking_signature_is_refused() -> None:
    """Harmony's staking signer has no pre-EIP-155 form: v of 27/28 is chain id 0, no network's."""
    unsigned = sign_staking_transaction(CollectRewards(SENDER), nonce=0, gas_price=1, gas_limit=1, private_key=KEY,
                                        chain_id=CHAIN_ID)
    recovery_id, r, s = sign_hash(unsigned.signing_hash(None), KEY)
    tx = decode_staking_transaction(encode_staking_transaction(unsigned.copy(v=27 + recovery_id, r=r, s=s)))
    assert tx.chain_id is None
    with pytest.raises(InvalidSignature, match="EIP-155"):
        tx.recover_sender()


def _staking_raw(directive: object, message: object, nonce: bytes = b"\x05") -> bytes:
    """A staking transaction with the given items, nonce already RLP-encoded (to write it non-canonically)."""
    return encode_rlp_list(
        encode_item(directive) + encode_item(message) + nonce  # type: ignore[arg-type]
        + b"".join(encode_item(x) for x in (1, 21000, 39, 1, 1))
    )


DELEGATE = [SENDER, b"\x22" * 20, b"\x0a"]
GOOD = _staking_raw(2, DELEGATE)


def test_canonical_reference_decodes() -> None:
    assert decode_staking_transaction(GOOD).nonce == 5


def _nested(depth: int) -> bytes:
    encoded = b"\xc0"
    for _ in range(depth - 1):
        encoded = encode_rlp_list(encoded)
    return encoded


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "input ended"),
        (_staking_raw(2, DELEGATE, nonce=b"\x82\x00\x05"), "nonce: uint64 has leading zero bytes"),
        (_staking_raw(2, DELEGATE, nonce=b"\x81\x05"), "single byte below 0x80"),
        (_staking_raw(2, [SENDER, b"\x22" * 20, b"\x00\x0a"]), "amount has leading zero bytes"),
        (bytes([0xF8, len(GOOD) - 2]) + GOOD[2:], "long length form"),
        (GOOD + b"\x80", "does not match the input size"),
        (GOOD[:-1], "does not match the input size"),
        (encode_item([2, DELEGATE, 5, 1, 21000, 39, 1]), "expected a list of 8 items, got 7"),
        (_staking_raw(256, DELEGATE), "directive: 256 does not fit in uint8"),
        (_staking_raw(2, DELEGATE, nonce=encode_item(2**64)), "nonce: .* does not fit in uint64"),
        (encode_rlp_list(encode_item(2) + _nested(MAX_MESSAGE_DEPTH + 1) + GOOD[-8:]), "nested deeper"),
        (encode_rlp_list(encode_item(2) + _nested(5000) + GOOD[-8:]), "nested deeper"),
    ],
    ids=["empty", "leading zero", "wrapped single byte", "leading zero in message", "long form short list",
         "trailing", "truncated", "7 items", "directive 256", "nonce 2^64", "nested 4 deep", "nested 5000 deep"],
)
def test_malformed_transactions_are_decoding_errors(raw: bytes, match: str) -> None:
    with pytest.raises(DecodingError, match=match):
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
        (0, [SENDER, DESCRIPTION, [[b"\x01"], [b"\x02"]], *CREATE[3:]], "commission rates must have 3 items"),
        (0, [*CREATE[:5], [b"\xb2" * 47], *CREATE[6:]], "slot public key must be 48 bytes"),
        (0, [*CREATE[:6], [b"\xc3" * 95], CREATE[7]], "slot key signature must be 96 bytes"),
        (0, [b"\x01" * 19, *CREATE[1:]], "validator address must be 20 bytes"),
        (1, EDIT, None),
        (1, [*EDIT, b"\x02"], None),
        (1, [*EDIT, b"\x04"], "unknown EPoS status 4"),
        (1, [*EDIT, b"", b""], "EditValidator must have 8 or 9 items"),
        (1, EDIT[:7], "EditValidator must have 8 or 9 items"),
        (1, [SENDER, DESCRIPTION, [b"\x01", b"\x02"], *EDIT[3:]], "commission rate must be empty or one number"),
        (1, [*EDIT[:6], b"\xd4" * 47, b""], "slot key to add must be 0 or 48 bytes"),
        (1, [*EDIT[:3], [b"\x01"], *EDIT[4:]], "min self delegation must be a byte string"),
        (2, [SENDER, b"\x22" * 20], "Delegate must have 3 items"),
        (3, [SENDER, [b"\x22" * 20], b"\x0a"], "validator address must be a byte string"),
        (4, [SENDER, SENDER], "CollectRewards must have 1 items"),
        (4, [b""], "delegator address must be 20 bytes"),
        (5, [SENDER], None),
        (5, b"flat", "CompoundRewards must be a list"),
    ],
)
def test_message_shapes(directive: int, message: object, match: str | None) -> None:
    raw = _staking_raw(directive, message)
    if match is None:
        assert decode_staking_transaction(raw).directive == directive
        assert encode_staking_transaction(decode_staking_transaction(raw)) == raw
    else:
        with pytest.raises(DecodingError, match=match):
            decode_staking_transaction(raw)


# ---- fuzzing: outside bytes raise DecodingError and nothing else; what decodes re-encodes exactly ----

def _decodes_canonically_or_is_refused(raw: bytes) -> None:
    try:
        tx = decode_staking_transaction(raw)
    except DecodingError:
        return
    assert isinstance(tx, StakingTransaction)
    assert encode_staking_transaction(tx) == raw and tx.hash == keccak256(raw)


signed_transactions = st.builds(
    lambda message, nonce: encode_staking_transaction(sign_staking_transaction(
        message, nonce=nonce, gas_price=10**11, gas_limit=50_000, private_key=KEY, chain_id=CHAIN_ID)),
    messages, st.integers(0, 2**64 - 1),
)


@st.composite
def mutations(draw: st.DrawFn, originals: st.SearchStrategy[bytes]) -> bytes:
    raw = draw(originals)
    position = draw(st.integers(0, len(raw) - 1))
    byte = bytes([draw(st.integers(0, 255))])
    kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
    if kind == "replace":
        return raw[:position] + byte + raw[position + 1 :]
    if kind == "insert":
        return raw[:position] + byte + raw[position:]
    if kind == "delete":
        return raw[:position] + raw[position + 1 :]
    return raw[:position]


rlp_leaves = st.sampled_from([b"", b"\x00", b"\xff", SENDER, b"\xb2" * 48, b"\xc3" * 96]) | st.integers(0, 2**72)
rlp_trees = st.recursive(rlp_leaves, lambda children: st.lists(children, max_size=9), max_leaves=24)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    _decodes_canonically_or_is_refused(raw)


@settings(max_examples=300)
@given(mutations(signed_transactions))
def test_mutated_transactions(raw: bytes) -> None:
    _decodes_canonically_or_is_refused(raw)


@settings(max_examples=200)
@given(st.integers(0, 6), rlp_trees)
def test_well_formed_rlp_of_other_shapes_as_the_message(directive: int, message: Any) -> None:
    _decodes_canonically_or_is_refused(rlp.encode([directive, message, 5, 1, 21000, 39, 1, 1]))
