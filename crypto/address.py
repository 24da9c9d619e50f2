"""Account addresses as text: bech32 ``one1…`` (Harmony's display form) and EIP-55 ``0x…`` hex.

Bech32 is BIP-173's original checksum (constant 1), not BIP-350's bech32m: a bech32m string is
rejected as a checksum mismatch, as Harmony's own decoder does.
"""

from __future__ import annotations

from crypto.hash import keccak256
from harmony_node.exceptions import InvalidAddress

HRP = "one"
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {char: index for index, char in enumerate(_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_MAX_LENGTH = 90


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                checksum ^= _GENERATOR[i]
    return checksum


def _expand_hrp(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Regroup a sequence of ``from_bits``-bit values into ``to_bits``-bit values (BIP-173 convertbits)."""
    acc = bits = 0
    out = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (acc << (to_bits - bits)) & max_value:
        raise InvalidAddress("bech32 data has invalid padding")
    return out


def to_bech32(address: bytes, hrp: str = HRP) -> str:
    """The bech32 form (``one1…``) of a 20-byte address."""
    if len(address) != 20:
        raise InvalidAddress(f"an address is 20 bytes, got {len(address)}")
    data = _regroup(address, 8, 5, pad=True)
    polymod = _polymod(_expand_hrp(hrp) + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in data + checksum)


def from_bech32(text: str, hrp: str = HRP) -> bytes:
    """The 20-byte address a ``one1…`` string encodes; InvalidAddress says what is wrong."""
    if len(text) > _MAX_LENGTH:
        raise InvalidAddress(f"bech32 string is longer than {_MAX_LENGTH} characters")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise InvalidAddress("bech32 string has characters outside printable ASCII")
    if text.lower() != text and text.upper() != text:
        raise InvalidAddress("bech32 string mixes upper and lower case")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 1 or separator + 7 > len(text):
        raise InvalidAddress("not a bech32 string: separator '1' or checksum missing")
    if text[:separator] != hrp:
        raise InvalidAddress(f"expected prefix {hrp}1, got {text[:separator]}1")
    try:
        data = [_CHARSET_INDEX[c] for c in text[separator + 1 :]]
    except KeyError as exc:
        raise InvalidAddress(f"invalid bech32 character {exc.args[0]!r}") from exc
    if _polymod(_expand_hrp(hrp) + data) != 1:
        raise InvalidAddress("bech32 checksum mismatch: check for a typo")
    decoded = bytes(_regroup(data[:-6], 5, 8, pad=False))
    if len(decoded) != 20:
        raise InvalidAddress(f"bech32 address decodes to {len(decoded)} bytes, expected 20")
    return decoded


def is_bech32_address(text: str) -> bool:
    """Whether ``text`` is a valid ``one1…`` address."""
    try:
        from_bech32(text)
    except InvalidAddress:
        return False
    return True


def to_checksum_hex(address: bytes) -> str:
    """The EIP-55 mixed-case ``0x…`` form of a 20-byte address."""
    if len(address) != 20:
        raise InvalidAddress(f"an address is 20 bytes, got {len(address)}")
    lower = address.hex()
    digest = keccak256(lower.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def from_hex(text: str) -> bytes:
    """The address a ``0x`` + 40 hex digits string encodes; a mixed-case string must be EIP-55 valid."""
    if not text.startswith(("0x", "0X")) or len(text) != 42:
        raise InvalidAddress("a hex address is 0x followed by 40 hex digits")
    try:
        address = bytes.fromhex(text[2:])
    except ValueError as exc:
        raise InvalidAddress("hex address has non-hex characters") from exc
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and to_checksum_hex(address) != "0x" + digits:
        raise InvalidAddress("EIP-55 checksum mismatch in mixed-case hex address: check for a typo")
    return address


def parse_address(text: str) -> bytes:
    """An address given as ``one1…`` or ``0x…`` (what RPC and the CLI accept)."""
    text = text.strip()
    if text.lower().startswith(HRP + "1"):
        return from_bech32(text)
    if text.startswith(("0x", "0X")):
        return from_hex(text)
    raise InvalidAddress(f"not an address: expected one1… or 0x…, got {text[:12]!r}")
