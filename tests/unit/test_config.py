"""acx.config: defaults, parsing, and one-line errors naming the offending variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from acx.config import ConfigError, Settings, load_settings


def test_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.port == 8029
    assert settings.data_dir == Path(".data")
    assert settings.root_api_key == "sk-ac-your-root-api-bearer-token"
    assert settings.base_url == "http://localhost:8029"


def test_values_are_parsed() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "ROOT_API_BEARER_TOKEN": "secret-token",
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "DB_POOL_MIN": "1",
            "DB_POOL_MAX": "4",
            "DB_POOL_TIMEOUT": "2.5",
            "LOG_FORMAT": "json",
            "MAX_BODY_BYTES": "2048",
        }
    )
    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/test"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.root_api_key == "sk-ac-secret-token"
    assert settings.port == 9000
    assert (settings.db_pool_min, settings.db_pool_max, settings.db_pool_timeout) == (1, 4, 2.5)
    assert settings.max_body_bytes == 2048
    assert settings.base_url == "http://localhost:9000"  # wildcard binds are reached via localhost


def test_data_dir_is_parsed() -> None:
    assert load_settings({"DATA_DIR": "/var/lib/acx"}).data_dir == Path("/var/lib/acx")


def test_empty_values_count_as_unset() -> None:
    assert load_settings({"DATABASE_URL": "", "REDIS_URL": "  ", "PORT": ""}) == Settings()


def test_external_url_wins_for_base_url() -> None:
    assert load_settings({"EXTERNAL_URL": "https://acx.example.com/"}).base_url == "https://acx.example.com"


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    assert load_settings().port == 8123


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "0"),
        ("PORT", "65536"),
        ("PORT", "http"),
        ("DATABASE_URL", "mysql://root@localhost/acx"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("ROOT_API_BEARER_TOKEN", "has space"),
        ("SECRET_PEPPER", "short"),
        ("DB_POOL_MIN", "0"),
        ("DB_POOL_MIN", "many"),
        ("DB_POOL_MAX", "1.5"),
        ("DB_POOL_TIMEOUT", "0"),
        ("DB_POOL_TIMEOUT", "soon"),
        ("LOG_FORMAT", "xml"),
        ("MAX_BODY_BYTES", "1023"),
        ("MAX_BODY_BYTES", "lots"),
    ],
)
def test_invalid_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({name: value})
    message = str(info.value)
    assert name in message
    assert "\n" not in message


def test_pool_min_above_max_is_rejected() -> None:
    with pytest.raises(ConfigError, match="DB_POOL_MIN"):
        load_settings({"DB_POOL_MIN": "8", "DB_POOL_MAX": "4"})


def test_every_field_is_read_from_its_upper_cased_name() -> None:
    """The environment map is derived from the fields: a new setting cannot be forgotten in it."""
    settings = load_settings({"WEB_WORKERS": "3", "PROMETHEUS_MULTIPROC_DIR": "/tmp/prom", "DB_POOL_MAX": "7"})
    assert (settings.web_workers, settings.prometheus_multiproc_dir, settings.db_pool_max) == (3, "/tmp/prom", 7)


@pytest.mark.parametrize(("name", "value"), [("WEB_WORKERS", "0"), ("WEB_WORKERS", "two")])
def test_bad_web_workers(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})
