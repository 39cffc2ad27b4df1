"""SM4-GCM sealing of source credentials: round trip, key sources, wrong keys, tampering."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError

from govdata.config import Settings
from govdata.core.errors import GovDataError
from govdata.sources import secrets

KEY = "00112233445566778899aabbccddeeff"


def node(tmp_path: Path, key: str = "") -> Settings:
    return Settings(data_dir=tmp_path / "data", source_key=key, embedded_worker=False)


def unreadable_reason(fn: object) -> str:
    with pytest.raises(GovDataError) as err:
        fn()  # type: ignore[operator]
    assert err.value.code == "source_secret_unreadable"
    return str(err.value.details["reason"])


def test_round_trip_keeps_the_object_and_hides_the_plaintext(tmp_path: Path) -> None:
    s = node(tmp_path, KEY)
    data = {"password": "S3cret-pw!", "headers": {"X-App-Key": "密钥-123"}}
    token = secrets.seal(s, data)
    assert secrets.open_(s, token) == data
    assert token.startswith("gd1." + secrets.key_id(bytes.fromhex(KEY)) + ".")
    assert "S3cret" not in token
    # A fresh nonce every time: the same data never seals to the same token.
    assert secrets.seal(s, data) != token


@hsettings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=200), max_size=5))
def test_any_object_of_strings_round_trips(data: dict[str, str]) -> None:
    s = Settings(data_dir=Path("/nonexistent"), source_key=KEY, embedded_worker=False)
    assert secrets.open_(s, secrets.seal(s, data)) == data


def test_key_file_is_created_private_once_and_reused(tmp_path: Path) -> None:
    s = node(tmp_path)
    token = secrets.seal(s, {"password": "x"})
    path = s.data_dir / "source.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(bytes.fromhex(path.read_text().strip())) == 16
    assert secrets.open_(node(tmp_path), token) == {"password": "x"}
    assert [p.name for p in s.data_dir.iterdir()] == ["source.key"]


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
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
    s = node(tmp_path, KEY)
    secrets.seal(s, {"token": "t"})
    assert not (s.data_dir / "source.key").exists()
    assert secrets.source_key(s) == bytes.fromhex(KEY)


def test_a_malformed_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        node(tmp_path, "not-hex")
    with pytest.raises(ValidationError):
        node(tmp_path, "00" * 15)
    bad = node(tmp_path)
    bad.data_dir.mkdir(parents=True)
    (bad.data_dir / "source.key").write_text("zz")
    with pytest.raises(GovDataError) as err:
        secrets.seal(bad, {})
    assert err.value.code == "source_key_invalid"


def test_a_wrong_key_is_told_apart_from_tampering(tmp_path: Path) -> None:
    token = secrets.seal(node(tmp_path, KEY), {"password": "S3cret-pw!"})
    other = node(tmp_path, "ff" * 16)
    assert unreadable_reason(lambda: secrets.open_(other, token)) == "key"


def test_tampered_tokens_are_refused(tmp_path: Path) -> None:
    s = node(tmp_path, KEY)
    token = secrets.seal(s, {"password": "S3cret-pw!"})
    fmt, kid, body = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body))
    for i in (0, 13, len(raw) - 1):  # nonce, ciphertext, tag
        flipped = bytearray(raw)
        flipped[i] ^= 1
        forged = f"{fmt}.{kid}.{base64.urlsafe_b64encode(bytes(flipped)).decode()}"
        assert unreadable_reason(lambda t=forged: secrets.open_(s, t)) == "tag"
    assert unreadable_reason(lambda: secrets.open_(s, f"gd2.{kid}.{body}")) == "format"
    assert unreadable_reason(lambda: secrets.open_(s, "plain text")) == "format"
    assert unreadable_reason(lambda: secrets.open_(s, f"{fmt}.{kid}.AAAA")) == "length"
    assert unreadable_reason(lambda: secrets.open_(s, f"{fmt}.{kid}.@@@")) == "encoding"


def test_the_error_never_carries_the_secret(tmp_path: Path) -> None:
    token = secrets.seal(node(tmp_path, KEY), {"password": "S3cret-pw!"})
    with pytest.raises(GovDataError) as err:
        secrets.open_(node(tmp_path, "ee" * 16), token)
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
    (s.data_dir / "source.key").unlink()
    assert unreadable_reason(lambda: secrets.open_(s, token)) == "key"
    assert not (s.data_dir / "source.key").exists()


def test_key_file_left_alone_when_present(tmp_path: Path) -> None:
    s = node(tmp_path)
    s.data_dir.mkdir(parents=True)
    (s.data_dir / "source.key").write_text(KEY + "\n")
    os.chmod(s.data_dir / "source.key", 0o600)
    assert secrets.source_key(s) == bytes.fromhex(KEY)
