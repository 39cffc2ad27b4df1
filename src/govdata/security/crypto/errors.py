"""Errors of key handling. None of them ever carries key material."""

from __future__ import annotations

from govdata.core.errors import Conflict, GovDataError, ServiceUnavailable


def master_key_invalid(where: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"主密钥无效（{where}）：须为 32 位十六进制字符（128 位 SM4 密钥）",
        f"The master key ({where}) is invalid: it must be 32 hex characters (a 128-bit SM4 key)",
        code="master_key_invalid",
        details={"where": where},
    )


def master_key_unknown(key_id: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"本节点不掌握主密钥 {key_id}：请在 GOVDATA_MASTER_KEYS_RETIRED 中列出轮换前的主密钥，"
        "或恢复密钥目录中的密钥文件",
        f"This node does not hold master key {key_id}: list the key used before the rotation "
        "in GOVDATA_MASTER_KEYS_RETIRED, or restore its key file",
        code="master_key_unknown",
        details={"master_key_id": key_id},
    )


def master_key_from_settings() -> Conflict:
    return Conflict(
        "主密钥由配置 GOVDATA_MASTER_KEY 提供，不能由平台替换：请在配置中换上新密钥、把旧密钥移入 "
        "GOVDATA_MASTER_KEYS_RETIRED 并重启，然后执行“重新封装”",
        "The master key comes from GOVDATA_MASTER_KEY and cannot be replaced by the platform: "
        "set the new key there, move the old one to GOVDATA_MASTER_KEYS_RETIRED, restart, then "
        "run a rewrap",
        code="master_key_from_settings",
    )


def unwrap_failed(what: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        "数据密钥无法解封：主密钥不符或密钥记录已被篡改",
        "A data key cannot be unwrapped: wrong master key or a tampered key record",
        code="data_key_unwrap_failed",
        details={"key": what},
    )


def data_key_destroyed(owner: str, key_id: str | None) -> GovDataError:
    err = GovDataError(
        "数据密钥已销毁，数据不可再解密（已安全销毁）",
        "The data key was destroyed; the data can no longer be decrypted (securely destroyed)",
        code="data_key_destroyed",
        details={"owner": owner, "key_id": key_id},
    )
    err.status = 410
    return err
