"""Job tables (being built)."""
