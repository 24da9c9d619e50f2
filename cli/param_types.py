"""Click parameter types for what ``hmy`` reads from the command line: addresses, amounts, hashes, chain ids.

Each converts text to the value a transaction carries and refuses bad input as a usage error, before
anything is signed or sent.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

import click

from cli.denominations import parse_gwei, parse_one, parse_rate
from crypto.address import parse_address
from harmony_node.exceptions import ValidationError
from harmony_node.types.staking_transaction import DEC_PRECISION
from harmony_node.types.transaction import ETH_COMPATIBLE_CHAIN_ID_MIN

CHAIN_IDS = {
    "mainnet": 1, "dryrun": 1, "testnet": 2, "localnet": 2, "pangaea": 3, "partner": 4, "devnet": 4,
    "stress": 5, "stressnet": 5,
}
"""go-sdk's chain names (``pkg/common/chain-id.go``); a localnet signs for the testnet id, as Harmony's does."""
HASH_SIZE = 32


if TYPE_CHECKING:
    ParamTypeBase = click.ParamType[Any]
else:  # click before 8.2 has no generic ParamType to subscript at run time
    ParamTypeBase = click.ParamType


class _Converter(ParamTypeBase):
    """A ParamType whose conversion raises our ValidationError for bad text."""

    @abc.abstractmethod
    def parse(self, text: str) -> Any:
        """The value ``text`` stands for; ValidationError says what is wrong with it."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):  # already converted (a default, or a second pass)
            return value
        try:
            return self.parse(value)
        except ValidationError as exc:
            self.fail(str(exc), param, ctx)


class AddressType(_Converter):
    """``one1…`` or ``0x…`` → 20 bytes."""

    name = "address"

    def parse(self, text: str) -> bytes:
        return parse_address(text)


class OneAmountType(_Converter):
    """ONE → atto, exactly."""

    name = "ONE"

    def parse(self, text: str) -> int:
        return parse_one(text)


class GweiType(_Converter):
    """Gwei → atto, exactly."""

    name = "gwei"

    def parse(self, text: str) -> int:
        return parse_gwei(text)


class RateType(_Converter):
    """A commission rate between 0 and 1 → ``numeric.Dec`` fixed point."""

    name = "rate"

    def parse(self, text: str) -> int:
        rate = parse_rate(text)
        if rate > DEC_PRECISION:
            raise ValidationError(f"{text!r} is above 1 (100%); a rate is written 0.1 for 10%")
        return rate


class HexBytesType(_Converter):
    """Hex text (with or without 0x) → bytes; ``size`` fixes the length."""

    def __init__(self, name: str, size: int | None = None) -> None:
        self.name = name
        self.size = size

    def parse(self, text: str) -> bytes:
        digits = text.strip().removeprefix("0x").removeprefix("0X")
        if len(digits) % 2 or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise ValidationError(f"{text[:20]!r} is not hex (pairs of 0-9a-f, optionally after 0x)")
        data = bytes.fromhex(digits)
        if self.size is not None and len(data) != self.size:
            raise ValidationError(f"expected {self.size} bytes of hex, got {len(data)}")
        return data


class ChainIdType(_Converter):
    """A chain name (mainnet, testnet, localnet, …) or a Harmony chain id number."""

    name = "chain-id"

    def parse(self, text: str) -> int:
        name = text.strip().lower()
        if name in CHAIN_IDS:
            return CHAIN_IDS[name]
        if not name.isdigit() or int(name) < 1:
            raise ValidationError(f"{text!r} is neither a chain name ({', '.join(CHAIN_IDS)}) nor a positive number")
        if int(name) >= ETH_COMPATIBLE_CHAIN_ID_MIN:
            # An Ethereum chain id would make the signature cover the Ethereum fields, without the shard ids.
            raise ValidationError(f"{text} is an Ethereum chain id; Harmony transactions sign with the Harmony id")
        return int(name)


ADDRESS = AddressType()
ONE_AMOUNT = OneAmountType()
GWEI = GweiType()
RATE = RateType()
HEX_DATA = HexBytesType("hex")
TX_HASH = HexBytesType("hash", HASH_SIZE)
CHAIN_ID = ChainIdType()
