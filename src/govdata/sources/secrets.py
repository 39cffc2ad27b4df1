"""Source credentials sealed at rest with SM4-GCM (GB/T 32907 block cipher, authenticated).

A sealed token reads ``gd1.<key id>.<base64url(nonce | ciphertext | tag)>``:

- ``gd1`` names the format (SM4-GCM, 12-byte random nonce, 16-byte tag, JSON inside), so a
  later format (envelope encryption under a managed key) can sit next to it;
- the key id is the first 8 hex digits of the key's SM3 digest: after a key rotation the
  tokens still sealed under the old key are recognised as such instead of failing as
  "tampered";
- the header is authenticated as associated data, so it cannot be swapped either.

The key comes from ``GOVDATA_SOURCE_KEY`` (32 hex characters) or, when that is empty, from
``<data_dir>/source.key``, created on first use readable by the platform's user only.
Nothing here ever puts a secret value into an error message or its details.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from contextlib import suppress
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from govdata.config import Settings
from govdata.core.errors import GovDataError, ServiceUnavailable

FORMAT = "gd1"
KEY_FILE = "source.key"
_NONCE = 12
_TAG = 16


def unreadable(reason: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        "数据源凭据无法解密：密钥不符或密文已被篡改。"
        "请核对 GOVDATA_SOURCE_KEY，或重新填写该数据源的凭据",
        "The source credentials cannot be decrypted: wrong key or tampered data. Check "
        "GOVDATA_SOURCE_KEY, or enter the source's credentials again",
        code="source_secret_unreadable",
        details={"reason": reason},
    )


def _key_invalid(where: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"数据源密钥无效（{where}）：须为 32 位十六进制字符（128 位 SM4 密钥）",
        f"The source key ({where}) is invalid: it must be 32 hex characters (a 128-bit SM4 key)",
        code="source_key_invalid",
        details={"where": where},
    )


def _parse_key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise _key_invalid(where) from None
    if len(key) != 16:
        raise _key_invalid(where)
    return key


def _key_file(path: Path, create: bool) -> bytes:
    if not path.exists():
        if not create:
            # Only sealing makes a key: a lost key file must not be silently replaced
            # while tokens sealed under it are still being opened.
            raise unreadable("key")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under a private name, then linked into place: two processes starting at
        # once cannot both create a key, and nobody ever reads a half-written file.
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(16) + "\n")
                out.flush()
                os.fsync(out.fileno())
            # If another process won the race, its key is the key.
            with suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return _parse_key(path.read_text(), str(path))


def source_key(settings: Settings, *, create: bool = True) -> bytes:
    """The 128-bit SM4 key sealing source credentials on this node."""
    if settings.source_key:
        return _parse_key(settings.source_key, "GOVDATA_SOURCE_KEY")
    return _key_file(settings.data_dir / KEY_FILE, create)


def key_id(key: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(key)
    return digest.finalize().hex()[:8]


def seal(settings: Settings, data: dict[str, Any]) -> str:
    """Encrypt ``data`` (a JSON object of strings) into a token safe to store."""
    key = source_key(settings)
    header = f"{FORMAT}.{key_id(key)}"
    nonce = os.urandom(_NONCE)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(header.encode())
    plain = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    body = nonce + enc.update(plain) + enc.finalize() + enc.tag
    return f"{header}.{base64.urlsafe_b64encode(body).decode()}"


def open_(settings: Settings, token: str) -> dict[str, Any]:
    """The object ``seal`` sealed; ``source_secret_unreadable`` for a wrong key or tampering."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != FORMAT:
        raise unreadable("format")
    key = source_key(settings, create=False)
    if parts[1] != key_id(key):
        raise unreadable("key")
    try:
        body = base64.b64decode(parts[2].encode(), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise unreadable("encoding") from None
    if len(body) < _NONCE + _TAG:
        raise unreadable("length")
    nonce, ciphertext, tag = body[:_NONCE], body[_NONCE:-_TAG], body[-_TAG:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(f"{parts[0]}.{parts[1]}".encode())
    try:
        plain = dec.update(ciphertext) + dec.finalize()
    except InvalidTag:
        raise unreadable("tag") from None
    try:
        data = json.loads(plain)
    except ValueError:
        raise unreadable("content") from None
    if not isinstance(data, dict):
        raise unreadable("content")
    return data


# Keeping secrets out of messages ---------------------------------------------------------------


def hidden_values(data: dict[str, Any]) -> list[str]:
    """Every secret string in opened ``data``, longest first (so no part of one survives)."""
    values: list[str] = []
    for value in data.values():
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, dict):
            values.extend(v for v in value.values() if isinstance(v, str))
    return sorted((v for v in values if len(v) >= 3), key=len, reverse=True)


def scrub(text: str, hidden: list[str]) -> str:
    for value in hidden:
        text = text.replace(value, "***")
    return text


def _scrub_any(value: Any, hidden: list[str]) -> Any:
    if isinstance(value, str):
        return scrub(value, hidden)
    if isinstance(value, dict):
        return {k: _scrub_any(v, hidden) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_any(v, hidden) for v in value]
    return value


def scrubbed(exc: GovDataError, hidden: list[str]) -> GovDataError:
    """``exc`` with every secret value blanked out of its messages and details.

    Drivers word their own errors; a password must not survive even if one echoes it.
    """
    if hidden:
        exc.message_zh = scrub(exc.message_zh, hidden)
        exc.message_en = scrub(exc.message_en, hidden)
        exc.details = _scrub_any(exc.details, hidden)
    return exc
