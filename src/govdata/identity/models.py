"""Identity tables (being built)."""
