"""The v3 block header, its tagged-RLP encoding and block hash, and the field sedes the wire types share.

Field order is Harmony's ``block/v3/header.go headerFields``. A Harmony header never travels or gets
hashed as its bare field list: ``block/header.go`` encodes it through the ``taggedrlp`` registry, which
wraps every non-legacy version in an envelope (``taggedrlp/taggedrlp.go Envelope{Sig, Tag, Raw}``)::

    RLP(["HmnyTgd", "v3", [parent_hash, coinbase, ..., slashes]])

``Raw`` is an ``rlp.RawValue``, so the field list sits in the envelope as a nested list, not as an
RLP-encoded byte string. The block hash is ``keccak256`` of that envelope (``Header.Hash`` ->
``hash.FromRLP``). ``Header.serialize``/``deserialize`` produce and require the envelope, so the tagged
form is what ``rlp.encode(header)`` gives and what a header embedded in any other type (a block, a
cross-shard receipts proof) carries, as in Harmony.

Only v3 is supported: it is the version Harmony uses from the pre-staking epoch on, which is genesis
on a localnet. Any other tag, or the untagged legacy (v0) form, is a decoding error.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import rlp
from rlp.exceptions import DeserializationError, RLPException

from crypto.hash import keccak256
from harmony_node.exceptions import DecodingError
from harmony_node.types.rlp_codec import decode_rlp
from harmony_node.types.sedes import address, binary, bloom, bls_signature, hash32, uint, uint32, uint64

ENVELOPE_SIGNATURE = b"HmnyTgd"
"""First item of every tagged-RLP envelope (``taggedrlp.EnvelopeSignature``)."""

HEADER_TAG = b"v3"


def wrap_tagged(tag: bytes, serial: object) -> list[object]:
    """Return the tagged-RLP envelope of an already serialized value: ``["HmnyTgd", tag, serial]``."""
    return [ENVELOPE_SIGNATURE, tag, serial]


def unwrap_tagged(tag: bytes, serial: object) -> object:
    """Return the value inside a ``tag`` envelope; raise ``rlp.DeserializationError`` if not one."""
    if isinstance(serial, bytes) or not isinstance(serial, (list, tuple)) or len(serial) != 3:
        raise DeserializationError("expected a 3-item tagged-RLP envelope", serial)
    signature, found_tag, inner = serial
    if signature != ENVELOPE_SIGNATURE:
        raise DeserializationError("not a tagged-RLP envelope (bad signature)", serial)
    if found_tag != tag:
        raise DeserializationError(f"unsupported tag {found_tag!r}, expected {tag!r}", serial)
    return inner


class Header(rlp.Serializable):
    """A v3 block header; RLP (de)serialization is the tagged ``["HmnyTgd", "v3", fields]`` form."""

    fields = [
        ("parent_hash", hash32),
        ("coinbase", address),
        ("state_root", hash32),
        ("transactions_root", hash32),
        ("receipts_root", hash32),
        ("outgoing_receipts_root", hash32),
        ("incoming_receipts_root", hash32),
        ("bloom", bloom),
        ("number", uint),
        ("gas_limit", uint64),
        ("gas_used", uint64),
        ("timestamp", uint),
        ("extra_data", binary),
        ("mix_digest", hash32),
        ("view_id", uint),
        ("epoch", uint),
        ("shard_id", uint32),
        ("last_commit_signature", bls_signature),
        ("last_commit_bitmap", binary),
        ("vrf", binary),
        ("vdf", binary),
        ("shard_state", binary),
        ("cross_links", binary),
        ("slashes", binary),
    ]

    @classmethod
    def serialize(cls, obj: Header) -> list[object]:
        """Serialize ``obj`` into its tagged envelope."""
        return wrap_tagged(HEADER_TAG, super().serialize(obj))

    @classmethod
    def deserialize(cls, serial: object, **extra_kwargs: Any) -> Header:
        """Deserialize a tagged v3 envelope; raise ``rlp.DeserializationError`` for anything else."""
        header: Header = super().deserialize(unwrap_tagged(HEADER_TAG, serial), **extra_kwargs)
        return header

    @cached_property
    def hash(self) -> bytes:
        """The block hash: keccak256 of the tagged RLP encoding (headers are immutable: computed once)."""
        return keccak256(encode_header(self))


def encode_header(header: Header) -> bytes:
    """Return the tagged RLP encoding of ``header``."""
    result: bytes = rlp.encode(header)
    return result


def decode_header(data: bytes) -> Header:
    """Decode a tagged v3 header; raise DecodingError for anything malformed."""
    try:
        header: Header = Header.deserialize(decode_rlp(data))  # linear; rlp.decode is quadratic in a list's items
    except (RLPException, DecodingError) as error:
        raise DecodingError(f"malformed header: {error}") from error
    header._cached_rlp = data  # as rlp.decode does (canonical, so these are the bytes it would encode to)
    return header


_ZERO_HASH = bytes(32)
_EMPTY_FIELDS: dict[str, object] = {
    "parent_hash": _ZERO_HASH,
    "coinbase": bytes(20),
    "state_root": _ZERO_HASH,
    "transactions_root": _ZERO_HASH,
    "receipts_root": _ZERO_HASH,
    "outgoing_receipts_root": _ZERO_HASH,
    "incoming_receipts_root": _ZERO_HASH,
    "bloom": bytes(256),
    "number": 0,
    "gas_limit": 0,
    "gas_used": 0,
    "timestamp": 0,
    "extra_data": b"",
    "mix_digest": _ZERO_HASH,
    "view_id": 0,
    "epoch": 0,
    "shard_id": 0,
    "last_commit_signature": bytes(96),
    "last_commit_bitmap": b"",
    "vrf": b"",
    "vdf": b"",
    "shard_state": b"",
    "cross_links": b"",
    "slashes": b"",
}


def make_header(**fields: object) -> Header:
    """Return a header with the given fields and Go's zero value (``v3.NewHeader()``) for the rest."""
    return Header(**{**_EMPTY_FIELDS, **fields})

