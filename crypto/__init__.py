"""Cryptography: keccak, secp256k1 accounts, bech32 addresses, BLS12-381, BLS-VRF and key files."""
