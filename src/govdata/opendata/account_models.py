"""Public accounts, verification codes, conditional-open applications and API keys."""

from __future__ import annotations
