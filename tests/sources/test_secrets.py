"""Sealing of source credentials: envelope tokens (``gd2``) round trip, key sources, wrong keys,
tampering, master key rotation; tokens of the first format (``gd1``) still open."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError

from govdata.config import Settings
from govdata.core.errors import GovDataError
from govdata.security.crypto.keyring import Keyring
from govdata.sources import secrets

KEY = "00112233445566778899aabbccddeeff"
MASTER = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def node(tmp_path: Path, key: str = "", master: str = "", retired: str = "") -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        source_key=key,
        master_key=master,
        master_keys_retired=retired,
        embedded_worker=False,
    )


def seal_gd1(key_hex: str, data: dict[str, object]) -> str:
    """A token in the first format, made exactly as the platform made them before gd2."""
    key = bytes.fromhex(key_hex)
    header = f"gd1.{secrets.key_id(key)}"
    nonce = os.urandom(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(header.encode())
    plain = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    body = nonce + enc.update(plain) + enc.finalize() + enc.tag
    return f"{header}.{base64.urlsafe_b64encode(body).decode()}"


def unreadable_reason(fn: object) -> str:
    with pytest.raises(GovDataError) as err:
        fn()  # type: ignore[operator]
    assert err.value.code == "source_secret_unreadable"
    return str(err.value.details["reason"])


def test_round_trip_keeps_the_object_and_hides_the_plaintext(tmp_path: Path) -> None:
    s = node(tmp_path, master=MASTER)
    data = {"password": "S3cret-pw!", "headers": {"X-App-Key": "密钥-123"}}
    token = secrets.seal(s, data)
    assert secrets.open_(s, token) == data
    assert token.startswith("gd2." + Keyring(s).active().id + ".")
    assert secrets.master_of(token) == Keyring(s).active().id
    assert "S3cret" not in token
    # A fresh data key and nonce every time: the same data never seals to the same token.
    again = secrets.seal(s, data)
    assert again != token and again.split(".")[2] != token.split(".")[2]


@hsettings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=200), max_size=5))
def test_any_object_of_strings_round_trips(data: dict[str, str]) -> None:
    s = Settings(data_dir=Path("/nonexistent"), master_key=MASTER, embedded_worker=False)
    assert secrets.open_(s, secrets.seal(s, data)) == data


def test_gd1_tokens_still_open_with_the_source_key(tmp_path: Path) -> None:
    token = seal_gd1(KEY, {"password": "old-pw"})
    assert secrets.open_(node(tmp_path, KEY), token) == {"password": "old-pw"}
    # From the key file too, as nodes without GOVDATA_SOURCE_KEY sealed them.
    s = node(tmp_path)
    file_key = secrets.source_key(s).hex()
    assert secrets.open_(s, seal_gd1(file_key, {"u": "x"})) == {"u": "x"}
    assert secrets.master_of(token) is None


def test_master_key_file_is_created_private_once_and_reused(tmp_path: Path) -> None:
    s = node(tmp_path)
    token = secrets.seal(s, {"password": "x"})
    folder = s.data_dir / "keys"
    files = sorted(p.name for p in folder.iterdir())
    kid = Keyring(s).active().id
    assert files == ["active", f"master-{kid}.key"]
    for name in files:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert len(bytes.fromhex((folder / f"master-{kid}.key").read_text().strip())) == 16
    assert secrets.open_(node(tmp_path), token) == {"password": "x"}
    # No source key is made any more: only gd1 tokens need one.
    assert not (s.data_dir / "source.key").exists()


def test_processes_starting_together_agree_on_one_master_key(tmp_path: Path) -> None:
    s = node(tmp_path)
    ids: list[str] = []
    threads = [
        threading.Thread(target=lambda: ids.append(Keyring(s).active().id)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1
    assert sorted(p.name for p in (s.data_dir / "keys").iterdir()) == [
        "active",
        f"master-{ids[0]}.key",
    ]


def test_processes_starting_together_agree_on_one_source_key(tmp_path: Path) -> None:
    s = node(tmp_path)
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(secrets.source_key(s))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert sorted(p.name for p in s.data_dir.iterdir()) == ["source.key"]


def test_the_environment_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    s = node(tmp_path, master=MASTER)
    secrets.seal(s, {"token": "t"})
    assert not (s.data_dir / "keys").exists()
    assert Keyring(s).active().material == bytes.fromhex(MASTER)


def test_a_malformed_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        node(tmp_path, "not-hex")
    with pytest.raises(ValidationError):
        node(tmp_path, master="00" * 15)
    with pytest.raises(ValidationError):
        node(tmp_path, retired=MASTER + ",zz")
    bad = node(tmp_path)
    (bad.data_dir / "keys").mkdir(parents=True)
    (bad.data_dir / "keys" / "master-0000.key").write_text("zz")
    with pytest.raises(GovDataError) as err:
        secrets.seal(bad, {})
    assert err.value.code == "master_key_invalid"


def test_a_wrong_key_is_told_apart_from_tampering(tmp_path: Path) -> None:
    token = secrets.seal(node(tmp_path, master=MASTER), {"password": "S3cret-pw!"})
    other = node(tmp_path, master="ff" * 16)
    assert unreadable_reason(lambda: secrets.open_(other, token)) == "key"
    legacy = seal_gd1(KEY, {"password": "S3cret-pw!"})
    assert unreadable_reason(lambda: secrets.open_(node(tmp_path, "ee" * 16), legacy)) == "key"


def test_tampered_tokens_are_refused(tmp_path: Path) -> None:
    s = node(tmp_path, master=MASTER)
    token = secrets.seal(s, {"password": "S3cret-pw!"})
    fmt, kid, wrapped, body = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body))
    for i in (0, 13, len(raw) - 1):  # nonce, ciphertext, tag
        flipped = bytearray(raw)
        flipped[i] ^= 1
        forged = f"{fmt}.{kid}.{wrapped}.{base64.urlsafe_b64encode(bytes(flipped)).decode()}"
        assert unreadable_reason(lambda t=forged: secrets.open_(s, t)) == "tag"
    # The wrapped data key is authenticated too, by its wrap and by the body's header.
    wk = bytearray(base64.urlsafe_b64decode(wrapped))
    wk[20] ^= 1
    forged = f"{fmt}.{kid}.{base64.urlsafe_b64encode(bytes(wk)).decode()}.{body}"
    assert unreadable_reason(lambda: secrets.open_(s, forged)) == "tag"
    other = secrets.seal(s, {"password": "other"}).split(".")[2]
    swapped = f"{fmt}.{kid}.{other}.{body}"
    assert unreadable_reason(lambda: secrets.open_(s, swapped)) == "tag"
    assert unreadable_reason(lambda: secrets.open_(s, f"gd3.{kid}.{wrapped}.{body}")) == "format"
    assert unreadable_reason(lambda: secrets.open_(s, "plain text")) == "format"
    assert unreadable_reason(lambda: secrets.open_(s, f"{fmt}.{kid}.{wrapped}.AAAA")) == "length"
    assert unreadable_reason(lambda: secrets.open_(s, f"{fmt}.{kid}.{wrapped}.@@@")) == "encoding"
    legacy = seal_gd1(KEY, {"password": "x"})
    lfmt, lkid, _ = legacy.split(".")
    with_key = node(tmp_path, KEY)
    assert unreadable_reason(lambda: secrets.open_(with_key, f"{lfmt}.{lkid}.AAAA")) == "length"


def test_the_error_never_carries_the_secret(tmp_path: Path) -> None:
    token = secrets.seal(node(tmp_path, master=MASTER), {"password": "S3cret-pw!"})
    with pytest.raises(GovDataError) as err:
        secrets.open_(node(tmp_path, master="ee" * 16), token)
    text = f"{err.value} {err.value.message_zh} {err.value.details}"
    assert "S3cret" not in text and token not in text


def test_scrubbed_blanks_secret_values_out_of_an_error() -> None:
    exc = GovDataError(
        "连接 S3cret-pw! 失败", "connect S3cret-pw! failed", details={"x": ["S3cret-pw!"]}
    )
    hidden = secrets.hidden_values({"password": "S3cret-pw!", "headers": {"k": "v2v2"}})
    secrets.scrubbed(exc, hidden)
    assert "S3cret" not in exc.message_zh + exc.message_en + str(exc.details)
    assert exc.details == {"x": ["***"]}


def test_opening_never_makes_a_key(tmp_path: Path) -> None:
    s = node(tmp_path)
    token = secrets.seal(s, {"password": "x"})
    for path in (s.data_dir / "keys").iterdir():
        path.unlink()
    assert unreadable_reason(lambda: secrets.open_(s, token)) == "key"
    assert not any((s.data_dir / "keys").iterdir())
    assert unreadable_reason(lambda: secrets.open_(s, seal_gd1(KEY, {"p": "x"}))) == "key"
    assert not (s.data_dir / "source.key").exists()


def test_key_file_left_alone_when_present(tmp_path: Path) -> None:
    s = node(tmp_path)
    s.data_dir.mkdir(parents=True)
    (s.data_dir / "source.key").write_text(KEY + "\n")
    os.chmod(s.data_dir / "source.key", 0o600)
    assert secrets.source_key(s) == bytes.fromhex(KEY)


def test_reseal_moves_tokens_to_the_new_master_and_old_ones_still_open(tmp_path: Path) -> None:
    old = node(tmp_path, KEY, master=MASTER)
    token = secrets.seal(old, {"password": "pw"})
    legacy = seal_gd1(KEY, {"password": "legacy"})
    new_master = "a1" * 16
    rotated = node(tmp_path, KEY, master=new_master, retired=MASTER)
    # Before the rewrap, tokens under the retired key open as they are.
    assert secrets.open_(rotated, token) == {"password": "pw"}
    moved = secrets.reseal(rotated, token)
    upgraded = secrets.reseal(rotated, legacy)
    new_id = Keyring(rotated).active().id
    assert secrets.master_of(moved) == secrets.master_of(upgraded) == new_id
    # After it, the retired key is no longer needed.
    only_new = node(tmp_path, master=new_master)
    assert secrets.open_(only_new, moved) == {"password": "pw"}
    assert secrets.open_(only_new, upgraded) == {"password": "legacy"}
