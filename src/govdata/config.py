"""Settings for one GovData node, read from the environment (prefix ``GOVDATA_``)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a node can be told. The embedded profile needs none of it set."""

    model_config = SettingsConfigDict(env_prefix="GOVDATA_", extra="ignore")

    data_dir: Path = Path("data")
    # Empty means the embedded SQLite file under data_dir.
    database_url: str = ""
    secret_key: str = ""
    # Demo instances relax the second factor for privileged roles; nothing else.
    demo_mode: bool = False
    demo_password: str = "Qinghai@2026"  # noqa: S105 - published demo login, demo only
    default_locale: str = "zh_CN"
    # Cron schedules are read in this zone: "0 2 * * *" means 2 a.m. Beijing time.
    timezone: str = "Asia/Shanghai"

    session_idle_minutes: int = Field(default=30, ge=1)
    access_token_minutes: int = Field(default=60, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    password_min_length: int = Field(default=10, ge=8)
    # argon2id cost; tests lower it, production keeps the library's recommended values.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=1024)
    # Secure cookies need HTTPS; the embedded profile serves plain HTTP on loopback.
    cookie_secure: bool = False
    # Hardening (docs/security/hardening.md). Login and token requests allowed per client
    # address and per account name within a sliding window, counted in each process's memory.
    login_rate_per_address: int = Field(default=60, ge=1)
    login_rate_per_account: int = Field(default=10, ge=1)
    login_rate_window_seconds: float = Field(default=60.0, gt=0)
    # The largest request body the web process reads; file-source uploads have their own limit.
    max_request_mb: int = Field(default=32, ge=1)

    # Job queue
    job_lease_seconds: float = Field(default=30.0, gt=0)
    job_poll_seconds: float = Field(default=1.0, gt=0)
    job_max_attempts: int = Field(default=5, ge=1)
    job_backoff_seconds: float = Field(default=2.0, ge=0)
    # Comma-separated extra modules whose @job_handler kinds workers run (plugins, tests).
    job_handler_modules: str = ""
    embedded_worker: bool = True
    # CDC pipelines are long jobs on queue "cdc"; the embedded profile runs this many at once
    # in a worker of their own so they never hold up the ordinary jobs.
    cdc_streams: int = Field(default=4, ge=1)

    # Delta Lake tables; empty means <data_dir>/lake. Production may point it at a bigger disk.
    lake_root: Path | None = None

    # Source systems (docs/sources.md). The SM4 key that seals their credentials: 32 hex
    # characters (128 bits); empty means a key file kept in the data directory.
    source_key: str = Field(default="", pattern=r"^([0-9a-fA-F]{32})?$")

    # Envelope encryption (docs/security/crypto.md): the SM4 master key that wraps every data
    # key, 32 hex characters; empty means key files kept in <data_dir>/keys/. Keys replaced by
    # a rotation stay listed in ``master_keys_retired`` (comma-separated) until all is rewrapped.
    master_key: str = Field(default="", pattern=r"^([0-9a-fA-F]{32})?$")
    master_keys_retired: str = Field(
        default="", pattern=r"^([0-9a-fA-F]{32}(\s*,\s*[0-9a-fA-F]{32})*)?$"
    )
    # The largest file an officer may upload into a file source.
    source_upload_max_mb: int = Field(default=200, ge=1)
    # Server folders that file and SQLite sources may read, separated by commas. Empty means
    # anywhere except the platform's own data directory; production should name them.
    source_path_roots: str = ""

    # Data-service API (sharing): default limits for an app without its own, and for users
    # calling from the portal's try-it box.
    data_api_per_minute: int = Field(default=6000, ge=1)
    data_api_per_day: int = Field(default=1_000_000, ge=1)
    # Rows one data-service page may return.
    data_api_max_rows: int = Field(default=1000, ge=1, le=100_000)
    # Subscriptions deliver files here (one folder per subscription); empty: <data_dir>/deliveries.
    delivery_root: Path | None = None

    # Audit ledger (docs/security/ledger.md). The node's name in signed tree heads; empty
    # means one made from its signing key. The key file defaults to the data directory.
    node_id: str = ""
    ledger_key_file: Path | None = None
    # Queued audit records are sealed into the tree this often (seconds; 0 = only by the
    # ledger job and on demand), and a grown tree gets a signed head at least this often.
    ledger_seal_seconds: float = Field(default=2.0, ge=0)
    ledger_head_seconds: float = Field(default=300.0, gt=0)

    # Open-data public accounts (docs/opendata/accounts.md). Verification codes go out through
    # a gateway per channel: "log" (the embedded default: the code is written to the log),
    # "smtp" for e-mail and "http" for SMS.
    opendata_mail_gateway: str = Field(default="log", pattern=r"^(log|smtp)$")
    opendata_sms_gateway: str = Field(default="log", pattern=r"^(log|http)$")
    opendata_smtp_host: str = "localhost"
    opendata_smtp_port: int = Field(default=25, ge=1, le=65535)
    opendata_smtp_user: str = ""
    opendata_smtp_password: str = ""
    opendata_smtp_from: str = "noreply@opendata.invalid"
    opendata_smtp_starttls: bool = False
    opendata_smtp_timeout: float = Field(default=10.0, gt=0)
    opendata_sms_url: str = ""
    opendata_sms_token: str = ""
    opendata_code_minutes: int = Field(default=10, ge=1, le=1440)
    opendata_code_attempts: int = Field(default=5, ge=1, le=20)
    opendata_code_resend_seconds: int = Field(default=60, ge=0)
    opendata_session_hours: float = Field(default=12.0, gt=0)
    # Working days a publisher has to decide a public application for a conditional dataset.
    opendata_application_days: int = Field(default=10, ge=1, le=60)
    # API keys' default quotas, and the per-address limit of callers without a key.
    opendata_key_per_minute: int = Field(default=600, ge=1)
    opendata_key_per_day: int = Field(default=100_000, ge=1)
    opendata_anonymous_per_minute: int = Field(default=1200, ge=1)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'govdata.db').resolve()}"

    @property
    def lake_dir(self) -> Path:
        """Folder holding the Delta Lake tables (see docs/lake.md)."""
        return self.lake_root if self.lake_root is not None else self.data_dir / "lake"

    @property
    def delivery_dir(self) -> Path:
        root = self.delivery_root
        return root if root is not None else self.data_dir / "deliveries"

    def resolved_secret_key(self) -> str:
        """The signing key: from the environment, else a key file kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
