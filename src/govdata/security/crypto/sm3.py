"""SM3 (GB/T 32905) digests and HMAC-SM3, through OpenSSL via ``cryptography``."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, hmac

ALGORITHM = "SM3"
DIGEST_BYTES = 32


def digest(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def hexdigest(data: bytes) -> str:
    return digest(data).hex()


class Hasher:
    """An SM3 digest fed piece by piece (large files are hashed without being held whole)."""

    def __init__(self) -> None:
        self._h = hashes.Hash(hashes.SM3())

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.finalize().hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


def key_id(key: bytes) -> str:
    """A key's public name: the first 8 hex digits of its SM3 digest.

    Short enough to travel in every ciphertext, and says nothing usable about a random
    128-bit key.
    """
    return hexdigest(key)[:8]
