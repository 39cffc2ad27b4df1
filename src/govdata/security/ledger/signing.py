"""The node's signing key and what a tree-head signature covers.

SM2 (GB/T 32918, via gmssl) where it imports, Ed25519 otherwise; every head records
which. The key lives in a file in the data directory (or ``GOVDATA_LEDGER_KEY_FILE``),
readable by the platform's account only, never in the store: whoever can rewrite the
store still cannot sign a head for what they wrote.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from govdata.config import Settings
from govdata.core.clock import as_utc
from govdata.security.ledger.merkle import sm3

ED25519 = "Ed25519"
try:
    from govdata.security.crypto import sm2
except ImportError:  # pragma: no cover - gmssl is a dependency; this is the documented fallback
    sm2 = None  # type: ignore[assignment]

SM2 = "SM2-SM3"
_HEAD_DOMAIN = b"govdata-tree-head-v1\x00"
_COUNTERSIGN_DOMAIN = b"govdata-countersign-v1\x00"


@dataclass(frozen=True)
class NodeKey:
    algorithm: str
    private: str
    public: str

    @property
    def key_id(self) -> str:
        return key_id(self.public)


def key_id(public: str) -> str:
    return sm3(bytes.fromhex(public)).hex()[:16]


def _generate() -> NodeKey:
    if sm2 is not None:
        private, public = sm2.generate_keypair()
        return NodeKey(SM2, private, public)
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return NodeKey(ED25519, raw.hex(), pub.hex())


def key_path(settings: Settings) -> Path:
    return settings.ledger_key_file or settings.data_dir / "ledger-signing.key"


def node_key(settings: Settings) -> NodeKey:
    """This node's signing key, made on first use."""
    path = key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = _generate()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"algorithm": key.algorithm, "private": key.private, "public": key.public})
        )
        tmp.chmod(0o600)
        tmp.replace(path)
    data = json.loads(path.read_text())
    return NodeKey(data["algorithm"], data["private"], data["public"])


def node_id(settings: Settings) -> str:
    return settings.node_id or f"node-{node_key(settings).key_id[:8]}"


def sign(key: NodeKey, message: bytes) -> bytes:
    if key.algorithm == SM2 and sm2 is not None:
        return sm2.sign(key.private, key.public, message)
    if key.algorithm == ED25519:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key.private)).sign(message)
    raise ValueError(f"cannot sign with {key.algorithm}")


def verify(algorithm: str, public: str, message: bytes, signature: bytes) -> bool:
    if algorithm == SM2:
        return sm2 is not None and sm2.verify(public, message, signature)
    if algorithm == ED25519:
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True
    return False


def head_message(node: str, tree_size: int, root: bytes, issued_at: datetime) -> bytes:
    """What a tree-head signature covers: node, size, root and time (ms since the epoch)."""
    millis = int(as_utc(issued_at).timestamp() * 1000)
    return _HEAD_DOMAIN + node.encode() + b"\x00" + struct.pack(">QQ", tree_size, millis) + root


def countersign_message(countersigner: str, head_msg: bytes, head_signature: bytes) -> bytes:
    return _COUNTERSIGN_DOMAIN + countersigner.encode() + b"\x00" + head_msg + head_signature
