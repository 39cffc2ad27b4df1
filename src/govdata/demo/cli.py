from __future__ import annotations


def demo() -> None:
    """Build the demo province (being built)."""
