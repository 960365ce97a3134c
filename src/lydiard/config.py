"""Settings, created once by an entry point and passed down. No instance at import time."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
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
    login_attempts_per_15min: int = Field(default=10, description="Failed logins allowed per account and per address in 15 minutes")
    https: bool = Field(default=False, description="Set Secure on cookies (behind an https proxy)")
    demo: bool = Field(default=False, description="Load the demo data on start when the store is empty")

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
