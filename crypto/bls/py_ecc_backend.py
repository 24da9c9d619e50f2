"""The reference BLS backend: py_ecc's G2ProofOfPossession (pure Python, ~0.3 s per verify).

The oracle the fast backend is tested against; far too slow for a validator. Signing, verifying
and FastAggregateVerify are py_ecc's own IETF procedures. Signature aggregation is spelled out here
because py_ecc's ``Aggregate`` skips the subgroup check the contract requires; the loaded-key FAV
sums the validated points and runs py_ecc's Verify (with its KeyValidate) on the sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_typing import BLSPubkey, BLSSignature
from py_ecc.bls import G2ProofOfPossession as _PoP
from py_ecc.bls.g2_primitives import G1_to_pubkey, G2_to_signature, pubkey_to_G1, signature_to_G2, subgroup_check
from py_ecc.bls.typing import G1Uncompressed
from py_ecc.optimized_bls12_381 import Z1, Z2, add, is_inf

from crypto.bls.backend import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, PublicKeyPoint, validate_secret
from harmony_node.exceptions import InvalidKey, InvalidSignature


@dataclass(frozen=True, slots=True)
class _ValidatedKey:
    """The decoded G1 point of a public key that passed KeyValidate."""

    point: G1Uncompressed


class PyEccBackend:
    """BLS on py_ecc: ~0.13 s to sign, ~0.35 s to verify, ~9 ms to validate a key."""

    name = "py_ecc"

    def secret_to_public(self, secret: int) -> bytes:
        validate_secret(secret)
        return bytes(_PoP.SkToPk(secret))

    def sign(self, secret: int, message: bytes) -> bytes:
        validate_secret(secret)
        return bytes(_PoP.Sign(secret, message))

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        # py_ecc's CoreVerify runs KeyValidate and the signature checks and returns False on any
        # decoding error, which is already our contract.
        return bool(_PoP.Verify(BLSPubkey(public_key), message, BLSSignature(signature)))

    def aggregate_signatures(self, signatures: Sequence[bytes]) -> bytes:
        if not signatures:
            raise InvalidSignature("cannot aggregate an empty list of signatures")
        total = Z2
        for signature in signatures:
            if len(signature) != SIGNATURE_SIZE:
                raise InvalidSignature(f"a BLS signature is {SIGNATURE_SIZE} bytes, got {len(signature)}")
            try:
                point = signature_to_G2(BLSSignature(signature))
            except ValueError as exc:
                raise InvalidSignature(f"malformed BLS signature: {exc}") from exc
            if not subgroup_check(point):
                raise InvalidSignature("BLS signature is not in the G2 subgroup")
            total = add(total, point)
        return bytes(G2_to_signature(total))

    def aggregate_signatures_unchecked(self, signatures: Sequence[bytes]) -> bytes:
        # The reference has no cheaper path worth a second code path: it checks everything.
        return self.aggregate_signatures(signatures)

    def aggregate_public_keys(self, public_keys: Sequence[bytes]) -> bytes:
        if not public_keys:
            raise InvalidKey("cannot aggregate an empty list of public keys")
        total = Z1
        for public_key in public_keys:
            total = add(total, self._validate(public_key).point)
        return bytes(G1_to_pubkey(total))

    def fast_aggregate_verify(self, public_keys: Sequence[bytes], message: bytes, signature: bytes) -> bool:
        # py_ecc returns False for an empty list, invalid keys and bad signatures by itself.
        return bool(_PoP.FastAggregateVerify([BLSPubkey(k) for k in public_keys], message, BLSSignature(signature)))

    def load_public_key(self, public_key: bytes) -> PublicKeyPoint:
        return self._validate(public_key)

    def fast_aggregate_verify_loaded(
        self, points: Sequence[PublicKeyPoint], message: bytes, signature: bytes
    ) -> bool:
        if not points:
            return False
        total = Z1
        for point in points:
            if not isinstance(point, _ValidatedKey):
                return False
            total = add(total, point.point)
        if is_inf(total):  # KeyValidate of the aggregate key, as in FastAggregateVerify
            return False
        return bool(_PoP.Verify(G1_to_pubkey(total), message, BLSSignature(signature)))

    @staticmethod
    def _validate(public_key: bytes) -> _ValidatedKey:
        if len(public_key) != PUBLIC_KEY_SIZE:
            raise InvalidKey(f"a BLS public key is {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
        # KeyValidate: decodes (curve check), rejects infinity, checks the subgroup.
        if not _PoP.KeyValidate(BLSPubkey(public_key)):
            raise InvalidKey("invalid BLS public key (malformed, identity, or not in the G1 subgroup)")
        return _ValidatedKey(pubkey_to_G1(BLSPubkey(public_key)))
