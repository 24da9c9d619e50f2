"""Crosslinks: a shard block's commit, posted to the beacon chain (reference §5).

The beacon does not follow the other shards' chains, yet it pays their signers and counts their
availability. A crosslink gives it what it needs for one shard block, in Harmony's field order
(``core/types/crosslink.go``)::

    [hash(32), block_number, view_id, signature(96), bitmap, shard_id, epoch]

``signature ‖ bitmap`` is the block's commit certificate and ``view_id`` is the view it signs:
the block's commit view (``consensus.signing``: after a view change it is later than the view the
block was proposed in; Harmony's header view and commit view never differ). Built from header N
with its commit record, or from header N+1 as ``build_crosslink(N, N+1.view_id - 1,
QuorumCertificate(N+1.last_commit_signature, N+1.last_commit_bitmap))``, which is what Harmony does.

The beacon checks each crosslink against that shard's committee for the crosslink's epoch, keeps
the valid ones pending, and includes up to 16 per block (``select_crosslinks``) in the header's
``cross_links`` field: ``RLP([crosslink, ...])``, or empty bytes when there are none, as Harmony
leaves the field empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import rlp
from rlp.exceptions import RLPException

from consensus.quorum import Committee
from consensus.signing import QuorumCertificate, validate_commit_certificate
from crypto import bls
from harmony_node.exceptions import DecodingError, ValidationError
from harmony_node.types.header import Header
from harmony_node.types.rlp_codec import decode_rlp
from harmony_node.types.sedes import binary, bls_signature, decode_field, hash32, uint32, uint64

BEACON_SHARD_ID = 0
MAX_CROSSLINKS_PER_BLOCK = 16
"""Harmony's beacon proposes at most 16 crosslinks per block."""
MAX_BITMAP_SIZE = 128
"""A bitmap over 1024 members, the largest committee a shard state may hold."""
_MAX_CROSSLINK_SIZE = 512
"""An encoded crosslink is at most ~300 bytes; bounds a list before it is parsed."""


class InvalidCrossLink(ValidationError):
    """A crosslink failed validation; ``reason`` names the broken rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid crosslink: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CrossLink:
    """Proof, for the beacon, that ``block_number`` of ``shard_id`` with ``hash`` was committed."""

    hash: bytes
    block_number: int
    view_id: int
    signature: bytes
    bitmap: bytes
    shard_id: int
    epoch: int

    def __post_init__(self) -> None:
        if not isinstance(self.hash, bytes) or len(self.hash) != 32:
            raise ValidationError("crosslink hash must be 32 bytes")
        if not isinstance(self.signature, bytes) or len(self.signature) != bls.SIGNATURE_SIZE:
            raise ValidationError(f"crosslink signature must be {bls.SIGNATURE_SIZE} bytes")
        if not isinstance(self.bitmap, bytes) or len(self.bitmap) > MAX_BITMAP_SIZE:
            raise ValidationError(f"crosslink bitmap must be at most {MAX_BITMAP_SIZE} bytes")
        # Commit payloads encode number and view as uint64, so a larger value could never verify.
        for name, value, bits in (
            ("block number", self.block_number, 64),
            ("view", self.view_id, 64),
            ("shard id", self.shard_id, 32),
            ("epoch", self.epoch, 64),
        ):
            if type(value) is not int or not 0 <= value < 1 << bits:
                raise ValidationError(f"crosslink {name} must be a uint{bits}, got {value!r}")

    @property
    def certificate(self) -> QuorumCertificate:
        """The commit certificate the crosslink carries."""
        return QuorumCertificate(self.signature, self.bitmap)

    def _to_rlp_list(self) -> list[object]:
        return [self.hash, self.block_number, self.view_id, self.signature, self.bitmap, self.shard_id, self.epoch]

    def encode(self) -> bytes:
        """The RLP encoding (Harmony's field order)."""
        encoded: bytes = rlp.encode(self._to_rlp_list())
        return encoded

    @classmethod
    def decode(cls, data: bytes) -> CrossLink:
        """Parse one encoded crosslink; DecodingError for anything malformed."""
        return _decode_crosslink_item(_decode_rlp(data, max_depth=1), "crosslink")


def _decode_rlp(data: bytes, max_depth: int) -> object:
    try:
        return decode_rlp(data, max_depth=max_depth)  # linear; rlp.decode is quadratic in a list's items
    except (RLPException, DecodingError) as error:
        raise DecodingError(f"crosslink data is not canonical RLP: {error}") from error


def _decode_crosslink_item(item: object, what: str) -> CrossLink:
    if not isinstance(item, list) or len(item) != 7:
        raise DecodingError(f"{what} must be a list of 7 items")
    hash_item, number_item, view_item, signature_item, bitmap_item, shard_item, epoch_item = item
    bitmap = decode_field(binary, bitmap_item, f"{what} bitmap")
    if len(bitmap) > MAX_BITMAP_SIZE:
        raise DecodingError(f"{what} bitmap is longer than {MAX_BITMAP_SIZE} bytes")
    return CrossLink(
        hash=decode_field(hash32, hash_item, f"{what} hash"),
        block_number=decode_field(uint64, number_item, f"{what} block number"),
        view_id=decode_field(uint64, view_item, f"{what} view"),
        signature=decode_field(bls_signature, signature_item, f"{what} signature"),
        bitmap=bitmap,
        shard_id=decode_field(uint32, shard_item, f"{what} shard id"),
        epoch=decode_field(uint64, epoch_item, f"{what} epoch"),
    )


def encode_crosslinks(crosslinks: Sequence[CrossLink]) -> bytes:
    """The header's ``cross_links`` field: ``RLP([...])``, or empty bytes for none (as in Harmony)."""
    if not crosslinks:
        return b""
    encoded: bytes = rlp.encode([crosslink._to_rlp_list() for crosslink in crosslinks])
    return encoded


def decode_crosslinks(data: bytes, max_count: int = MAX_CROSSLINKS_PER_BLOCK) -> tuple[CrossLink, ...]:
    """Parse a header's ``cross_links`` field (or a relayed batch of at most ``max_count``).

    Empty bytes are no crosslinks; an encoded empty list is refused, so each value has one encoding.
    """
    if not data:
        return ()
    if len(data) > max_count * _MAX_CROSSLINK_SIZE:
        raise DecodingError(f"crosslink list is {len(data)} bytes, too long for {max_count} crosslinks")
    items = _decode_rlp(data, max_depth=2)
    if not isinstance(items, list) or not items:
        raise DecodingError("crosslinks must be a non-empty RLP list (no crosslinks is empty bytes)")
    if len(items) > max_count:
        raise DecodingError(f"{len(items)} crosslinks, at most {max_count} allowed")
    return tuple(_decode_crosslink_item(item, f"crosslink {index}") for index, item in enumerate(items))


def build_crosslink(header: Header, commit_view: int, certificate: QuorumCertificate) -> CrossLink:
    """The crosslink for committed block ``header``: ``certificate`` signed its commit in ``commit_view``."""
    if header.shard_id == BEACON_SHARD_ID:
        raise ValidationError("beacon blocks are not crosslinked")
    if header.number < 1:
        raise ValidationError("the genesis block is not crosslinked")
    if commit_view < header.view_id:
        raise ValidationError(f"commit view {commit_view} precedes the block's view {header.view_id}")
    return CrossLink(
        hash=header.hash,
        block_number=header.number,
        view_id=commit_view,
        signature=certificate.signature,
        bitmap=certificate.bitmap,
        shard_id=header.shard_id,
        epoch=header.epoch,
    )


def validate_crosslink(crosslink: CrossLink, committee: Committee) -> None:
    """Check ``crosslink`` against its shard's committee for its epoch; raise InvalidCrossLink.

    The caller picks ``committee`` from the beacon's shard state for ``crosslink.epoch`` and decides
    whether that epoch is acceptable at all (not in the future, not before the shard's last link).
    """
    if crosslink.shard_id == BEACON_SHARD_ID:
        raise InvalidCrossLink("the beacon chain does not crosslink its own blocks")
    if crosslink.block_number < 1:
        raise InvalidCrossLink("the genesis block is not crosslinked")
    if (committee.shard_id, committee.epoch) != (crosslink.shard_id, crosslink.epoch):
        raise InvalidCrossLink(
            f"crosslink for shard {crosslink.shard_id} epoch {crosslink.epoch} checked against the committee "
            f"of shard {committee.shard_id} epoch {committee.epoch}"
        )
    try:
        validate_commit_certificate(
            committee, crosslink.block_number, crosslink.hash, crosslink.view_id, crosslink.certificate
        )
    except ValidationError as error:
        raise InvalidCrossLink(f"commit certificate: {error}") from error


def select_crosslinks(
    pending: Iterable[CrossLink], last_linked: Mapping[int, int], cap: int = MAX_CROSSLINKS_PER_BLOCK
) -> tuple[CrossLink, ...]:
    """The crosslinks the next beacon block includes, sorted by (shard, block number), at most ``cap``.

    ``pending`` are already validated; ``last_linked`` maps a shard to its highest crosslinked block
    (absent: none yet). Links at or below that are skipped. Gaps are allowed, as in Harmony: a
    link proves its block final whether or not its predecessors were linked. Two links for one
    (shard, number) can only both be valid if a third of that committee double-signed; the one
    with the smallest encoding is kept, so every proposer makes the same choice.
    """
    if cap < 0:
        raise ValidationError(f"crosslink cap must be non-negative, got {cap}")
    chosen: dict[tuple[int, int], CrossLink] = {}
    for crosslink in pending:
        if crosslink.block_number <= last_linked.get(crosslink.shard_id, 0):
            continue
        key = (crosslink.shard_id, crosslink.block_number)
        current = chosen.get(key)
        if current is None or crosslink.encode() < current.encode():
            chosen[key] = crosslink
    return tuple(chosen[key] for key in sorted(chosen)[:cap])
