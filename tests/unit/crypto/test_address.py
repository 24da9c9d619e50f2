"""Addresses: BIP-173 bech32 one1…, EIP-55 hex, interop with pyhmy, and an exact error for each mistake."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pyhmy.bech32.bech32 import bech32_decode, bech32_encode, bech32_hrp_expand, bech32_polymod, convertbits
from pyhmy.util import convert_hex_to_one, convert_one_to_hex

from crypto.address import (
    decode_bech32,
    encode_bech32,
    from_bech32,
    from_hex,
    is_bech32_address,
    parse_address,
    to_bech32,
    to_checksum_hex,
)
from harmony_node.exceptions import InvalidAddress

# The well-known localnet account (DESIGN.md §4).
ONE = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"
HEX = "0xA5241513DA9F4463F1d4874b548dFBAC29D91f34"
BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONSTANT = 0x2BC830A3

addresses = st.binary(min_size=20, max_size=20)


def pyhmy_encode(hrp: str, data: list[int], constant: int = 1) -> str:
    """An independent encoder (pyhmy's BIP-173 reference code), with a choice of checksum constant."""
    residue = bech32_polymod(bech32_hrp_expand(hrp) + data + [0] * 6) ^ constant
    checksum = [(residue >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + checksum)


def test_localnet_account_both_forms() -> None:
    assert to_bech32(from_hex(HEX)) == ONE
    assert to_checksum_hex(from_bech32(ONE)) == HEX
    assert from_bech32(ONE) == bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")
    forms = (ONE, ONE.upper(), HEX, HEX.lower(), "0x" + HEX[2:].upper(), f"  {ONE}\n")
    assert {parse_address(text) for text in forms} == {from_bech32(ONE)}


def test_localnet_account_pyhmy_both_ways() -> None:
    assert convert_hex_to_one(HEX) == ONE
    assert convert_one_to_hex(ONE) == HEX


@given(addresses)
def test_round_trips_and_pyhmy_agree(address: bytes) -> None:
    one, hex_form = to_bech32(address), to_checksum_hex(address)
    assert from_bech32(one) == from_bech32(one.upper()) == address and is_bech32_address(one)
    assert from_hex(hex_form) == from_hex(hex_form.lower()) == address
    assert parse_address(one) == parse_address(hex_form) == address
    assert convert_hex_to_one(hex_form) == one  # pyhmy encodes, we decode: same string
    assert convert_one_to_hex(one) == hex_form  # we encode, pyhmy decodes: same EIP-55 hex


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789!?", min_size=1, max_size=20),
       st.lists(st.integers(0, 31), max_size=40))
def test_generic_codec_agrees_with_pyhmy(hrp: str, data: list[int]) -> None:
    text = encode_bech32(hrp, data)
    assert text == bech32_encode(hrp, data)
    assert decode_bech32(text) == (hrp, tuple(data))
    assert bech32_decode(text) == (hrp, data)


@given(addresses, st.data())
def test_any_single_character_change_is_caught(address: bytes, data: st.DataObject) -> None:
    one = to_bech32(address)
    position = data.draw(st.integers(min_value=4, max_value=len(one) - 1))
    replacement = data.draw(st.sampled_from(BECH32_CHARSET).filter(lambda c: c != one[position]))
    with pytest.raises(InvalidAddress, match="checksum mismatch"):
        from_bech32(one[:position] + replacement + one[position + 1 :])


@given(st.text(max_size=100))
def test_arbitrary_text_raises_only_invalid_address(text: str) -> None:
    try:
        assert len(parse_address(text)) == 20
    except InvalidAddress as exc:
        assert str(exc)
    assert is_bech32_address(text) in (True, False)


# BIP-173 "Test vectors": valid bech32 strings (generic payloads, not necessarily 20 bytes).
BIP173_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11" + "q" * 82 + "c8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]


@pytest.mark.parametrize("text", BIP173_VALID)
def test_bip173_valid_strings(text: str) -> None:
    hrp, data = decode_bech32(text)
    assert hrp == text.lower()[: text.rfind("1")]
    assert encode_bech32(hrp, data) == text.lower()
    assert bech32_decode(text.lower()) == (hrp, list(data))


def test_bip173_vector_with_a_20_byte_payload_is_an_address() -> None:
    text = "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"  # the payload is every bech32 character in order
    assert from_bech32(text, hrp="abcdef") == bytes.fromhex("00443214c74254b635cf84653a56d7c675be77df")
    assert to_bech32(from_bech32(text, hrp="abcdef"), hrp="abcdef") == text


# BIP-173 "Test vectors": invalid bech32 strings, each with the reason the BIP gives.
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\x201nwldj5", "outside printable ASCII: ' '"),  # HRP character out of range
        ("\x7f1axkwrx", "outside printable ASCII: '\\\\x7f'"),
        ("\x801eym55h", "outside printable ASCII: '\\\\x80'"),
        ("an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
         "91 characters, longer than 90"),
        ("pzry9x0s0muk", "no separator"),
        ("1pzry9x0s0muk", "empty prefix"),
        ("x1b4n0q5v", "invalid bech32 character 'b' at position 3"),
        ("li1dgmt3", "data part is 5 characters, shorter than the 6-character checksum"),
        ("de1lg7wt\xff", "outside printable ASCII: '\xff'"),
        ("A1G7SGD8", "checksum mismatch"),  # checksum calculated with an upper-case HRP
        ("10a06t8", "empty prefix"),
        ("1qzzfhee", "empty prefix"),
    ],
)
def test_bip173_invalid_strings(text: str, message: str) -> None:
    with pytest.raises(InvalidAddress, match=message):
        decode_bech32(text)


# BIP-350 "Test vectors": valid bech32m strings. Harmony uses original bech32, so each is refused.
@pytest.mark.parametrize(
    "text",
    [
        "A1LQFN3A",
        "a1lqfn3a",
        "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
        "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
        "?1v759aa",
    ],
)
def test_bip350_bech32m_strings_are_refused(text: str) -> None:
    with pytest.raises(InvalidAddress, match=r"bech32m \(BIP-350\) checksum is not accepted"):
        decode_bech32(text)


def test_bech32m_address_is_refused() -> None:
    address = bytes.fromhex("a5241513da9f4463f1d4874b548dfbac29d91f34")
    bech32m = pyhmy_encode("one", convertbits(address, 8, 5), constant=BECH32M_CONSTANT)
    assert pyhmy_encode("one", convertbits(address, 8, 5)) == ONE  # the helper is right for bech32
    with pytest.raises(InvalidAddress, match="bech32m"):
        from_bech32(bech32m)
    assert not is_bech32_address(bech32m)


def _flip_last(text: str) -> str:
    return text[:-1] + ("q" if text[-1] != "q" else "p")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_flip_last(ONE), "bech32 checksum mismatch: check for a typo"),
        (ONE[:10] + "b" + ONE[11:], "invalid bech32 character 'b' at position 11"),
        (ONE[:10] + "o" + ONE[11:], "invalid bech32 character 'o'"),
        (ONE[:5] + ONE[5:].upper(), "mixes upper and lower case"),
        ("one1", "data part is 0 characters"),
        ("one1" + "q" * 100, "104 characters, longer than 90"),
        ("one1 qqqq", "outside printable ASCII"),
        (to_bech32(bytes(20), hrp="bc"), "expected prefix one1, got bc1"),
        (_flip_last(to_bech32(bytes(20), hrp="0ne")), "expected prefix one1, got 0ne1"),  # prefix named first
        (bech32_encode("one", convertbits(bytes(19), 8, 5)), "decodes to 19 bytes; an address must decode to 20"),
        (bech32_encode("one", convertbits(bytes(21), 8, 5)), "decodes to 21 bytes"),
        (bech32_encode("one", [0] * 33), "invalid padding: 5 leftover bits"),
        (bech32_encode("one", [0] * 30 + [1]), "invalid padding: the leftover bits are not zero"),
        (HEX[:-1] + ("4" if HEX[-1] != "4" else "5"), "EIP-55 checksum mismatch in mixed-case hex address"),
        ("0x1234", "0x followed by 40 hex digits, got 4 digits"),
        ("0x" + "00" * 21, "got 42 digits"),
        ("0x" + "zz" * 20, "non-hex character 'z'"),
        ("0x" + "ab " * 10 + "ab" * 5, "non-hex character ' '"),  # bytes.fromhex would skip the spaces
        (HEX[2:], "needs the 0x prefix"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "expected prefix one1, got bc1"),  # BIP-173 P2WPKH
        ("hello", "expected one1… or 0x…, got 'hello'"),
        ("1234", "expected one1… or 0x…"),
        ("", "expected one1… or 0x…"),
    ],
)
def test_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidAddress, match=message):
        parse_address(text)


@pytest.mark.parametrize("value", [None, 42, b"one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3", ["0x"]])
def test_non_strings_are_invalid_addresses(value: object) -> None:
    for parse in (parse_address, from_bech32, from_hex, decode_bech32):
        with pytest.raises(InvalidAddress, match="must be a string"):
            parse(value)  # type: ignore[arg-type]
    assert is_bech32_address(value) is False  # type: ignore[arg-type]


def test_from_hex_needs_the_prefix() -> None:
    with pytest.raises(InvalidAddress, match="starts with 0x"):
        from_hex(ONE)


def test_wrong_length_bytes_are_refused() -> None:
    for convert in (to_bech32, to_checksum_hex):
        for size in (0, 19, 21, 32):
            with pytest.raises(InvalidAddress, match=f"an address is 20 bytes, got {size}"):
                convert(bytes(size))


@pytest.mark.parametrize(
    ("hrp", "data", "message"),
    [
        ("One", [0], "lower-case printable ASCII"),
        ("", [0], "lower-case printable ASCII"),
        ("o ne", [0], "lower-case printable ASCII"),
        ("one", [32], "5-bit"),
        ("one", [-1], "5-bit"),
        ("one", [0] * 81, "longer than 90"),
    ],
)
def test_encode_refuses_what_it_cannot_encode(hrp: str, data: list[int], message: str) -> None:
    with pytest.raises(InvalidAddress, match=message):
        encode_bech32(hrp, data)


# EIP-55 "Test Cases": all caps, all lower, normal.
EIP55_VECTORS = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize("text", EIP55_VECTORS)
def test_eip55_vectors(text: str) -> None:
    assert to_checksum_hex(from_hex(text)) == text


@given(addresses, st.data())
def test_eip55_detects_a_flipped_case(address: bytes, data: st.DataObject) -> None:
    text = to_checksum_hex(address)
    letters = [i for i, c in enumerate(text) if i >= 2 and c.isalpha()]
    assume(len({text[i].isupper() for i in letters}) == 2)  # all one case: no checksum to break
    i = data.draw(st.sampled_from(letters))
    flipped = text[:i] + text[i].swapcase() + text[i + 1 :]
    if flipped[2:] in (flipped[2:].lower(), flipped[2:].upper()):
        assert from_hex(flipped) == address  # now all one case, which EIP-55 accepts unchecked
    else:
        with pytest.raises(InvalidAddress, match="EIP-55 checksum mismatch"):
            from_hex(flipped)
