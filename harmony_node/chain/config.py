"""Chain configuration: the per-network parameters that execution and validation read.

A ``ChainConfig`` is part of the genesis file, so every node of a network derives the same rules
from the same bytes. Values follow Harmony's localnet (reference §4.1, §4.2, §3.1) unless noted.
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony_node.exceptions import ValidationError

ONE = 10**18
"""1 ONE in atto (Harmony's denominations.One)."""
NANO = 10**9

LOCALNET_CHAIN_ID = 2
LOCALNET_ETH_CHAIN_ID_BASE = 1_666_700_000


@dataclass(frozen=True, slots=True)
class ChainConfig:
    """Rules of one network that every shard shares."""

    chain_id: int = LOCALNET_CHAIN_ID
    """Harmony chain id signed into plain and staking transactions (EIP-155)."""
    eth_chain_id_base: int = LOCALNET_ETH_CHAIN_ID_BASE
    """Ethereum chain id of shard 0; shard s uses base + s (Harmony's UpdateEthChainIDByShard)."""
    num_shards: int = 3
    block_gas_limit: int = 30_000_000
    """Harmony's BlockGas30M rule, active from genesis on localnet."""
    min_gas_price: int = 100 * NANO
    """Harmony's pool PriceLimit (100 Gwei). We also enforce it in blocks, so no block can carry
    transactions that a correct pool would have refused."""
    blocks_per_epoch: int = 16
    """Blocks per epoch on every chain (Harmony's localnet BlocksPerEpochV2 default)."""

    def __post_init__(self) -> None:
        if self.chain_id <= 0 or self.chain_id >= self.eth_chain_id_base:
            raise ValidationError("chain_id must be positive and below the Ethereum chain id base")
        if self.num_shards < 1 or self.num_shards > 2**32 - 1:
            raise ValidationError("num_shards must be between 1 and 2**32-1")
        if self.block_gas_limit < 21_000:
            raise ValidationError("block_gas_limit must fit at least one transfer")
        if self.min_gas_price < 0:
            raise ValidationError("min_gas_price must not be negative")
        if self.blocks_per_epoch < 1:
            raise ValidationError("blocks_per_epoch must be at least 1")

    def get_eth_chain_id(self, shard_id: int) -> int:
        """The Ethereum chain id that ``eth_`` transactions on ``shard_id`` must be signed with."""
        return self.eth_chain_id_base + shard_id
