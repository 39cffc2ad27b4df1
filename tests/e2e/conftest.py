"""A real portal server (uvicorn in a subprocess) on a temporary SQLite store, and Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from govdata.config import Settings
from tests import services
from tests.web.conftest import Seed, seed

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class Server:
    url: str
    settings: Settings
    seed: Seed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"portal server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("portal server did not become ready")


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path) -> Iterator[Server]:
    """A fresh server per test: lockouts and jobs of one test never leak into another."""
    services.need("Chromium", services.chromium_present())
    env = {
        **os.environ,
        "GOVDATA_DATA_DIR": str(tmp_path / "data"),
        "GOVDATA_SECRET_KEY": "e2e-secret-key-" + "x" * 32,
        "GOVDATA_DEMO_MODE": "1",
        "GOVDATA_ARGON2_TIME_COST": "1",
        "GOVDATA_ARGON2_MEMORY_KIB": "8192",
        "GOVDATA_JOB_POLL_SECONDS": "0.2",
        "GOVDATA_JOB_HANDLER_MODULES": "tests.e2e.handlers",
    }
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key=env["GOVDATA_SECRET_KEY"],
        demo_mode=True,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        job_handler_modules=env["GOVDATA_JOB_HANDLER_MODULES"],
        embedded_worker=False,
    )
    # The store migrated once per run (tests/conftest.py), copied as for every other test.
    settings.data_dir.mkdir(parents=True)
    shutil.copy(sqlite_template, settings.data_dir / "govdata.db")
    seeded = seed(settings)
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "govdata.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc)
        yield Server(url, settings, seeded)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    services.need("Chromium", services.chromium_present())
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=services.CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    context = browser.new_context(
        base_url=server.url, locale="zh-CN", viewport={"width": 1366, "height": 860}
    )
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
