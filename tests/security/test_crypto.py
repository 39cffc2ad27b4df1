"""SM3, SM4 and SM2 against their standards' vectors, and the properties the platform relies on
(authenticated encryption, deterministic sealing for lookups)."""

from __future__ import annotations

import pytest

from govdata.security.crypto import sm2, sm3, sm4

# GB/T 32905-2016 appendix A.
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
# GB/T 32907-2016 appendix A: key = plaintext.
SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
SM4_ONCE = "681edf34d206965e86b3e94f536e4246"
SM4_MILLION = "595298c7c6fd271f0402f804c33d3f66"


def test_sm3_standard_vectors() -> None:
    assert sm3.hexdigest(b"abc") == SM3_ABC
    assert sm3.hexdigest(b"abcd" * 16) == SM3_ABCD16
    h = sm3.Hasher()
    for piece in (b"ab", b"", b"c"):
        h.update(piece)
    assert h.hexdigest() == SM3_ABC
    assert sm3.key_id(b"abc") == SM3_ABC[:8]


def test_hmac_sm3_is_keyed() -> None:
    a = sm3.hmac_sm3(b"k1", b"data")
    assert len(a) == sm3.DIGEST_BYTES
    assert a == sm3.hmac_sm3(b"k1", b"data") != sm3.hmac_sm3(b"k2", b"data")


def test_sm4_standard_vector_once_and_a_million_times() -> None:
    assert sm4.encrypt_block(SM4_KEY, SM4_KEY).hex() == SM4_ONCE
    # Appendix A.2: the plaintext encrypted 1,000,000 times in a row under the same key.
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    block = SM4_KEY
    for _ in range(1_000_000):
        block = enc.update(block)
    assert block.hex() == SM4_MILLION


def test_sm4_gcm_round_trip_and_every_tampering_is_caught() -> None:
    key = sm4.new_key()
    sealed = sm4.seal(key, "公民身份号码 630102199001011234".encode(), b"aad")
    assert len(sealed) == len("公民身份号码 630102199001011234".encode()) + sm4.OVERHEAD
    assert sm4.open_(key, sealed, b"aad").decode() == "公民身份号码 630102199001011234"
    assert sm4.seal(key, b"x", b"aad") != sm4.seal(key, b"x", b"aad")  # random nonces
    for i in (0, 12, len(sealed) - 1):  # nonce, body, tag
        forged = bytearray(sealed)
        forged[i] ^= 1
        with pytest.raises(sm4.Unreadable):
            sm4.open_(key, bytes(forged), b"aad")
    with pytest.raises(sm4.Unreadable):
        sm4.open_(key, sealed, b"other aad")
    with pytest.raises(sm4.Unreadable):
        sm4.open_(sm4.new_key(), sealed, b"aad")
    with pytest.raises(sm4.Unreadable):
        sm4.open_(key, sealed[:10])


def test_deterministic_sealing_is_equal_for_equal_values_only() -> None:
    key = sm4.new_key()
    mac = sm4.siv_key(key)
    assert mac != key
    a = sm4.seal_deterministic(key, mac, b"630102199001011234", b"resident_id")
    assert a == sm4.seal_deterministic(key, mac, b"630102199001011234", b"resident_id")
    assert a != sm4.seal_deterministic(key, mac, b"630102199001011235", b"resident_id")
    # Another column (AAD) or another key: unrelated ciphertexts.
    assert a != sm4.seal_deterministic(key, mac, b"630102199001011234", b"phone")
    other = sm4.new_key()
    assert a != sm4.seal_deterministic(other, sm4.siv_key(other), b"630102199001011234")
    assert sm4.open_(key, a, b"resident_id") == b"630102199001011234"


def test_sm2_signatures_verify_and_refuse_changes() -> None:
    private, public = sm2.generate_keypair()
    sig = sm2.sign(private, public, b"tree head 42")
    assert len(sig) == 64
    assert sm2.verify(public, b"tree head 42", sig)
    assert not sm2.verify(public, b"tree head 43", sig)
    _, other = sm2.generate_keypair()
    assert not sm2.verify(other, b"tree head 42", sig)
