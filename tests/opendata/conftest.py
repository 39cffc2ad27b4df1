"""Open-data tests use the catalog tests' organisation (operator, officers, clerks)."""

from tests.catalog.conftest import org, settings  # noqa: F401
