"""The signature scheme consensus signs and verifies with: BLS in a node, a fast double in simulation.

Consensus needs five operations from a scheme: derive a public key, sign, verify one signature,
add signatures up, and verify an aggregate over a list of keys (FastAggregateVerify). Everything
else (certificates, optimistic vote aggregation, message authentication) is written once on top
of them, in ``signing`` and ``messages``. ``BLS_SCHEME`` is the only scheme a node uses; the
seeded simulator substitutes a keyed-hash scheme with the same sizes, so that a thousand
simulated networks run in minutes while the consensus code under test stays the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from crypto import bls
from harmony_node.exceptions import InvalidKey


class SignatureScheme(Protocol):
    """Aggregatable signatures: 48-byte public keys, 96-byte signatures."""

    def get_public_key(self, secret_key: int) -> bytes:
        """The public key of ``secret_key``."""
        ...

    def sign(self, secret_key: int, payload: bytes) -> bytes:
        """A deterministic signature over ``payload``."""
        ...

    def verify(self, public_key: bytes, payload: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is ``public_key``'s over ``payload``; never raises on junk."""
        ...

    def aggregate_for_verification(self, signatures: Sequence[bytes]) -> bytes:
        """Sum of signatures that will be verified next; InvalidSignature if one cannot be decoded.

        May skip checks (such as subgroup membership) that the following ``verify_aggregate``
        makes on the sum anyway.
        """
        ...

    def verify_aggregate(self, public_keys: Sequence[bytes], payload: bytes, signature: bytes) -> bool:
        """FastAggregateVerify: all ``public_keys`` signed ``payload`` and ``signature`` is their sum."""
        ...


class BlsScheme:
    """BLS12-381 through ``crypto.bls``, with committee keys decoded once and cached.

    Successful aggregate verifications are remembered (exact inputs, most recent
    ``VERIFIED_CACHE_SIZE``): one commit certificate is checked by consensus when it arrives, again
    in the next header and again on import, and only the first check needs the ~1.3 ms pairing.
    Failures are never cached, so a bad certificate is always checked afresh.
    """

    VERIFIED_CACHE_SIZE = 1024

    def __init__(self) -> None:
        self._verified: OrderedDict[tuple[bytes, bytes, tuple[bytes, ...]], None] = OrderedDict()

    def forget_verified(self) -> None:
        """Drop the remembered verifications (benchmarks measuring a cold node)."""
        self._verified.clear()

    def get_public_key(self, secret_key: int) -> bytes:
        return bls.secret_to_public(secret_key)

    def sign(self, secret_key: int, payload: bytes) -> bytes:
        return bls.sign(secret_key, payload)

    def verify(self, public_key: bytes, payload: bytes, signature: bytes) -> bool:
        return self.verify_aggregate((public_key,), payload, signature)

    def aggregate_for_verification(self, signatures: Sequence[bytes]) -> bytes:
        return bls.get_public_key_cache().backend.aggregate_signatures_unchecked(signatures)

    def verify_aggregate(self, public_keys: Sequence[bytes], payload: bytes, signature: bytes) -> bool:
        memo = (payload, signature, tuple(public_keys))
        if memo in self._verified:
            self._verified.move_to_end(memo)
            return True
        cache = bls.get_public_key_cache()
        try:
            points = [cache.get_point(key) for key in public_keys]
        except InvalidKey:  # a key that is not a valid point verifies nothing
            return False
        if not cache.backend.fast_aggregate_verify_loaded(points, payload, signature):
            return False
        self._verified[memo] = None
        if len(self._verified) > self.VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return True


BLS_SCHEME = BlsScheme()
