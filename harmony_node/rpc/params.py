"""Positional JSON-RPC parameters, read the way Harmony's Go server reads them.

Every reader raises ``InvalidParams`` with the parameter's position and what was expected, so a
client sees which argument was wrong; nothing here touches node state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crypto.address import parse_address
from harmony_node.exceptions import InvalidAddress
from harmony_node.rpc.errors import InvalidParams

LATEST = -1
PENDING = -2
_NAMED_BLOCKS = {"latest": LATEST, "pending": PENDING, "earliest": 0, "safe": LATEST, "finalized": LATEST}
MAX_QUANTITY = 2**256 - 1


def get_param(params: Sequence[Any], index: int, name: str, *, required: bool = True, default: Any = None) -> Any:
    """Parameter ``index``; a missing required one is an error naming it."""
    if index < len(params) and params[index] is not None:
        return params[index]
    if required:
        raise InvalidParams(f"missing value for required argument {index} ({name})")
    return default


def validate_param_count(params: Sequence[Any], maximum: int) -> None:
    """Harmony's server refuses extra arguments ("too many arguments, want at most N")."""
    if len(params) > maximum:
        raise InvalidParams(f"too many arguments, want at most {maximum}")


def read_address(value: Any, name: str = "address") -> bytes:
    """A ``one1…`` bech32 or ``0x…`` hex address."""
    if not isinstance(value, str):
        raise InvalidParams(f"invalid {name}: expected a one1… or 0x… string, got {type(value).__name__}")
    try:
        return parse_address(value)
    except InvalidAddress as exc:
        raise InvalidParams(f"invalid {name} {value!r}: {exc}") from exc


def read_quantity(value: Any, name: str) -> int:
    """A non-negative integer as a JSON number, a 0x-hex string or a decimal string (Harmony takes all three)."""
    if isinstance(value, bool):
        raise InvalidParams(f"invalid {name}: expected a number, got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if text[:2].lower() == "0x":
                if len(text) == 2 or len(text) > 66:
                    raise ValueError(text)
                number = int(text[2:], 16)
            else:
                if not text.isdigit() or len(text) > 78:
                    raise ValueError(text)
                number = int(text, 10)
        except ValueError:
            raise InvalidParams(f"invalid {name} {value!r}: expected a 0x-hex or decimal number") from None
    else:
        raise InvalidParams(f"invalid {name}: expected a number, got {type(value).__name__}")
    if not 0 <= number <= MAX_QUANTITY:
        raise InvalidParams(f"invalid {name} {value!r}: out of range")
    return number


def read_block_number(value: Any, name: str = "block number") -> int:
    """A block number, or LATEST / PENDING for the tags ("earliest" is block 0)."""
    if isinstance(value, str) and value.strip().lower() in _NAMED_BLOCKS:
        return _NAMED_BLOCKS[value.strip().lower()]
    if isinstance(value, int) and not isinstance(value, bool) and value in (LATEST, PENDING):
        return value  # Harmony's BlockNumber takes -1 / -2 as JSON numbers too
    return read_quantity(value, name)


def read_hash(value: Any, name: str = "hash") -> bytes:
    """A 32-byte hash as 0x-hex (the prefix is optional, as Go's common.HexToHash)."""
    data = read_hex_bytes(value, name)
    if len(data) != 32:
        raise InvalidParams(f"invalid {name}: expected 32 bytes, got {len(data)}")
    return data


def read_hex_bytes(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidParams(f"invalid {name}: expected a hex string, got {type(value).__name__}")
    text = value[2:] if value[:2].lower() == "0x" else value
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidParams(f"invalid {name}: not hex") from None


def read_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"invalid {name}: expected true or false")
    return value


def read_block_options(value: Any, *, v2: bool) -> tuple[bool, bool, bool]:
    """(full_tx, with_signers, include_staking) from the block-request options.

    hmy_ and eth_ take a bare ``fullTx`` boolean (staking transactions included, no signers);
    hmyv2_ takes ``{"fullTx", "withSigners", "inclStaking"}`` (all default false), as Harmony's
    ``BlockArgs``; a boolean is accepted there too, as Harmony's factory does.
    """
    if value is None:
        return False, False, not v2
    if isinstance(value, bool):
        return value, False, True
    if isinstance(value, dict) and v2:
        # Other keys are ignored, as Go's JSON decoding of BlockArgs does (pyhmy sends "inclTx").
        flags = [value.get(key, False) for key in ("fullTx", "withSigners", "inclStaking")]
        if not all(isinstance(flag, bool) for flag in flags):
            raise InvalidParams("block options fullTx, withSigners and inclStaking must be booleans")
        return flags[0], flags[1], flags[2]
    raise InvalidParams("invalid type for block arguments")
