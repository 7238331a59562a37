"""ops/settings.py: every variable parsed and checked at once; the only reader of os.environ."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from engine.access import crypto
from ops.settings import VARIABLES, Settings, SettingsError
from tests.packaging.test_dependencies import shipped_modules

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "ops" / "settings.py"


def test_unset_variables_mean_the_documented_defaults() -> None:
    settings = Settings.from_environ({})
    assert settings == Settings()
    assert settings.database_url == "sqlite:///instance/careloop.db"
    assert (settings.sweep_seconds, settings.campaign_seconds, settings.monitor_seconds) == (
        5.0,
        60.0,
        60.0,
    )
    assert (settings.tier_seconds, settings.rollup_seconds) == (3600.0, 3600.0)
    assert settings.in_process_scheduler and not settings.insecure_dev
    assert not settings.insecure_cookies and settings.secret_key is None
    assert (settings.smtp_url, settings.webhook_url, settings.metrics_port) == (None, None, 0)
    assert (settings.metrics_addr, settings.log_format, settings.log_level) == (
        "127.0.0.1",
        "json",
        "INFO",
    )


def test_every_field_has_its_variable() -> None:
    assert {field for _, field, _ in VARIABLES} == {f.name for f in dataclasses.fields(Settings)}


def test_values_are_parsed_as_they_always_were() -> None:
    key = crypto.new_key()
    settings = Settings.from_environ(
        {
            "CARELOOP_SWEEP_SECONDS": "0.5",
            "CARELOOP_IN_PROCESS_SCHEDULER": "no",
            "CARELOOP_INSECURE_DEV": "1",
            "CARELOOP_LOG_FORMAT": "TEXT",
            "CARELOOP_LOG_LEVEL": "debug",
            "CARELOOP_METRICS_PORT": "",
            "CARELOOP_DATA_KEY": f" {key}, {crypto.new_key()} ",
            "CARELOOP_SMTP_URL": "",
            "CARELOOP_SECRET_KEY": "",
            "PROMETHEUS_MULTIPROC_DIR": "",
        }
    )
    assert settings.sweep_seconds == 0.5 and not settings.in_process_scheduler
    assert settings.insecure_dev and (settings.log_format, settings.log_level) == ("text", "DEBUG")
    assert settings.metrics_port == 0 and settings.data_key.startswith(key)
    assert settings.smtp_url is settings.secret_key is settings.prometheus_multiproc_dir is None


def test_every_problem_is_reported_on_its_own_line_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ(
            {
                "CARELOOP_SWEEP_SECONDS": "abc",
                "CARELOOP_TIER_SECONDS": "-1",
                "CARELOOP_METRICS_PORT": "http",
                "CARELOOP_LOG_LEVEL": "loud",
                "CARELOOP_LOG_FORMAT": "xml",
                "CARELOOP_DATA_KEY": "not-a-key",
                "CARELOOP_SMTP_URL": "mail.example.com",
                "CARELOOP_WEBHOOK_URL": "ftp://hooks.example.com",
                "CARELOOP_DATABASE_URL": "nonsense",
            }
        )
    problems = raised.value.problems
    assert "CARELOOP_SWEEP_SECONDS: 'abc' is not a number of seconds" in problems
    assert [line.split(":")[0] for line in problems] == [
        "CARELOOP_DATABASE_URL",
        "CARELOOP_DATA_KEY",
        "CARELOOP_SWEEP_SECONDS",
        "CARELOOP_TIER_SECONDS",
        "CARELOOP_SMTP_URL",
        "CARELOOP_WEBHOOK_URL",
        "CARELOOP_METRICS_PORT",
        "CARELOOP_LOG_FORMAT",
        "CARELOOP_LOG_LEVEL",
    ]
    message = str(raised.value)
    assert all(f"  {line}" in message.splitlines() for line in problems)
    assert "not-a-key" not in message  # secrets are never echoed


def test_test_settings_use_the_development_keys_and_take_overrides() -> None:
    settings = Settings.for_tests(sweep_seconds=1.0)
    assert settings.insecure_dev and settings.insecure_cookies and settings.sweep_seconds == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.sweep_seconds = 2.0  # type: ignore[misc]


def reads_the_environment(path: Path) -> bool:
    """`os.environ` or `os.getenv` anywhere in the module, however os was imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in ("environ", "getenv") for alias in node.names):
                return True
    return False


def test_no_product_module_but_the_settings_reads_the_environment() -> None:
    paths = [*shipped_modules(), ROOT / "gunicorn.conf.py"]  # the wheel's, and gunicorn's
    assert SETTINGS in paths and ROOT / "wsgi.py" in paths
    readers = [
        str(path.relative_to(ROOT))
        for path in paths
        if path != SETTINGS and reads_the_environment(path)
    ]
    assert readers == [], "read the environment in ops/settings.py, then pass the settings on"
    assert reads_the_environment(SETTINGS)


def test_gunicorns_bind_and_workers_are_settings_too() -> None:
    settings = Settings.from_environ({"CARELOOP_BIND": "0.0.0.0:9000", "WEB_CONCURRENCY": "4"})
    assert (settings.bind, settings.web_concurrency) == ("0.0.0.0:9000", 4)
    with pytest.raises(SettingsError, match="WEB_CONCURRENCY: 'many' is not a number of workers"):
        Settings.from_environ({"WEB_CONCURRENCY": "many"})


def test_gateways_are_channel_url_pairs_with_one_secret_for_both_ways() -> None:
    """Issue #20, part 3: SMS and WeChat gateways; a URL's password is never echoed."""
    settings = Settings.from_environ(
        {
            "CARELOOP_GATEWAYS": " sms=https://gw.example/sms  wechat=http://u:pw@10.0.0.2/wx ",
            "CARELOOP_GATEWAY_SECRET": "s3cret",
            "CARELOOP_OUTBOUND_ALLOW": "10.0.0.2",  # a private address, allowed by name
        }
    )
    assert settings.gateways == (
        ("sms", "https://gw.example/sms"),
        ("wechat", "http://u:pw@10.0.0.2/wx"),
    )
    assert settings.gateway_secret == "s3cret"
    for raw, problem in [
        ("sms=https://a/sms", "CARELOOP_GATEWAY_SECRET: required with CARELOOP_GATEWAYS"),
        ("SMS=https://a/sms", "CARELOOP_GATEWAYS: 'SMS' is not a channel id"),
        ("email=https://a/x", "CARELOOP_GATEWAYS: email has its own sender"),
        ("sms=ftp://u:pw@a/x", "CARELOOP_GATEWAYS: the URL of sms is not an http"),
        ("sms=https://a/1 sms=https://a/2", "CARELOOP_GATEWAYS: sms is given two gateways"),
    ]:
        with pytest.raises(SettingsError) as raised:
            Settings.from_environ({"CARELOOP_GATEWAYS": raw})
        (line,) = raised.value.problems
        assert line.startswith(problem) and "pw" not in line


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        (
            {"CARELOOP_WEBHOOK_URL": "http://169.254.169.254/latest/meta-data"},
            "CARELOOP_WEBHOOK_URL: the URL points at a cloud metadata address; if that is meant, "
            "allow its host in CARELOOP_OUTBOUND_ALLOW",
        ),
        (
            {"CARELOOP_WEBHOOK_URL": "http://localhost:6379/"},
            "CARELOOP_WEBHOOK_URL: the URL points at a loopback address; if that is meant, "
            "allow its host in CARELOOP_OUTBOUND_ALLOW",
        ),
        (
            {
                "CARELOOP_GATEWAYS": "sms=https://gw.example/sms wechat=http://u:pw@10.1.2.3/wx",
                "CARELOOP_GATEWAY_SECRET": "s3cret",
            },
            "CARELOOP_GATEWAYS: the URL of wechat points at a private or reserved address; if "
            "that is meant, allow its host in CARELOOP_OUTBOUND_ALLOW",
        ),
        (
            {"CARELOOP_WEBHOOK_URL": "https://hooks.example.com:99999/"},
            "CARELOOP_WEBHOOK_URL: the URL has an invalid port",
        ),
    ],
)
def test_outbound_urls_are_checked_against_the_policy_when_read(
    environ: dict[str, str], line: str
) -> None:
    """Issue #22: a webhook or gateway the outbound policy refuses is one line at start, not a
    failed message at the first delivery; the URL (it may hold a password) is never echoed."""
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ(environ)
    assert raised.value.problems == [line]
    assert "pw" not in str(raised.value) and "169.254.169.254" not in str(raised.value)


def test_an_allowed_host_or_a_public_name_loads_without_resolving_it() -> None:
    settings = Settings.from_environ(
        {
            "CARELOOP_WEBHOOK_URL": "http://localhost:8080/hook",
            "CARELOOP_GATEWAYS": "sms=http://10.1.2.3/sms wechat=https://gw.invalid/wx",
            "CARELOOP_GATEWAY_SECRET": "s3cret",
            "CARELOOP_OUTBOUND_ALLOW": "localhost 10.1.2.3",
        }
    )
    assert settings.webhook_url == "http://localhost:8080/hook" and len(settings.gateways) == 2


@pytest.mark.parametrize("raw", ["0", "17", "two", "-1"])
def test_sweeper_threads_are_a_small_positive_count(raw: str) -> None:
    """CARELOOP_SWEEPERS (issue #24): unset is the default (0: two on PostgreSQL); anything
    but 1-16 stops the start with what is wrong."""
    assert Settings.from_environ({}).sweepers == 0
    assert Settings.from_environ({"CARELOOP_SWEEPERS": "1"}).sweepers == 1
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ({"CARELOOP_SWEEPERS": raw})
    assert raised.value.problems == [
        f"CARELOOP_SWEEPERS: {raw!r} is not a number of sweeper threads"
        + (" (1 to 16)" if raw in ("0", "17") else "")
    ]
