"""Production settings: Django's deployment checks pass, and secrets come only from the environment."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import pytest

from tests.reliability.conftest import REPO

pytestmark = pytest.mark.slow


def documented_production_environment() -> dict[str, str]:
    """The variables of the shell block under "2. Production environment" in docs/deploy.md."""
    text = (REPO / "docs" / "deploy.md").read_text()
    section = text.split("## 2. Production environment", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    env = {}
    for line in block.splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(\S*)", line)
        if match:
            env[match.group(1)] = match.group(2)
    return env


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """A fresh process with only these variables, as a container gets them (no DJANGO_DEBUG, no test settings)."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production(tmp_path, **changes: str) -> dict[str, str]:
    env = documented_production_environment()
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/museum",  # the checks below do not connect
        VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


def test_the_documented_production_environment_sets_the_security_switches():
    env = documented_production_environment()
    assert env["DJANGO_DEBUG"] == "false"
    assert env["DJANGO_HTTPS"] == "true"
    assert int(env["DJANGO_HSTS_SECONDS"]) > 0
    assert env["DJANGO_SECRET_KEY"].startswith("<")  # a placeholder, never a real key in the docs


def test_manage_py_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    result = run_manage(production(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "warning"),
    [
        pytest.param("DJANGO_HTTPS", "false", "security.W008", id="no-https-redirect"),
        pytest.param("DJANGO_HSTS_SECONDS", "0", "security.W004", id="no-hsts"),
        pytest.param("DJANGO_SECRET_KEY", "short-and-weak", "security.W009", id="weak-secret-key"),
        pytest.param("DJANGO_DEBUG", "true", "security.W018", id="debug-on"),
    ],
)
def test_check_deploy_fails_when_a_security_setting_is_dropped(tmp_path, variable, value, warning):
    result = run_manage(production(tmp_path, **{variable: value}), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


def test_without_a_secret_key_in_the_environment_production_refuses_to_start(tmp_path):
    env = production(tmp_path)
    del env["DJANGO_SECRET_KEY"]

    result = run_manage(env, "check")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_no_secret_is_written_in_the_settings_source():
    """Keys, passwords and credentials are read from the environment; the only literal key is the refused-in-production dev key."""
    source = (REPO / "config" / "settings.py").read_text()
    assert re.findall(r"^SECRET_KEY\s*=\s*(.+)$", source, re.MULTILINE) == ['env_str("DJANGO_SECRET_KEY")']
    for name in ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "DATABASE_URL", "CELERY_BROKER_URL"):
        assert f'env_str("{name}"' in source
    assert not re.search(r"(?i)(password|secret_access_key)\s*=\s*['\"][^'\"]+['\"]", source)


def test_the_documented_production_environment_counts_the_proxy_it_sits_behind():
    """Behind a proxy the client's address is in X-Forwarded-For; with 0 trusted proxies everyone shares the proxy's."""
    env = documented_production_environment()
    assert env["DJANGO_BEHIND_PROXY"] == "true"
    assert int(env["DJANGO_NUM_PROXIES"]) >= 1


def test_behind_a_proxy_with_no_trusted_proxy_the_platform_refuses_to_start(tmp_path):
    result = run_manage(production(tmp_path, DJANGO_BEHIND_PROXY="true", DJANGO_NUM_PROXIES="0"), "check")

    assert result.returncode != 0
    assert "DJANGO_BEHIND_PROXY=true with DJANGO_NUM_PROXIES=0" in result.stderr


def test_behind_a_proxy_the_trusted_proxy_count_defaults_to_one(tmp_path):
    env = production(tmp_path, DJANGO_BEHIND_PROXY="true")
    del env["DJANGO_NUM_PROXIES"]

    result = run_manage(
        env, "shell", "-c", "from django.conf import settings; print(settings.REST_FRAMEWORK['NUM_PROXIES'])"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1"


def test_a_broker_without_a_shared_cache_is_refused_at_start_up(tmp_path):
    """Search photos wait for the worker in the cache: a per-process cache would time every search out."""
    env = production(tmp_path)
    del env["CACHE_URL"]

    result = run_manage(env, "check")

    assert result.returncode != 0
    assert "CELERY_BROKER_URL is set but CACHE_URL" in result.stderr
