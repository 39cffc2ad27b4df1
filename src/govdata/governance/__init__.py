"""Governance (治理): problem-data tickets today; quality rules, lineage and base libraries
build on them."""
