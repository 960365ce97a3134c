"""Settings, created once by an entry point and passed down. No instance at import time."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("lydiard", appauthor=False))


class Settings(BaseSettings):
    """Runtime configuration; every field may be set as ``LYDIARD_<NAME>`` in the environment.

    Each field is documented in ``docs/configuration.md`` (a test checks it).
    """

    model_config = SettingsConfigDict(env_prefix="LYDIARD_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Data directory (SQLite file, stored originals)")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default is SQLite in `home`")
    session_idle_s: int = Field(default=8 * 3600, description="Idle time after which a login session expires, in seconds")
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, description="Largest accepted upload, in bytes")
    max_file_bytes: int = Field(default=100 * 1024 * 1024, description="Largest single workout file (after decompression), in bytes")
    max_archive_members: int = Field(default=50_000, description="Most files accepted inside one archive")
    max_archive_total_bytes: int = Field(default=4 * 1024**3, description="Largest total decompressed size of one archive, in bytes")
    login_attempts_per_15min: int = Field(
        default=10, description="Login attempts allowed per account from one client address in 15 minutes (a correct "
                                "password from another address with no recent failures still passes)")
    login_attempts_per_address_15min: int = Field(
        default=100, description="Login attempts allowed from one client address (any account) in 15 minutes")
    password_check_concurrency: int = Field(
        default=2, ge=1, description="Password hashings/verifications run at once (argon2id takes 64 MiB each)")
    request_threads: int = Field(
        default=4, ge=1, le=256,
        description="Requests one server process works on at once in its thread pool; the others wait their turn. "
                    "Python threads share one interpreter lock, so a few threads served in order answer sooner than "
                    "many sharing the CPU (benchmarks/web_latency.py). Uploads and check-ins have a pool of their own")
    recompute_threads: int = Field(
        default=4, ge=1, le=64,
        description="Uploads and check-ins (writes that recompute an athlete's days) one server process works on "
                    "at once, in a thread pool apart from the requests' (they never hold a page view up)")
    trusted_proxies: str = Field(
        default="", description="Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For "
                                "names the real client (e.g. `127.0.0.1,10.0.0.0/8`); empty = trust none")
    token_default_days: int = Field(default=90, ge=1, description="Lifetime of a new API token, in days, when none is asked")
    token_max_days: int = Field(default=365, ge=1, description="Longest lifetime an API token may be given, in days")
    upload_time_budget_s: float = Field(
        default=120.0, gt=0, description="Wall-clock budget for processing one upload (archives included), in seconds; "
                                         "work stops when it is spent or the client disconnects")
    https: bool = Field(default=False, description="Behind an https proxy: Secure `__Host-` cookies and HSTS")
    demo: bool = Field(default=False, description="Load the demo data on start when the store is empty")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        for p in value.split(","):
            if p.strip():
                ipaddress.ip_network(p.strip(), strict=False)  # ValueError names the bad entry
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """:attr:`trusted_proxies` parsed (a bad entry raises ``ValueError`` at start-up)."""
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def sqlite_path(self) -> Path:
        return self.home / "lydiard.sqlite3"

    @property
    def files_dir(self) -> Path:
        """Where original files are kept, content-addressed by SHA-256."""
        return self.home / "files"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"
