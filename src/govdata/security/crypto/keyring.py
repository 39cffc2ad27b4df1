"""Master keys: where they come from, which one is active, and wrapping data keys with them.

A master key never leaves this module except to wrap or unwrap a data key; the store holds
only wrapped data keys and the master keys' ids (first 8 hex of their SM3 digest).

Sources, in order:

- ``GOVDATA_MASTER_KEY`` (32 hex): the active key; the keys it replaced are listed in
  ``GOVDATA_MASTER_KEYS_RETIRED`` until everything wrapped under them has been rewrapped;
- otherwise key files under ``<data_dir>/keys/``: ``master-<id>.key`` per key and ``active``
  naming the active one. The first use creates both; a rotation writes a new key file and
  then replaces ``active`` in one rename, so every process switches at once and no process
  ever reads half a file.

Key files found in the folder are known in either mode, so a node moved from key files to
the setting still opens what the files wrapped.
"""

from __future__ import annotations

import os
import secrets
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from govdata.config import Settings
from govdata.security.crypto import sm4
from govdata.security.crypto.errors import (
    master_key_from_settings,
    master_key_invalid,
    master_key_unknown,
    unwrap_failed,
)
from govdata.security.crypto.sm3 import key_id

KEY_DIR = "keys"
ACTIVE = "active"
WRAP_FORMAT = b"gdk1"


@dataclass(frozen=True)
class MasterKey:
    id: str
    material: bytes = field(repr=False)
    origin: str  # "settings" or "file"


def _parse(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise master_key_invalid(where) from None
    if len(key) != sm4.KEY_BYTES:
        raise master_key_invalid(where)
    return key


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by the platform's user only, appearing whole or not at all.

    Raises FileExistsError when the path exists already (the other writer won).
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Keyring:
    """The master keys of one node (``Settings``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = settings.data_dir / KEY_DIR

    # -- reading --------------------------------------------------------------------------

    def _file_keys(self) -> dict[str, MasterKey]:
        found: dict[str, MasterKey] = {}
        if not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob("master-*.key")):
            try:
                text = path.read_text()
            except FileNotFoundError:
                # A process that lost the race to make the first key removed its own.
                continue
            material = _parse(text, str(path))
            kid = key_id(material)
            found[kid] = MasterKey(kid, material, "file")
        return found

    def _settings_keys(self) -> tuple[MasterKey | None, dict[str, MasterKey]]:
        s = self.settings
        active = None
        if s.master_key:
            material = _parse(s.master_key, "GOVDATA_MASTER_KEY")
            active = MasterKey(key_id(material), material, "settings")
        retired: dict[str, MasterKey] = {}
        for part in s.master_keys_retired.split(","):
            if part.strip():
                material = _parse(part, "GOVDATA_MASTER_KEYS_RETIRED")
                kid = key_id(material)
                retired[kid] = MasterKey(kid, material, "settings")
        return active, retired

    def known(self) -> dict[str, MasterKey]:
        """Every master key this node can unwrap with, by id."""
        active, retired = self._settings_keys()
        keys = {**self._file_keys(), **retired}
        if active is not None:
            keys[active.id] = active
        return keys

    def from_settings(self) -> bool:
        return bool(self.settings.master_key)

    def active(self, *, create: bool = True) -> MasterKey:
        """The key new wraps use; the first call on a fresh node creates it (key file mode)."""
        settings_active, _ = self._settings_keys()
        if settings_active is not None:
            return settings_active
        pointer = self.folder / ACTIVE
        if not pointer.exists():
            if not create:
                raise master_key_unknown("active")
            self._create_first()
        kid = pointer.read_text().strip()
        found = self._file_keys().get(kid)
        if found is None:
            raise master_key_unknown(kid)
        return found

    def get(self, kid: str) -> MasterKey:
        found = self.known().get(kid)
        if found is None:
            raise master_key_unknown(kid)
        return found

    # -- writing --------------------------------------------------------------------------

    def _new_file_key(self) -> MasterKey:
        self.folder.mkdir(parents=True, exist_ok=True)
        with suppress(OSError):
            self.folder.chmod(0o700)
        material = sm4.new_key()
        kid = key_id(material)
        _write_private(self.folder / f"master-{kid}.key", material.hex())
        return MasterKey(kid, material, "file")

    def _create_first(self) -> None:
        key = self._new_file_key()
        try:
            _write_private(self.folder / ACTIVE, key.id)
        except FileExistsError:
            # Another process made the first key at the same moment: its key is the key.
            (self.folder / f"master-{key.id}.key").unlink(missing_ok=True)

    def install_new(self) -> tuple[MasterKey, MasterKey]:
        """Make a new master key the active one (key file mode); returns (old, new).

        The old key stays in the folder: everything it wrapped opens until rewrapped.
        """
        if self.from_settings():
            raise master_key_from_settings()
        old = self.active()
        new = self._new_file_key()
        tmp = self.folder / f".{ACTIVE}.{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(new.id + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.folder / ACTIVE)
        return old, new

    def forget(self, kid: str) -> bool:
        """Delete a retired key file (after nothing is wrapped under it any more)."""
        if kid == self.active().id:
            return False
        path = self.folder / f"master-{kid}.key"
        if not path.exists():
            return False
        path.unlink()
        return True

    # -- wrapping -------------------------------------------------------------------------

    def wrap(self, data_key: bytes, context: str) -> tuple[str, bytes]:
        """``data_key`` sealed under the active master key, bound to ``context`` (what the
        key belongs to, so a wrapped key cannot be moved to another owner)."""
        master = self.active()
        return master.id, sm4.seal(master.material, data_key, _aad(master.id, context))

    def unwrap(self, master_id: str, wrapped: bytes, context: str) -> bytes:
        master = self.get(master_id)
        try:
            return sm4.open_(master.material, wrapped, _aad(master_id, context))
        except sm4.Unreadable:
            raise unwrap_failed(context) from None


def _aad(master_id: str, context: str) -> bytes:
    return WRAP_FORMAT + b"|" + master_id.encode() + b"|" + context.encode()
