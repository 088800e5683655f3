"""Settings from ``SHANGLIAO_*`` environment variables (or a ``shangliao.toml`` in the data folder)."""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHANGLIAO_", extra="ignore")

    data_dir: Path = Field(default=Path("shangliao-data"), description="Database, key file and uploads.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; empty means SQLite inside the data folder."
    )
    redis_url: str | None = Field(default=None, description="Fan-out across processes when set.")
    secret_key: str | None = Field(
        default=None, description="Hex or base64 key material; otherwise the data folder's key file."
    )
    # Earlier keys, still needed to read values a rotation has not moved yet (core/keys.py).
    old_secret_keys: str | None = Field(
        default=None, description="Comma-separated earlier keys (with SHANGLIAO_SECRET_KEY) until retired."
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    default_timezone: str = "Asia/Shanghai"
    session_days: int = 30
    max_upload_bytes: int = 10 * 1024 * 1024
    db_pool_size: int = 8
    # Seconds; a hung PostgreSQL answers 503 after these instead of holding requests (operations.md).
    db_statement_timeout: float = Field(default=15.0, gt=0)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_pool_timeout: float = Field(default=5.0, gt=0)
    log_sql: bool = False
    # Where due jobs run (jobs/worker.py): inside each server process ("inline"), or only in
    # `shangliao worker` processes of their own ("off" for the servers; PostgreSQL only).
    worker: Literal["inline", "off"] = Field(
        default="inline", description="Run background jobs inside shangliao serve (inline) or not (off)."
    )
    worker_poll_seconds: float = Field(
        default=1.0, ge=0.05, le=60, description="How often the job worker looks for due work."
    )
    # Outbound webhooks (webhooks/deliver.py, webhooks/ssrf.py). Private and loopback targets (and
    # plain http) are refused unless allowed: a shop's URL must not reach into our own network.
    webhook_allow_private: bool = Field(
        default=False, description="Let webhooks go to private, loopback and link-local addresses (and http)."
    )
    webhook_timeout: float = Field(
        default=5.0, ge=0.5, le=30, description="Seconds a webhook receiver has to answer."
    )
    webhook_concurrency: int = Field(
        default=4, ge=1, le=32, description="Webhook sends in flight per worker."
    )
    webhook_disable_after_days: int = Field(
        default=3, ge=1, le=30, description="Switch a webhook off after this many days of failures only."
    )
    # Off: the worker only polls (what a process without Redis sees of another's commits); the
    # automation bench measures both.
    worker_wake: bool = Field(default=True, description="Wake the job worker at once on a commit.")
    # Seconds before a refused credential or a rate-limited call is answered (web/errors.py).
    refusal_pause: float = Field(default=0.5, ge=0, le=5)
    # Addresses (or networks) of the reverse proxies in front of us: only their X-Forwarded-For is
    # believed; anyone else could name any address and dodge the per-address rate limits.
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated proxy addresses or networks (127.0.0.1, 10.0.0.0/8); empty: none.",
    )
    # Where one-time codes for the shop page go (storefront/sms.py): empty = no SMS, codes are not
    # offered; "file:<path>" = a local fake gateway appending each message to a file (tests, demo).
    sms_gateway: str = Field(default="", description="SMS provider for one-time codes; empty: none.")
    # Where native payment QR codes are asked for (payments/native.py); tests point them at a fake.
    wechatpay_api_base: str = Field(
        default="https://api.mch.weixin.qq.com", description="WeChat Pay API v3 base URL."
    )
    alipay_gateway: str = Field(
        default="https://openapi.alipay.com/gateway.do", description="Alipay OpenAPI gateway."
    )
    # Where providers reach this server (payments/checkout.py builds each notify_url from it).
    # Never taken from a request's Host header: any caller may send any Host, and the provider
    # would then tell someone else that an order was paid. Empty: native QR is not offered.
    public_base_url: str = Field(
        default="",
        description="The shop's public https address (https://shop.example.com); empty: no native QR.",
    )

    @field_validator("public_base_url")
    @classmethod
    def _public_https(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and (
            not value.startswith("https://")
            or any(c in value for c in "?#@ ")
            or len(value) <= len("https://")
        ):
            raise ValueError(
                "SHANGLIAO_PUBLIC_BASE_URL must be an https:// address without query or fragment"
            )
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'shangliao.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"


def normalize_database_url(url: str) -> str:
    """Accept the ``postgres://`` / ``postgresql://`` spellings operators paste and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@cache
def get_settings() -> Settings:
    return Settings()


def ensure_data_dir(settings: Settings) -> None:
    """Create the data folder, its uploads folder and a 0600 secret key file if missing."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.uploads_dir.mkdir(exist_ok=True)
    if settings.secret_key is None and not settings.key_file.exists():
        if (settings.data_dir / "shangliao.db").exists():
            # A new key would silently make every stored phone and address unreadable.
            raise RuntimeError(
                f"{settings.key_file} is missing but the database exists: restore the key file from "
                "your backup (or set SHANGLIAO_SECRET_KEY) instead of generating a new one."
            )
        fd = os.open(settings.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
