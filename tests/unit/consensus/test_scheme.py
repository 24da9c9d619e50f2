"""The BLS scheme remembers what verified, and only that."""

from __future__ import annotations

from unittest import mock

from consensus.scheme import BlsScheme
from crypto import bls

SECRETS = [bls.generate_secret_key(bytes([i]) * 32) for i in range(1, 4)]
KEYS = [bls.secret_to_public(s) for s in SECRETS]
PAYLOAD = b"\x42" * 48


def test_a_verified_aggregate_is_not_verified_twice_and_failures_are_not_remembered() -> None:
    scheme = BlsScheme()
    aggregate = bls.aggregate_signatures([bls.sign(s, PAYLOAD) for s in SECRETS])
    backend = bls.get_public_key_cache().backend
    with mock.patch.object(type(backend), "fast_aggregate_verify_loaded", autospec=True,
                           side_effect=type(backend).fast_aggregate_verify_loaded) as pairing:
        assert scheme.verify_aggregate(KEYS, PAYLOAD, aggregate)
        assert scheme.verify_aggregate(KEYS, PAYLOAD, aggregate)
        assert pairing.call_count == 1
        # Any change of input is a new question, and a failed answer is asked again every time.
        assert not scheme.verify_aggregate(KEYS[:2], PAYLOAD, aggregate)
        assert not scheme.verify_aggregate(KEYS[:2], PAYLOAD, aggregate)
        assert not scheme.verify_aggregate(KEYS, PAYLOAD + b"x", aggregate)
        assert pairing.call_count == 4


def test_the_memory_is_bounded() -> None:
    scheme = BlsScheme()
    scheme.VERIFIED_CACHE_SIZE = 2
    signatures = [bls.sign(SECRETS[0], bytes([i])) for i in range(3)]
    for i, signature in enumerate(signatures):
        assert scheme.verify(KEYS[0], bytes([i]), signature)
    assert len(scheme._verified) == 2
    scheme.forget_verified()
    assert not scheme._verified
