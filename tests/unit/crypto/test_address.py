"""Addresses: BIP-173 bech32 one1…, EIP-55 hex, interop with pyhmy, and clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyhmy.util import convert_hex_to_one, convert_one_to_hex

from crypto import address as module
from crypto.address import from_bech32, from_hex, is_bech32_address, parse_address, to_bech32, to_checksum_hex
from harmony_node.exceptions import InvalidAddress

ONE = "one155jp2y76nazx8uw5sa94fr0m4s5aj8e5xm6fu3"
HEX = "0xA5241513DA9F4463F1d4874b548dFBAC29D91f34"


def test_localnet_pair() -> None:
    assert to_bech32(from_hex(HEX)) == ONE
    assert to_checksum_hex(from_bech32(ONE)) == HEX
    assert parse_address(ONE) == parse_address(HEX) == parse_address(HEX.lower()) == parse_address(ONE.upper())


@given(st.binary(min_size=20, max_size=20))
def test_round_trips_and_pyhmy_agrees(address: bytes) -> None:
    one = to_bech32(address)
    assert from_bech32(one) == address and is_bech32_address(one)
    assert from_hex(to_checksum_hex(address)) == address
    assert convert_hex_to_one(to_checksum_hex(address)) == one
    assert convert_one_to_hex(one).lower() == "0x" + address.hex()


def test_eip55_vectors() -> None:
    # From EIP-55.
    for text in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                 "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"):
        assert to_checksum_hex(from_hex(text)) == text


def test_bip173_generic_vectors_checksum() -> None:
    # BIP-173 valid strings with other HRPs decode with their own HRP (data lengths vary, so only the
    # checksum path is exercised through is-valid checks on 20-byte payloads below).
    address = bytes(range(20))
    assert from_bech32(to_bech32(address, hrp="bc"), hrp="bc") == address


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ONE[:-1] + ("q" if ONE[-1] != "q" else "p"), "checksum mismatch"),
        (ONE[:10] + "b" + ONE[11:], "invalid bech32 character 'b'"),
        (ONE[:5] + ONE[5:].upper(), "mixes upper and lower case"),
        ("one1", "separator"),
        (to_bech32(bytes(20))[:-6] + "qqqqqq", "checksum mismatch"),
        ("one1" + "q" * 100, "longer than 90"),
        ("one1 qqqq", "printable ASCII"),
        (HEX[:-1] + ("4" if HEX[-1] != "4" else "5"), "EIP-55 checksum mismatch"),
        ("0x1234", "40 hex digits"),
        ("0x" + "zz" * 20, "non-hex"),
        ("hello", "expected one1… or 0x…"),
    ],
)
def test_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidAddress, match=message):
        parse_address(text)


def test_wrong_prefix_is_named() -> None:
    with pytest.raises(InvalidAddress, match="expected prefix one1, got bc1"):
        from_bech32(to_bech32(bytes(20), hrp="bc"))


def test_wrong_data_length_and_bech32m_are_rejected() -> None:
    data = module._regroup(bytes(19), 8, 5, pad=True)
    polymod = module._polymod(module._expand_hrp("one") + data + [0] * 6) ^ 1
    short = "one1" + "".join(module._CHARSET[d] for d in data + [(polymod >> 5 * (5 - i)) & 31 for i in range(6)])
    with pytest.raises(InvalidAddress, match="decodes to 19 bytes"):
        from_bech32(short)
    data = module._regroup(bytes(20), 8, 5, pad=True)
    polymod_m = module._polymod(module._expand_hrp("one") + data + [0] * 6) ^ 0x2BC830A3  # BIP-350 constant
    bech32m = "one1" + "".join(module._CHARSET[d] for d in data + [(polymod_m >> 5 * (5 - i)) & 31 for i in range(6)])
    with pytest.raises(InvalidAddress, match="checksum mismatch"):
        from_bech32(bech32m)


BIP173_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "11" + "q" * 82 + "c8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]


@pytest.mark.parametrize("text", BIP173_VALID)
def test_bip173_valid_strings_pass_the_checksum(text: str) -> None:
    """BIP-173's valid strings carry payloads that are not 20-byte addresses: the checksum must pass and
    the refusal must be about the payload, never the checksum or the characters."""
    hrp = text.lower()[: text.rfind("1")]
    with pytest.raises(InvalidAddress, match="decodes to|padding"):
        from_bech32(text, hrp=hrp)
    assert_checksum_is_checked(text, hrp)


def test_bip173_valid_string_with_a_20_byte_payload() -> None:
    text = "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"  # the payload is every bech32 character in order
    assert from_bech32(text, hrp="abcdef") == bytes.fromhex("00443214c74254b635cf84653a56d7c675be77df")
    assert to_bech32(from_bech32(text, hrp="abcdef"), hrp="abcdef") == text
    assert_checksum_is_checked(text, "abcdef")


def assert_checksum_is_checked(text: str, hrp: str) -> None:
    flipped = text[:-1] + ("q" if text[-1].lower() != "q" else "p")
    with pytest.raises(InvalidAddress, match="checksum mismatch|mixes upper and lower"):
        from_bech32(flipped, hrp=hrp)


@pytest.mark.parametrize(
    ("text", "hrp", "message"),
    [
        ("\x201nwldj5", " ", "printable ASCII"),  # HRP character out of range
        ("\x7f1axkwrx", "\x7f", "printable ASCII"),
        ("\x801eym55h", "\x80", "printable ASCII"),
        ("an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
         "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio", "longer than 90"),
        ("pzry9x0s0muk", "one", "separator"),  # no separator
        ("1pzry9x0s0muk", "", "separator"),  # empty HRP
        ("x1b4n0q5v", "x", "invalid bech32 character 'b'"),
        ("li1dgmt3", "li", "separator"),  # checksum too short
        ("de1lg7wt\xff", "de", "printable ASCII"),
        ("A1G7SGD8", "a", "checksum mismatch"),  # checksum computed over the upper-case HRP
        ("10a06t8", "", "separator"),
        ("1qzzfhee", "", "separator"),
    ],
)
def test_bip173_invalid_strings(text: str, hrp: str, message: str) -> None:
    with pytest.raises(InvalidAddress, match=message):
        from_bech32(text, hrp=hrp)


def test_address_length_errors() -> None:
    for convert in (to_bech32, to_checksum_hex):
        with pytest.raises(InvalidAddress, match="an address is 20 bytes, got 19"):
            convert(bytes(19))


def test_pyhmy_localnet_pair_both_ways() -> None:
    assert convert_hex_to_one(HEX) == ONE
    assert convert_one_to_hex(ONE) == HEX
    assert parse_address(convert_one_to_hex(ONE)) == from_bech32(ONE)
