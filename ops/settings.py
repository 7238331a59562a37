"""Careloop's configuration: every CARELOOP_* variable, typed, read and checked once at start.

The composition roots (`webapp.create_app`, the `careloop` command and with it the scheduler,
and gunicorn's config file)
call `load()` once and hand the resulting `Settings` on; nothing else in the product reads
the environment (tests/unit/test_settings.py holds everyone to that). The engine never sees
it: its keys for personal data are injected with `configure_engine_keys()`.

Lives in ops/ because how a deployment is configured is an operations concern, beside its
logs and metrics, and every root already imports ops/. gunicorn.conf.py takes its bind
address, workers, log level and Prometheus folder from here too, so a bad value stops
gunicorn before it forks a worker, with the same list of problems.

`create_app()` still runs Flask's `from_prefixed_env("CARELOOP")` after these settings, for
Flask's own keys (`CARELOOP_MAX_CONTENT_LENGTH`, …; docs/deploy.md): those are Flask's
to parse, not listed here.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import math
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ops.outboundurls import outbound_problems

DEFAULT_DATABASE_URL = "sqlite:///instance/careloop.db"
LOG_FORMATS = ("json", "text")
MAX_SWEEPERS = 16  # a scheduler's sweeper threads: each holds a database connection
OFF = ("0", "false", "no")
OUTBOX_OWN = ("email", "webhook", "hook")  # the outbox channels with senders of their own
CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,15}$")  # as long as an outbox row's channel may be


class SettingsError(ValueError):
    """One or more variables do not parse; `problems` holds one line for each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "Careloop's configuration is not valid; fix these environment variables:\n"
            + "\n".join(f"  {line}" for line in problems)
        )


@dataclass(frozen=True)
class Settings:
    """One field per variable; the defaults are what an unset variable means."""

    database_url: str = DEFAULT_DATABASE_URL  # CARELOOP_DATABASE_URL
    secret_key: str | None = None  # CARELOOP_SECRET_KEY (else instance/secret_key)
    insecure_cookies: bool = False  # CARELOOP_INSECURE_COOKIES=1
    insecure_dev: bool = False  # CARELOOP_INSECURE_DEV=1: public development keys
    data_key: str = ""  # CARELOOP_DATA_KEY: Fernet keys, comma-separated, first encrypts
    lookup_key: str = ""  # CARELOOP_LOOKUP_KEY
    in_process_scheduler: bool = True  # CARELOOP_IN_PROCESS_SCHEDULER
    sweep_seconds: float = 5.0  # CARELOOP_SWEEP_SECONDS
    sweepers: int = 0  # CARELOOP_SWEEPERS: sweeper threads on PostgreSQL, 0: 2 (docs/deploy.md)
    campaign_seconds: float = 60.0  # CARELOOP_CAMPAIGN_SECONDS
    tier_seconds: float = 3600.0  # CARELOOP_TIER_SECONDS
    rollup_seconds: float = 3600.0  # CARELOOP_ROLLUP_SECONDS
    monitor_seconds: float = 60.0  # CARELOOP_MONITOR_SECONDS
    smtp_url: str | None = None  # CARELOOP_SMTP_URL
    mailboxes: str = ""  # CARELOOP_MAILBOXES: imap(s):// URLs the scheduler polls (issue #20)
    mail_seconds: float = 60.0  # CARELOOP_MAIL_SECONDS
    webhook_url: str | None = None  # CARELOOP_WEBHOOK_URL
    # CARELOOP_REDIS_URL: the public pages' rate limits counted in Redis, not the database
    redis_url: str | None = None
    # CARELOOP_TRUSTED_PROXIES: reverse proxies in front that append to X-Forwarded-For; the
    # public pages' rate limits count the address the outermost of them saw (issue #23)
    trusted_proxies: int = 0
    # Where customers open Careloop's public pages (the survey links in their messages).
    public_url: str = "http://127.0.0.1:5000"  # CARELOOP_PUBLIC_URL
    webhook_secret: str = ""  # CARELOOP_WEBHOOK_SECRET
    # CARELOOP_GATEWAYS: "sms=https://gw/sms wechat=https://gw/wx", SMS/WeChat/chat (issue #20)
    gateways: tuple[tuple[str, str], ...] = ()
    gateway_secret: str = ""  # CARELOOP_GATEWAY_SECRET: signs what goes out and what comes in
    # CARELOOP_OUTBOUND_ALLOW: hosts (by the name in the URL) webhooks and gateways may reach
    # though they are loopback or private (engine/delivery/outbound.py); none by default
    outbound_allow: tuple[str, ...] = ()
    metrics_token: str = ""  # CARELOOP_METRICS_TOKEN
    metrics_port: int = 0  # CARELOOP_METRICS_PORT (0: a scheduler serves no /metrics)
    metrics_addr: str = "127.0.0.1"  # CARELOOP_METRICS_ADDR
    prometheus_multiproc_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR
    log_format: str = "json"  # CARELOOP_LOG_FORMAT: json or text
    log_level: str = "INFO"  # CARELOOP_LOG_LEVEL
    bind: str = "127.0.0.1:8000"  # CARELOOP_BIND: where gunicorn listens (gunicorn.conf.py)
    web_concurrency: int = 2  # WEB_CONCURRENCY: gunicorn's workers (gunicorn.conf.py)
    files_dir: str = "instance/files"  # CARELOOP_FILES_DIR: attached files (docs/files.md)
    files_max_bytes: int = 10 * 1024 * 1024  # CARELOOP_FILES_MAX_BYTES: one file's limit

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Parse every variable; raise one SettingsError listing every problem at once."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for variable, field, parse in VARIABLES:
            raw = environ.get(variable)
            if raw is None:
                continue
            try:
                values[field] = parse(raw)
            except ValueError as exc:
                problems.append(f"{variable}: {exc}")
            except _Unset:
                continue
        if values.get("gateways") and not values.get("gateway_secret"):
            problems.append("CARELOOP_GATEWAY_SECRET: required with CARELOOP_GATEWAYS")
        problems.extend(outbound_problems(values))
        if problems:
            raise SettingsError(problems)
        return cls(**values)

    @classmethod
    def for_tests(cls, **overrides: Any) -> Settings:
        """Development keys, plain-http cookies and an in-memory database, then `overrides`."""
        base = cls(database_url="sqlite://", insecure_dev=True, insecure_cookies=True)
        return dataclasses.replace(base, **overrides)


def load() -> Settings:
    """The process's settings: the one place the product reads `os.environ`."""
    return Settings.from_environ(os.environ)


def configure_engine_keys(settings: Settings) -> None:
    """Hand the keys for personal data, and the folder its files are kept in, to the engine,
    which never reads the environment."""
    from engine.access import crypto
    from engine.files import blobs

    crypto.configure(settings.data_key, settings.lookup_key, insecure_dev=settings.insecure_dev)
    blobs.configure(settings.files_dir, settings.files_max_bytes)


class _Unset(Exception):
    """An empty value that means the same as an unset variable (as it always has)."""


def _text(raw: str) -> str:
    return raw


def _flag_one(raw: str) -> bool:
    return raw == "1"


def _on_unless_off(raw: str) -> bool:
    return raw.lower() not in OFF


def _stripped(raw: str) -> str:
    return raw.strip()


def _or_unset(raw: str) -> str:
    if not raw:
        raise _Unset
    return raw


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{raw!r} is not a number of seconds above 0")
    return value


def _database_url(raw: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(raw)
    except ArgumentError:
        # Never echo it: the URL may hold a password.
        raise ValueError(
            "not a database URL (e.g. sqlite:///instance/careloop.db or "
            "postgresql+psycopg://user@host/db)"
        ) from None
    return raw


def _secret_key(raw: str) -> str:
    return _or_unset(raw)


def _data_key(raw: str) -> str:
    value = raw.strip()
    if not value:
        return value
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ValueError("holds no key, only commas")
    for number, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            # Never echo it: it is a secret.
            raise ValueError(
                f"key {number} of {len(keys)} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; `careloop keys new` prints one)"
            )
    return value


def _smtp_url(raw: str) -> str:
    _or_unset(raw)
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        # Never echo it: the URL may hold a password.
        raise ValueError("should look like smtp://user:pass@host:587?from=desk@example.com")
    return raw


def _redis_url(raw: str) -> str:
    _or_unset(raw)
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ValueError("should look like redis://127.0.0.1:6379/0")  # never echoed: a password
    return raw


def _mailboxes(raw: str) -> str:
    from schedules.mailsources import mail_sources

    mail_sources(raw)  # each URL checked; the message never repeats a password
    return raw.strip()


def _webhook_url(raw: str) -> str:
    _or_unset(raw)
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{raw!r} is not an http:// or https:// URL")
    return raw


def _public_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(
            f"{raw!r} is not an http:// or https:// address such as https://desk.example.com"
        )
    return raw.strip().rstrip("/")


def _host_list(raw: str) -> tuple[str, ...]:
    """Host names or addresses separated by commas or spaces, as written in the URLs."""
    hosts = tuple(h.strip().lower() for h in raw.replace(",", " ").split() if h.strip())
    for host in hosts:
        if "/" in host or "@" in host:
            raise ValueError(f"'{host}' is not a host name; give hosts such as hooks.internal")
    return hosts


def _gateways(raw: str) -> tuple[tuple[str, str], ...]:
    """`channel=url` pairs separated by spaces, one gateway per channel."""
    pairs: dict[str, str] = {}
    for entry in raw.split():
        channel, _, url = entry.partition("=")
        if channel in OUTBOX_OWN:
            raise ValueError(f"{channel} has its own sender; name a gateway channel (sms, wechat)")
        if not CHANNEL.match(channel):
            raise ValueError(f"{channel!r} is not a channel id (write sms=https://gw.example/sms)")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Never echo it: the URL may hold a password.
            raise ValueError(f"the URL of {channel} is not an http:// or https:// URL")
        if channel in pairs:
            raise ValueError(f"{channel} is given two gateways")
        pairs[channel] = url
    return tuple(pairs.items())


def _sweepers(raw: str) -> int:
    if not raw.strip().isdigit():
        raise ValueError(f"{raw!r} is not a number of sweeper threads")
    if not 1 <= (value := int(raw)) <= MAX_SWEEPERS:
        raise ValueError(f"{raw!r} is not a number of sweeper threads (1 to {MAX_SWEEPERS})")
    return value


def _port(raw: str) -> int:
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise ValueError(f"{raw!r} is not a port number (0 to 65535)")
    return value


def _log_format(raw: str) -> str:
    value = raw.lower()
    if value not in LOG_FORMATS:
        raise ValueError(f"{raw!r} is not one of {', '.join(LOG_FORMATS)}")
    return value


def _log_level(raw: str) -> str:
    value = raw.upper()
    if value not in logging.getLevelNamesMapping():
        raise ValueError(f"{raw!r} is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    return value


def _proxies(raw: str) -> int:
    if not raw.strip().isdigit() or int(raw) > 5:
        raise ValueError(f"{raw!r} is not a number of proxies (0 to 5)")
    return int(raw)


def _workers(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number of workers") from None
    if not 1 <= value <= 64:
        raise ValueError(f"{raw!r} is not a number of workers (1 to 64)")
    return value


def _bytes(raw: str) -> int:
    """A size in bytes, or with a unit: 10485760, 10M, 512K (KiB, MiB, GiB)."""
    text = raw.strip().upper().removesuffix("B").removesuffix("I")
    unit = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
    digits = text[:-1] if unit > 1 else text
    if not digits.isdigit() or int(digits) * unit < 1:
        raise ValueError(f"{raw!r} is not a size in bytes (e.g. 10485760 or 10M)")
    return int(digits) * unit


# (variable, field, parser): the parser raises ValueError with what is wrong, never the secret.
VARIABLES: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("CARELOOP_DATABASE_URL", "database_url", _database_url),
    ("CARELOOP_SECRET_KEY", "secret_key", _secret_key),
    ("CARELOOP_INSECURE_COOKIES", "insecure_cookies", _flag_one),
    ("CARELOOP_INSECURE_DEV", "insecure_dev", _flag_one),
    ("CARELOOP_DATA_KEY", "data_key", _data_key),
    ("CARELOOP_LOOKUP_KEY", "lookup_key", _stripped),
    ("CARELOOP_IN_PROCESS_SCHEDULER", "in_process_scheduler", _on_unless_off),
    ("CARELOOP_SWEEP_SECONDS", "sweep_seconds", _seconds),
    ("CARELOOP_SWEEPERS", "sweepers", _sweepers),
    ("CARELOOP_CAMPAIGN_SECONDS", "campaign_seconds", _seconds),
    ("CARELOOP_TIER_SECONDS", "tier_seconds", _seconds),
    ("CARELOOP_ROLLUP_SECONDS", "rollup_seconds", _seconds),
    ("CARELOOP_MONITOR_SECONDS", "monitor_seconds", _seconds),
    ("CARELOOP_SMTP_URL", "smtp_url", _smtp_url),
    ("CARELOOP_MAILBOXES", "mailboxes", _mailboxes),
    ("CARELOOP_MAIL_SECONDS", "mail_seconds", _seconds),
    ("CARELOOP_WEBHOOK_URL", "webhook_url", _webhook_url),
    ("CARELOOP_WEBHOOK_SECRET", "webhook_secret", _text),
    ("CARELOOP_REDIS_URL", "redis_url", _redis_url),
    ("CARELOOP_TRUSTED_PROXIES", "trusted_proxies", _proxies),
    ("CARELOOP_PUBLIC_URL", "public_url", _public_url),
    ("CARELOOP_GATEWAYS", "gateways", _gateways),
    ("CARELOOP_GATEWAY_SECRET", "gateway_secret", _text),
    ("CARELOOP_OUTBOUND_ALLOW", "outbound_allow", _host_list),
    ("CARELOOP_METRICS_TOKEN", "metrics_token", _text),
    ("CARELOOP_METRICS_PORT", "metrics_port", _port),
    ("CARELOOP_METRICS_ADDR", "metrics_addr", _text),
    ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", _or_unset),
    ("CARELOOP_LOG_FORMAT", "log_format", _log_format),
    ("CARELOOP_LOG_LEVEL", "log_level", _log_level),
    ("CARELOOP_BIND", "bind", _or_unset),
    ("WEB_CONCURRENCY", "web_concurrency", _workers),
    ("CARELOOP_FILES_DIR", "files_dir", _or_unset),
    ("CARELOOP_FILES_MAX_BYTES", "files_max_bytes", _bytes),
)


def instance_secret(instance: Path) -> str:
    """The secret generated once and kept in the instance folder, for want of
    CARELOOP_SECRET_KEY: the web app signs sessions with it, and the web app and the scheduler
    sign the customers' survey links with it, so both must read the same file."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()
