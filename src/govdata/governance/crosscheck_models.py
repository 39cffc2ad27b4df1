"""Governance (issue 7): filled in by its own increment."""
