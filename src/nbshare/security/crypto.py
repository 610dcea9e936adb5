"""Passwords and encryption at rest for protected shares.

Each protected share has a random 256-bit data key that encrypts its blobs and its
private metadata with AES-256-GCM. The data key is stored only wrapped (encrypted):
- under a key derived from the password with Argon2id and the share's own salt, so
  visitors who know the password can open it;
- under a key derived from the owner token, so the owner can update the share without
  retyping the password.
The password itself is kept only as an Argon2id hash (for a constant-time check).
A copy of the database and blob store therefore reveals neither content nor password.
"""

from __future__ import annotations

import base64
import hashlib
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# OWASP's minimum for Argon2id: 19 MiB, 2 iterations, 1 lane.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME = 2
ARGON2_LANES = 1

_hasher = PasswordHasher(
    time_cost=ARGON2_TIME, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_LANES, type=Type.ID
)
MAGIC = b"NBS1"  # marks an encrypted blob, and its format version


class DecryptionFailed(Exception):
    """Wrong key, or the ciphertext was tampered with."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password: str, stored_hash: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_salt() -> bytes:
    return os.urandom(16)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def password_key(password: str, salt: bytes) -> bytes:
    """The key that wraps a share's data key, derived from its password (Argon2id)."""
    return hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=ARGON2_TIME,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_LANES,
        hash_len=32,
        type=Type.ID,
    )


def token_key(owner_token: str, salt: bytes) -> bytes:
    """The key that wraps a share's data key for its owner. The token carries 256
    random bits, so a fast derivation is enough."""
    token = owner_token.encode("utf-8")
    return hashlib.blake2b(token, key=salt, digest_size=32, person=b"nbshare-owner").digest()


def seal(key: bytes, plaintext: bytes, context: str) -> bytes:
    """AES-256-GCM; `context` (for example the blob's key) is authenticated, so a
    ciphertext cannot be moved to another place and still decrypt."""
    nonce = os.urandom(12)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode("utf-8"))


def open_sealed(key: bytes, sealed: bytes, context: str) -> bytes:
    if not sealed.startswith(MAGIC) or len(sealed) < len(MAGIC) + 12 + 16:
        raise DecryptionFailed("not an nbshare ciphertext")
    nonce, body = sealed[len(MAGIC) : len(MAGIC) + 12], sealed[len(MAGIC) + 12 :]
    try:
        return AESGCM(key).decrypt(nonce, body, context.encode("utf-8"))
    except InvalidTag:
        raise DecryptionFailed("wrong key or tampered data") from None


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))
