"""SM4 (GB/T 32907) through OpenSSL via ``cryptography``: GCM for everything we store, and
the bare block (ECB, one block) only to check the standard's test vector.

GCM output here is always ``nonce (12) ‖ ciphertext ‖ tag (16)``.
"""

from __future__ import annotations

import os
from typing import TypeAlias

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from govdata.security.crypto.sm3 import hmac_sm3

KEY_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD = NONCE_BYTES + TAG_BYTES


# A key as bytes, or prepared once (``prepared``) when it seals many small values in a row:
# setting the key up costs about as much as sealing a short value.
Key: TypeAlias = "bytes | algorithms.SM4"


def prepared(key: bytes) -> algorithms.SM4:
    return algorithms.SM4(key)


def _alg(key: Key) -> algorithms.SM4:
    return key if isinstance(key, algorithms.SM4) else algorithms.SM4(key)


class Unreadable(Exception):
    """The ciphertext does not open under this key: wrong key, or tampered with."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def encrypt_block(key: bytes, block: bytes) -> bytes:
    """One 16-byte block through the raw cipher (the GB/T 32907 vector; never for data)."""
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - test vector only
    return enc.update(block) + enc.finalize()


def seal(key: Key, plaintext: bytes, aad: bytes = b"", nonce: bytes | None = None) -> bytes:
    """SM4-GCM with a random nonce (or the one given): ``nonce ‖ ciphertext ‖ tag``."""
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    enc = Cipher(_alg(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    return nonce + enc.update(plaintext) + enc.finalize() + enc.tag


def open_(key: Key, sealed: bytes, aad: bytes = b"") -> bytes:
    """The plaintext ``seal`` sealed; ``Unreadable`` for a wrong key, AAD or any tampering."""
    if len(sealed) < OVERHEAD:
        raise Unreadable("length")
    nonce, body, tag = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:-TAG_BYTES], sealed[-TAG_BYTES:]
    dec = Cipher(_alg(key), modes.GCM(nonce, tag)).decryptor()
    if aad:
        dec.authenticate_additional_data(aad)
    try:
        return dec.update(body) + dec.finalize()
    except InvalidTag:
        raise Unreadable("tag") from None


# Deterministic sealing (a synthetic IV) ---------------------------------------------------------
#
# Equal plaintexts must give equal ciphertexts where a column is looked up or merged by value.
# The nonce is then a MAC of the plaintext: GCM's nonce is reused only for the very same
# plaintext (and AAD), which reveals equality and nothing else. The MAC key is derived from the
# data key rather than being the data key, so the two uses never share a key.


def siv_key(key: bytes) -> bytes:
    return hmac_sm3(key, b"govdata/siv-nonce")[:KEY_BYTES]


def siv_mac(key: bytes) -> hmac.HMAC:
    """HMAC-SM3 keyed with ``siv_key(key)``, to copy for each value (cheaper than keying)."""
    return hmac.HMAC(siv_key(key), hashes.SM3())


def seal_deterministic(
    key: Key, mac_key: bytes | hmac.HMAC, plaintext: bytes, aad: bytes = b""
) -> bytes:
    """SM4-GCM whose nonce is HMAC-SM3(mac key, aad ‖ plaintext): equal in, equal out."""
    message = len(aad).to_bytes(4, "big") + aad + plaintext
    if isinstance(mac_key, hmac.HMAC):
        mac = mac_key.copy()
        mac.update(message)
        nonce = mac.finalize()[:NONCE_BYTES]
    else:
        nonce = hmac_sm3(mac_key, message)[:NONCE_BYTES]
    return seal(key, plaintext, aad, nonce)
