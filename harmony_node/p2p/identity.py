"""The node's Ed25519 peer identity, kept in a key file so its peer id survives restarts.

Bootnode multiaddrs name the peer id (``/p2p/12D3...``), so a node that came back with a new key would
be unreachable at its published address. The file holds the key in libp2p's protobuf encoding, as
Harmony's ``.hmykey`` does; a Go-style 64-byte Ed25519 key (seed ‖ public key) is read as its seed.
"""

from __future__ import annotations

from pathlib import Path

from libp2p.crypto.ed25519 import Ed25519PrivateKey, create_new_key_pair
from libp2p.crypto.keys import KeyPair, KeyType, PrivateKey

from crypto.secret_file import create_secret_file
from harmony_node.p2p.errors import P2PError

_SEED_SIZE = 32


def load_or_create_identity(path: str | Path) -> KeyPair:
    """The key pair stored at ``path``; a new one is generated and saved (mode 0600) if the file is missing."""
    key_path = Path(path)
    try:
        data = key_path.read_bytes()
    except FileNotFoundError:
        key_pair = create_new_key_pair()
        if _write_new(key_path, key_pair.private_key.serialize()):
            return key_pair
        data = key_path.read_bytes()  # another process created it first: use theirs
    except OSError as exc:
        raise P2PError(f"cannot read p2p key file {key_path}: {exc}") from exc
    private_key = _decode_private_key(data, key_path)
    return KeyPair(private_key, private_key.get_public_key())


def _decode_private_key(data: bytes, key_path: Path) -> Ed25519PrivateKey:
    try:
        message = PrivateKey.deserialize_from_protobuf(data)
        key_type = KeyType(message.key_type)
    # protobuf's DecodeError and an unknown enum value share no base class narrower than this.
    except Exception as exc:
        raise P2PError(f"p2p key file {key_path} is not a libp2p private key: {exc}") from exc
    if key_type is not KeyType.Ed25519:
        raise P2PError(f"p2p key file {key_path} holds a {key_type.name} key; only Ed25519 is supported")
    raw = bytes(message.data)
    if len(raw) == 2 * _SEED_SIZE:
        raw = raw[:_SEED_SIZE]  # go-libp2p stores seed ‖ public key
    if len(raw) != _SEED_SIZE:
        raise P2PError(f"p2p key file {key_path} holds an Ed25519 key of {len(raw)} bytes, expected 32 or 64")
    return Ed25519PrivateKey.from_bytes(raw)


def _write_new(key_path: Path, data: bytes) -> bool:
    """Create ``key_path`` holding ``data``; False if it appeared meanwhile (another process won)."""
    try:
        key_path.parent.mkdir(parents=True, exist_ok=True)
        return create_secret_file(key_path, data)
    except OSError as exc:
        raise P2PError(f"cannot write p2p key file {key_path}: {exc}") from exc


def get_peer_id(path: str | Path) -> str:
    """The peer id (``12D3...``) of the identity in ``path``, creating the file if it is missing."""
    from libp2p.peer.id import ID

    return ID.from_pubkey(load_or_create_identity(path).public_key).to_base58()
