"""The annual open list and reuses (优秀应用)."""

from __future__ import annotations
