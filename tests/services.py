"""Which real services the tests can reach. Absent ones skip locally and fail in CI."""

from __future__ import annotations

import os
import socket
from functools import cache

import pytest

PG_ADMIN_URL = os.environ.get(
    "GOVDATA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB = {
    "host": os.environ.get("GOVDATA_TEST_MARIADB_HOST", "127.0.0.1"),
    "port": int(os.environ.get("GOVDATA_TEST_MARIADB_PORT", "3306")),
    "user": os.environ.get("GOVDATA_TEST_MARIADB_USER", "root"),
    "password": os.environ.get("GOVDATA_TEST_MARIADB_PASSWORD", ""),
}
CHROMIUM = os.environ.get("GOVDATA_CHROMIUM", "/usr/bin/chromium")


def required() -> bool:
    return os.environ.get("GOVDATA_REQUIRE_SERVICES") == "1"


@cache
def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_up() -> bool:
    return _port_open("127.0.0.1", 5432)


def mariadb_up() -> bool:
    return _port_open(MARIADB["host"], MARIADB["port"])


def chromium_present() -> bool:
    return os.path.exists(CHROMIUM)


def need(service: str, present: bool) -> None:
    """Skip when a service is missing, unless CI demands every service."""
    if present:
        return
    if required():
        pytest.fail(f"{service} is required (GOVDATA_REQUIRE_SERVICES=1) but not reachable")
    pytest.skip(f"{service} not reachable")
