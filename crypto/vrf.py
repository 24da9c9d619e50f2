"""The BLS-VRF every block header carries (Harmony's construction on our BLS, reference §3.1).

proof = the leader's BLS signature over sha256(parent_hash) (96 bytes); output = sha256(proof)
(32 bytes). The header's ``vrf`` field is output ‖ proof, exactly 128 bytes. BLS signatures are
unique per (key, message), so the leader cannot choose among outputs, and anyone holding the
leader's public key can check both parts.
"""

from __future__ import annotations

from crypto import bls
from crypto.hash import sha256
from harmony_node.exceptions import InvalidSignature

VRF_OUTPUT_SIZE = 32
VRF_PROOF_SIZE = bls.SIGNATURE_SIZE
VRF_FIELD_SIZE = VRF_OUTPUT_SIZE + VRF_PROOF_SIZE


def compute_vrf(secret_key: int, parent_hash: bytes) -> bytes:
    """The 128-byte header field (output ‖ proof) for a block whose parent hash is ``parent_hash``."""
    proof = bls.sign(secret_key, sha256(parent_hash))
    return sha256(proof) + proof


def verify_vrf(public_key: bytes, parent_hash: bytes, vrf_field: bytes) -> bytes:
    """Check a header's VRF field against the leader's key; return the 32-byte output.

    Raises InvalidSignature if the field is not 128 bytes, the proof does not verify, or the
    output is not sha256 of the proof.
    """
    if len(vrf_field) != VRF_FIELD_SIZE:
        raise InvalidSignature(f"VRF field must be {VRF_FIELD_SIZE} bytes, got {len(vrf_field)}")
    output, proof = vrf_field[:VRF_OUTPUT_SIZE], vrf_field[VRF_OUTPUT_SIZE:]
    if sha256(proof) != output:
        raise InvalidSignature("VRF output is not the hash of its proof")
    if not bls.verify(public_key, sha256(parent_hash), proof):
        raise InvalidSignature("VRF proof does not verify against the leader's key and parent hash")
    return output
