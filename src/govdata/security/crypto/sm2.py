"""SM2 signatures (GB/T 32918) with SM3 and the standard's default signer ID, via gmssl.

gmssl draws its signing nonce from ``random``; we always pass one from ``secrets``.
Its constructor strips the ``04`` prefix with ``lstrip`` (which also eats a leading
0 or 4 of the x coordinate), so the public key is set on the object directly.
"""

from __future__ import annotations

import secrets

from gmssl import sm2 as _sm2

ALGORITHM = "SM2-SM3"
_N = int(_sm2.default_ecc_table["n"], 16)
_G = _sm2.default_ecc_table["g"]


def _crypt(private_hex: str, public_hex: str) -> _sm2.CryptSM2:
    crypt = _sm2.CryptSM2(private_key=private_hex, public_key="")
    crypt.public_key = public_hex.removeprefix("04") if len(public_hex) == 130 else public_hex
    return crypt


def _scalar() -> int:
    while True:
        k = secrets.randbelow(_N - 1)
        if k > 0:
            return k


def generate_keypair() -> tuple[str, str]:
    """A new key pair: (private key as 64 hex, public key as 128 hex x‖y, no 04 prefix)."""
    d = _scalar()
    public = _crypt("", "")._kg(d, _G)
    return f"{d:064x}", public


def sign(private_hex: str, public_hex: str, data: bytes) -> bytes:
    """Sign ``data``: 64 bytes r‖s. The public key enters the signed digest (Z_A)."""
    crypt = _crypt(private_hex, public_hex)
    while True:
        sig = crypt.sign_with_sm3(data, f"{_scalar():064x}")
        if sig:  # None when the nonce gave r = 0 or s = 0; draw again
            return bytes.fromhex(sig)


def verify(public_hex: str, data: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    try:
        return bool(_crypt("", public_hex).verify_with_sm3(signature.hex(), data))
    except (ValueError, TypeError):
        return False
