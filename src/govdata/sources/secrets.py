"""Source credentials sealed at rest: envelope encryption with SM4-GCM (GB/T 32907).

A sealed token reads ``gd2.<master key id>.<wrapped data key>.<sealed body>`` (base64url):

- every token has a data key of its own (a random 128-bit SM4 key) that encrypts the JSON
  body; the data key travels only wrapped (SM4-GCM) under the node's master key
  (``govdata.security.crypto.keyring``: ``GOVDATA_MASTER_KEY`` or the key files of the data
  directory), whose id — the first 8 hex of its SM3 digest — leads the token;
- a master key rotation rewraps the data key (``reseal``, run by the rewrap job); tokens not
  rewrapped yet still open with the retired master key;
- the whole header (format, master key id, wrapped key) is authenticated as associated data,
  so no part of it can be swapped.

The first format, ``gd1.<key id>.<base64url(nonce | ciphertext | tag)>``, sealed directly
under ``GOVDATA_SOURCE_KEY`` or ``<data_dir>/source.key``: tokens in it stay readable with
that key, and a rewrap turns them into ``gd2``. Nothing here ever puts a secret value into
an error message or its details.
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
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.errors import GovDataError, ServiceUnavailable
from govdata.security.crypto import sm4
from govdata.security.crypto.keyring import Keyring

FORMAT = "gd2"
LEGACY_FORMAT = "gd1"
KEY_FILE = "source.key"
# What the wrap of a secret's data key is bound to (the token's AAD binds the rest).
WRAP_CONTEXT = "source-secret"
_NONCE = 12
_TAG = 16


def unreadable(reason: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        "数据源凭据无法解密：密钥不符或密文已被篡改。请核对主密钥 GOVDATA_MASTER_KEY"
        "（旧格式凭据为 GOVDATA_SOURCE_KEY），或重新填写该数据源的凭据",
        "The source credentials cannot be decrypted: wrong key or tampered data. Check the "
        "master key GOVDATA_MASTER_KEY (GOVDATA_SOURCE_KEY for credentials sealed in the "
        "older format), or enter the source's credentials again",
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
    """The 128-bit SM4 key that sealed ``gd1`` credentials on this node."""
    if settings.source_key:
        return _parse_key(settings.source_key, "GOVDATA_SOURCE_KEY")
    return _key_file(settings.data_dir / KEY_FILE, create)


def key_id(key: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(key)
    return digest.finalize().hex()[:8]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode(), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise unreadable("encoding") from None


def seal(settings: Settings, data: dict[str, Any]) -> str:
    """Encrypt ``data`` (a JSON object of strings) into a token safe to store."""
    data_key = sm4.new_key()
    master_id, wrapped = Keyring(settings).wrap(data_key, WRAP_CONTEXT)
    header = f"{FORMAT}.{master_id}.{_b64(wrapped)}"
    plain = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    return f"{header}.{_b64(sm4.seal(data_key, plain, header.encode()))}"


def _content(plain: bytes) -> dict[str, Any]:
    try:
        data = json.loads(plain)
    except ValueError:
        raise unreadable("content") from None
    if not isinstance(data, dict):
        raise unreadable("content")
    return data


def _open_legacy(settings: Settings, parts: list[str]) -> dict[str, Any]:
    key = source_key(settings, create=False)
    if parts[1] != key_id(key):
        raise unreadable("key")
    body = _unb64(parts[2])
    if len(body) < _NONCE + _TAG:
        raise unreadable("length")
    nonce, ciphertext, tag = body[:_NONCE], body[_NONCE:-_TAG], body[-_TAG:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(f"{parts[0]}.{parts[1]}".encode())
    try:
        plain = dec.update(ciphertext) + dec.finalize()
    except InvalidTag:
        raise unreadable("tag") from None
    return _content(plain)


def _data_key(settings: Settings, master_id: str, wrapped_text: str) -> bytes:
    keyring = Keyring(settings)
    if master_id not in keyring.known():
        raise unreadable("key")
    wrapped = _unb64(wrapped_text)
    if len(wrapped) < _NONCE + _TAG:
        raise unreadable("length")
    try:
        return keyring.unwrap(master_id, wrapped, WRAP_CONTEXT)
    except GovDataError:
        raise unreadable("tag") from None


def open_(settings: Settings, token: str) -> dict[str, Any]:
    """The object ``seal`` sealed; ``source_secret_unreadable`` for a wrong key or tampering."""
    parts = token.split(".")
    if len(parts) == 3 and parts[0] == LEGACY_FORMAT:
        return _open_legacy(settings, parts)
    if len(parts) != 4 or parts[0] != FORMAT:
        raise unreadable("format")
    data_key = _data_key(settings, parts[1], parts[2])
    body = _unb64(parts[3])
    if len(body) < _NONCE + _TAG:
        raise unreadable("length")
    try:
        plain = sm4.open_(data_key, body, ".".join(parts[:3]).encode())
    except sm4.Unreadable:
        raise unreadable("tag") from None
    return _content(plain)


def master_of(token: str) -> str | None:
    """The master key id a ``gd2`` token is wrapped under; None for the older format."""
    parts = token.split(".")
    return parts[1] if len(parts) == 4 and parts[0] == FORMAT else None


def reseal(settings: Settings, token: str) -> str:
    """``token`` with its data key wrapped under the active master key.

    A ``gd2`` token keeps its data key (the body is sealed again under it only because the
    header it authenticates changed); a ``gd1`` token is opened with the source key and
    sealed afresh.
    """
    parts = token.split(".")
    if len(parts) == 3 and parts[0] == LEGACY_FORMAT:
        return seal(settings, _open_legacy(settings, parts))
    data = open_(settings, token)
    data_key = _data_key(settings, parts[1], parts[2])
    master_id, wrapped = Keyring(settings).wrap(data_key, WRAP_CONTEXT)
    header = f"{FORMAT}.{master_id}.{_b64(wrapped)}"
    plain = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    return f"{header}.{_b64(sm4.seal(data_key, plain, header.encode()))}"


def rewrap_batch(
    s: Session, settings: Settings, after_id: str, limit: int
) -> tuple[str | None, int, list[str]]:
    """Reseal up to ``limit`` source secrets (in id order after ``after_id``) that are not
    wrapped under the active master key. Returns the last id looked at (None when done),
    how many were resealed, and the ids of sources whose secret could not be opened (left as
    they are; their credentials must be entered again)."""
    from govdata.sources.models import SourceSystem

    active = Keyring(settings).active().id
    rows = s.scalars(
        select(SourceSystem)
        .where(SourceSystem.secret.is_not(None), SourceSystem.id > after_id)
        .order_by(SourceSystem.id)
        .limit(limit)
    ).all()
    changed = 0
    failed: list[str] = []
    for row in rows:
        token = row.secret or ""
        if master_of(token) == active:
            continue
        try:
            row.secret = reseal(settings, token)
        except GovDataError:
            failed.append(row.id)
            continue
        changed += 1
    s.flush()
    return (rows[-1].id if len(rows) == limit else None), changed, failed


def sealed_by_master(s: Session) -> dict[str, int]:
    """How many source secrets each master key wraps (``gd1``: still under the source key)."""
    from govdata.sources.models import SourceSystem

    counts: dict[str, int] = {}
    for token in s.scalars(select(SourceSystem.secret).where(SourceSystem.secret.is_not(None))):
        name = master_of(token or "") or LEGACY_FORMAT
        counts[name] = counts.get(name, 0) + 1
    return counts


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
