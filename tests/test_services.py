"""The test command on a fresh machine: its own PostgreSQL (scram-sha-256, no trust) and Redis, gone afterwards."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests import services

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import os

import pytest
from django.contrib.auth.models import User
from django.db import connection


@pytest.mark.django_db
def test_the_test_database_is_created_migrated_and_named_for_the_run():
    User.objects.create_user("probe")
    assert User.objects.count() == 1
    assert connection.settings_dict["NAME"] == "test_museum_" + os.environ["MUSEUM_TEST_RUN"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW password_encryption")
        assert cursor.fetchone()[0] == "scram-sha-256"
"""


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def _service_command(command: list[str], **env: str) -> subprocess.Popen:
    """``python -m tests.services -- COMMAND`` with no DATABASE_URL, CACHE_URL or VAR_DIR unless given."""
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "VAR_DIR", "MUSEUM_TEST_RUN")}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.services", "--", *command],
        cwd=REPO, env={**base, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _folders(stderr: str) -> list[Path]:
    return [Path(p) for p in re.findall(r"data in (\S+)", stderr)]


def test_the_clusters_the_test_command_starts_accept_only_scram_sha_256_with_their_password():
    with services.postgres_cluster() as pg:
        hba = (pg.folder / "data" / "pg_hba.conf").read_text()
        rules = [line.split() for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert rules and {rule[-1] for rule in rules} == {"scram-sha-256"}
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(pg.url.replace(pg.password, "wrong"), connect_timeout=5).close()
        with psycopg.connect(pg.url, connect_timeout=5) as conn:
            assert conn.execute("SHOW password_encryption").fetchone()[0] == "scram-sha-256"
            assert conn.execute("SELECT current_database()").fetchone()[0] == "museum"
    assert not pg.folder.exists()
    assert _refused(pg.port)


@pytest.mark.slow
def test_the_test_commands_database_set_up_passes_against_a_scram_only_cluster(tmp_path):
    """``manage.py migrate`` and pytest-django's test database creation, with the password in DATABASE_URL."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    with services.postgres_cluster(password=secrets.token_urlsafe(12)) as pg:
        env = {
            **os.environ,
            "DATABASE_URL": pg.url,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "MUSEUM_TEST_RUN": secrets.token_hex(4),
            "PYTHONPATH": str(REPO),
            "VAR_DIR": str(tmp_path / "var"),
        }
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        with psycopg.connect(pg.url, connect_timeout=5) as conn:
            assert conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 10

        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(REPO / "pytest.ini"),
             "--rootdir", str(REPO), str(probe)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert "1 passed" in run.stdout


def test_the_command_runs_with_its_own_services_and_leaves_nothing_behind_even_when_it_fails():
    script = 'psql "$DATABASE_URL" -Atc "select 1" && redis-cli -u "$CACHE_URL" ping && test -d "$VAR_DIR" && echo "$VAR_DIR $CACHE_URL" && exit 5'
    proc = _service_command(["sh", "-c", script])
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 5, err
    lines = out.split()
    assert lines[:2] == ["1", "PONG"]
    var_dir, cache_url = lines[2], lines[3]
    [folder] = _folders(err)
    assert "scram-sha-256" in err
    assert not folder.exists() and not Path(var_dir).exists()
    assert _refused(int(cache_url.rsplit(":", 1)[1].split("/")[0]))


def test_a_stopped_run_stops_and_removes_its_services():
    proc = _service_command(["sh", "-c", 'echo "$VAR_DIR"; exec sleep 60'])
    var_dir = Path(proc.stdout.readline().strip())
    assert var_dir.is_dir()

    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)

    assert proc.returncode != 0
    [folder] = _folders(err)
    assert not folder.exists() and not var_dir.exists()


def test_a_service_that_cannot_start_stops_the_run_before_any_test_naming_it(tmp_path):
    marker = tmp_path / "ran"
    path_without_redis = str(Path(sys.executable).parent)  # has python, not redis-server
    proc = _service_command(["touch", str(marker)], DATABASE_URL=os.environ["DATABASE_URL"], PATH=path_without_redis)
    _, err = proc.communicate(timeout=60)

    assert proc.returncode == 3
    assert "Redis did not start: redis-server is not installed" in err
    assert not marker.exists()


def test_two_runs_get_their_own_test_database_and_key_prefixes(settings):
    run = os.environ["MUSEUM_TEST_RUN"]
    assert settings.DATABASES["default"]["TEST"]["NAME"].endswith(f"_{run}")
    assert settings.CACHES["default"]["KEY_PREFIX"] == f"test-{run}"
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] == f"test-{run}-broker:"


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_test_that_cannot_run_fails_on_ci_and_is_skipped_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="node is not installed"):
        services.cannot_run("node is not installed")


def test_on_ci_the_js_tests_fail_the_run_without_node():
    env = {**os.environ, "CI": "true", "PATH": str(Path(sys.executable).parent)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/frontend/test_js.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-2000:]
    assert "node is not installed" in run.stdout and "CI=true" in run.stdout


def test_on_ci_the_browser_tests_fail_the_run_without_chromium():
    env = {**os.environ, "CI": "true", "CHROMIUM_PATH": "/nonexistent/chromium"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/frontend/test_csp_browser.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-2000:]
    assert "Chromium is not installed" in run.stdout and "CI=true" in run.stdout
