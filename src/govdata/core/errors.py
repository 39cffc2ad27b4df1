"""Domain errors: a stable code, a message in zh-CN and English, and an HTTP status.

The API renders every one of them as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any


class GovDataError(Exception):
    """Base of every error the platform reports to a caller on purpose."""

    code = "internal_error"
    status = 500
    message_zh = "系统内部错误"
    message_en = "Internal error"

    def __init__(
        self,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        code: str | None = None,
        details: Any = None,
    ) -> None:
        if message_zh is not None:
            self.message_zh = message_zh
        if message_en is not None:
            self.message_en = message_en
        if code is not None:
            self.code = code
        self.details = details
        super().__init__(f"{self.code}: {self.message_en}")

    def message(self, locale: str = "zh_CN") -> str:
        return self.message_en if locale.startswith("en") else self.message_zh

    def to_dict(self, locale: str = "zh_CN") -> dict[str, Any]:
        return {
            "error": {"code": self.code, "message": self.message(locale), "details": self.details}
        }


class InvalidInput(GovDataError):
    code = "invalid_input"
    status = 422
    message_zh = "输入数据不合法"
    message_en = "Invalid input"


class NotFound(GovDataError):
    code = "not_found"
    status = 404
    message_zh = "对象不存在"
    message_en = "Not found"


class Conflict(GovDataError):
    code = "conflict"
    status = 409
    message_zh = "与现有数据冲突"
    message_en = "Conflicts with existing data"


class NotAuthenticated(GovDataError):
    code = "not_authenticated"
    status = 401
    message_zh = "请先登录"
    message_en = "Authentication required"


class PermissionDenied(GovDataError):
    code = "permission_denied"
    status = 403
    message_zh = "无权执行此操作"
    message_en = "Permission denied"


class ServiceUnavailable(GovDataError):
    code = "service_unavailable"
    status = 503
    message_zh = "服务暂不可用"
    message_en = "Service unavailable"
