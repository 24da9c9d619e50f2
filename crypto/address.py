"""Account addresses as text: bech32 ``one1…`` (Harmony's display form) and EIP-55 ``0x…`` hex.

An address is 20 bytes (keccak256(public key)[12:]). Harmony shows it as BIP-173 bech32 with the
human-readable part ``one`` (``internal/common/address.go``); RPC and the CLI also accept ``0x`` hex.
The checksum is BIP-173's original one (constant 1), not BIP-350's bech32m (constant 0x2bc830a3):
a bech32m string is refused, as Harmony's own decoder refuses it.

Every refusal is an ``InvalidAddress`` whose message says what is wrong, because these strings are
typed and pasted by people.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from operator import xor

from crypto.hash import keccak256
from harmony_node.exceptions import InvalidAddress

HRP = "one"
"""The human-readable part of Harmony addresses (``Bech32AddressHRP``)."""
ADDRESS_LENGTH = 20

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {char: index for index, char in enumerate(_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32_CONSTANT = 1
_BECH32M_CONSTANT = 0x2BC830A3
_CHECKSUM_LENGTH = 6
_MAX_LENGTH = 90
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

# XOR of the generator terms selected by each 5-bit value of the top bits: one lookup per symbol
# instead of five bit tests, which halves the cost of an address conversion (RPC converts many).
_GENERATOR_TABLE = tuple(
    reduce(xor, (_GENERATOR[i] for i in range(5) if (top >> i) & 1), 0) for top in range(32)
)


def _polymod(values: Iterable[int]) -> int:
    """BIP-173's BCH checksum over 5-bit values."""
    checksum = 1
    for value in values:
        checksum = ((checksum & 0x1FFFFFF) << 5 ^ value) ^ _GENERATOR_TABLE[checksum >> 25]
    return checksum


def _expand_hrp(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup(values: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Regroup ``from_bits``-bit values into ``to_bits``-bit values (BIP-173 ``convertbits``)."""
    accumulator = bits = 0
    out = []
    max_value = (1 << to_bits) - 1
    for value in values:
        accumulator = ((accumulator << from_bits) | value) & ((1 << (from_bits + to_bits)) - 1)
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            out.append((accumulator << (to_bits - bits)) & max_value)
    elif bits >= from_bits:
        raise InvalidAddress(f"bech32 data has invalid padding: {bits} leftover bits (at most {from_bits - 1})")
    elif (accumulator << (to_bits - bits)) & max_value:
        raise InvalidAddress("bech32 data has invalid padding: the leftover bits are not zero")
    return out


def _validate_is_string(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidAddress(f"an address must be a string, got {type(text).__name__}")
    return text


def _split_bech32(text: str) -> tuple[str, str]:
    """Check a bech32 string's shape and return (lower-case prefix, lower-case data part incl. checksum)."""
    _validate_is_string(text)
    if len(text) > _MAX_LENGTH:
        raise InvalidAddress(f"bech32 string is {len(text)} characters, longer than {_MAX_LENGTH}")
    for char in text:
        if not 33 <= ord(char) <= 126:
            raise InvalidAddress(f"bech32 string has a character outside printable ASCII: {char!r}")
    if text.lower() != text and text.upper() != text:
        raise InvalidAddress("bech32 string mixes upper and lower case")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 0:
        raise InvalidAddress("not a bech32 string: no separator '1'")
    if separator == 0:
        raise InvalidAddress("bech32 string has an empty prefix before the separator '1'")
    data_part = text[separator + 1 :]
    if len(data_part) < _CHECKSUM_LENGTH:
        raise InvalidAddress(
            f"bech32 data part is {len(data_part)} characters, shorter than the {_CHECKSUM_LENGTH}-character checksum"
        )
    return text[:separator], data_part


def _decode_data_part(hrp: str, data_part: str) -> list[int]:
    """The 5-bit values of a data part, checksum verified and removed."""
    data = []
    for position, char in enumerate(data_part, start=len(hrp) + 2):  # 1-based, as people count
        index = _CHARSET_INDEX.get(char)
        if index is None:
            raise InvalidAddress(
                f"invalid bech32 character {char!r} at position {position} (1, b, i, o are never used)"
            )
        data.append(index)
    residue = _polymod(_expand_hrp(hrp) + data)
    if residue == _BECH32M_CONSTANT:
        raise InvalidAddress("bech32m (BIP-350) checksum is not accepted: Harmony addresses use original bech32")
    if residue != _BECH32_CONSTANT:
        raise InvalidAddress("bech32 checksum mismatch: check for a typo")
    return data[:-_CHECKSUM_LENGTH]


def encode_bech32(hrp: str, data: Sequence[int]) -> str:
    """BIP-173 ``bech32_encode``: the lower-case string for prefix ``hrp`` and 5-bit values ``data``."""
    if not hrp or hrp != hrp.lower() or any(not 33 <= ord(c) <= 126 for c in hrp):
        raise InvalidAddress(f"bech32 prefix must be lower-case printable ASCII, got {hrp!r}")
    if any(not 0 <= value < 32 for value in data):
        raise InvalidAddress("bech32 data values must be 5-bit (0..31)")
    if len(hrp) + 1 + len(data) + _CHECKSUM_LENGTH > _MAX_LENGTH:
        raise InvalidAddress(f"bech32 string would be longer than {_MAX_LENGTH} characters")
    residue = _polymod(_expand_hrp(hrp) + list(data) + [0] * _CHECKSUM_LENGTH) ^ _BECH32_CONSTANT
    checksum = [(residue >> 5 * (_CHECKSUM_LENGTH - 1 - i)) & 31 for i in range(_CHECKSUM_LENGTH)]
    return hrp + "1" + "".join(_CHARSET[value] for value in [*data, *checksum])


def decode_bech32(text: str) -> tuple[str, tuple[int, ...]]:
    """BIP-173 ``bech32_decode``: the lower-case prefix and the 5-bit values (checksum removed)."""
    hrp, data_part = _split_bech32(text)
    return hrp, tuple(_decode_data_part(hrp, data_part))


def to_bech32(address20: bytes, hrp: str = HRP) -> str:
    """The bech32 form (``one1…``) of a 20-byte address."""
    if len(address20) != ADDRESS_LENGTH:
        raise InvalidAddress(f"an address is {ADDRESS_LENGTH} bytes, got {len(address20)}")
    return encode_bech32(hrp, _regroup(bytes(address20), 8, 5, pad=True))


def from_bech32(text: str, hrp: str = HRP) -> bytes:
    """The 20-byte address a ``one1…`` string encodes; InvalidAddress says what is wrong."""
    found_hrp, data_part = _split_bech32(text)
    # The prefix is checked before the checksum: a mistyped prefix also breaks the checksum, and
    # "expected prefix one1" is the message that tells the user what to fix.
    if found_hrp != hrp.lower():
        raise InvalidAddress(f"expected prefix {hrp.lower()}1, got {found_hrp}1")
    decoded = bytes(_regroup(_decode_data_part(found_hrp, data_part), 5, 8, pad=False))
    if len(decoded) != ADDRESS_LENGTH:
        raise InvalidAddress(f"bech32 data decodes to {len(decoded)} bytes; an address must decode to {ADDRESS_LENGTH}")
    return decoded


def is_bech32_address(text: str, hrp: str = HRP) -> bool:
    """Whether ``text`` is a valid bech32 address with prefix ``hrp`` (``one1…`` by default)."""
    try:
        from_bech32(text, hrp)
    except InvalidAddress:
        return False
    return True


def to_checksum_hex(address20: bytes) -> str:
    """The EIP-55 mixed-case ``0x…`` form of a 20-byte address."""
    if len(address20) != ADDRESS_LENGTH:
        raise InvalidAddress(f"an address is {ADDRESS_LENGTH} bytes, got {len(address20)}")
    lower = bytes(address20).hex()
    digest = keccak256(lower.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def from_hex(text: str) -> bytes:
    """The address a ``0x`` + 40 hex digits string encodes; a mixed-case string must be EIP-55 valid."""
    _validate_is_string(text)
    if not text.startswith(("0x", "0X")):
        raise InvalidAddress("a hex address starts with 0x")
    digits = text[2:]
    # Checked by hand: bytes.fromhex skips spaces, which would let a short address through.
    for char in digits:
        if char not in _HEX_DIGITS:
            raise InvalidAddress(f"hex address has a non-hex character {char!r}")
    if len(digits) != 2 * ADDRESS_LENGTH:
        raise InvalidAddress(f"a hex address is 0x followed by 40 hex digits, got {len(digits)} digits")
    address = bytes.fromhex(digits)
    if digits != digits.lower() and digits != digits.upper() and to_checksum_hex(address)[2:] != digits:
        raise InvalidAddress("EIP-55 checksum mismatch in mixed-case hex address: check for a typo")
    return address


def parse_address(text: str) -> bytes:
    """An address given as ``one1…`` or ``0x…`` (what RPC and the CLI accept)."""
    text = _validate_is_string(text).strip()
    if text.startswith(("0x", "0X")):
        return from_hex(text)
    if len(text) == 2 * ADDRESS_LENGTH and all(c in _HEX_DIGITS for c in text):
        raise InvalidAddress("a hex address needs the 0x prefix")
    separator = text.rfind("1")
    if text.lower().startswith(HRP + "1") or 0 < separator < len(text) - _CHECKSUM_LENGTH:
        # Shaped like bech32 (a prefix, '1', room for a checksum): let the decoder say what is wrong,
        # e.g. "expected prefix one1, got bc1" for a Bitcoin address.
        return from_bech32(text)
    raise InvalidAddress(f"not an address: expected one1… or 0x…, got {text[:12]!r}")
