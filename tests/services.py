"""The services one test run needs, started for that run alone: ``python -m tests.services -- pytest ...``.

Why: a shared PostgreSQL is the first thing that differs between machines. Stock Debian and Ubuntu ask
for a password (peer/scram) where this project's first machine trusted everyone, a host may carry two
PostgreSQL versions, and two runs on one host must not drop each other's database or flush each other's
Redis. So ``./run test`` runs the tests through :func:`main`, which starts what the environment does not
name: with no ``DATABASE_URL`` a throw-away PostgreSQL cluster (initialised in a temporary folder,
scram-sha-256 with a random password, a free loopback port, its socket in that folder), with no
``CACHE_URL`` a private ``redis-server`` on a free port with no persistence, and with no ``VAR_DIR`` a
temporary folder. Everything is stopped and removed when the tests end, fail or are interrupted. A
service that cannot start stops the run with a message naming it, before any test runs.

pytest-postgresql (PyPI) starts clusters the same way and was the model, but is not used: it runs
``initdb`` as the current user, which PostgreSQL refuses for root (how CI containers and this project's
machines run), and its cluster is a pytest fixture, while Django's settings need ``DATABASE_URL`` before
pytest-django creates the test database.

Names within a shared service are unique per run too (``MUSEUM_TEST_RUN``, read by tests/settings.py):
the test database, the cache's key prefix and the broker's key prefix.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

START_TIMEOUT_S = 60.0
DATABASE = "museum"
SUPERUSER = "museum"


class ServiceError(RuntimeError):
    """A service the tests need could not be started; the message names it and says why."""


def ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def cannot_run(reason: str) -> NoReturn:
    """Skips a test whose tool is missing, except on CI, where a skip would hide a test that never ran."""
    import pytest

    if ci():
        pytest.fail(f"{reason} (CI=true: a test that cannot run fails the run)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def delete_keys(client: object, prefix: str) -> int:
    """Deletes this run's keys only: FLUSHDB would empty the database for every other run sharing it."""
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}*", count=1000):  # type: ignore[attr-defined]
        batch.append(key)
        if len(batch) >= 500:
            deleted += client.delete(*batch)  # type: ignore[attr-defined]
            batch = []
    if batch:
        deleted += client.delete(*batch)  # type: ignore[attr-defined]
    return deleted


# --- PostgreSQL ----------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """``pg_config --bindir`` if it holds a server, else the newest /usr/lib/postgresql/N/bin, else PATH.

    Debian's ``pg_config`` belongs to libpq and may name a version whose server is not installed, so the
    versioned folders are searched next, newest first.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out:
            candidates.append(Path(out))
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.split(".")[0].isdigit()]
    candidates += sorted(versions, key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)], reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    raise ServiceError(
        "PostgreSQL did not start: no initdb/postgres found (looked in `pg_config --bindir`, "
        "/usr/lib/postgresql/*/bin and PATH). Install it (apt-get install postgresql) or set DATABASE_URL."
    )


def _cluster_owner() -> pwd.struct_passwd | None:
    """The user the cluster runs as: initdb refuses root, so root hands it to ``postgres`` (or ``nobody``)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ServiceError("PostgreSQL did not start: running as root and neither a `postgres` nor a `nobody` user exists")


def _locale() -> str:
    """C.UTF-8 where it exists (Unicode upper/lower for icontains); plain C otherwise."""
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout.lower().split()
    except OSError:  # no `locale` program: a minimal image
        return "C"
    return "C.UTF-8" if {"c.utf8", "c.utf-8"} & set(out) else "C"


@dataclass(frozen=True)
class Postgres:
    url: str
    port: int
    password: str
    folder: Path
    version: str

    def admin_url(self) -> str:
        return self.url.rsplit("/", 1)[0] + "/postgres"


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:].strip()
    except OSError:
        return ""


@contextlib.contextmanager
def postgres_cluster(*, password: str | None = None, database: str = DATABASE) -> Iterator[Postgres]:
    """A fresh cluster in a temporary folder: scram-sha-256 only (no trust entry), TCP on 127.0.0.1.

    Durability is switched off (fsync, full-page writes): the cluster lives for one run.
    """
    import psycopg

    bindir = postgres_bindir()
    owner = _cluster_owner()
    password = password or secrets.token_urlsafe(18)
    as_owner: dict[str, object] = {}
    if owner is not None:
        as_owner = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    folder = Path(tempfile.mkdtemp(prefix="museum-test-pg-"))
    proc: subprocess.Popen | None = None
    try:
        pwfile = folder / "pwfile"
        pwfile.write_text(password + "\n")
        if owner is not None:
            for path in (folder, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        data = folder / "data"
        initdb = [
            str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=scram-sha-256",
            f"--pwfile={pwfile}", "-E", "UTF8", f"--locale={_locale()}", "--no-sync",
        ]  # fmt: skip
        done = subprocess.run(initdb, capture_output=True, text=True, cwd=folder, check=False, **as_owner)  # type: ignore[call-overload]
        if done.returncode != 0:
            raise ServiceError(
                f"PostgreSQL did not start: {bindir / 'initdb'} exited {done.returncode}:\n"
                f"{(done.stderr or done.stdout)[-2000:].strip()}"
            )
        pwfile.unlink()
        version = (data / "PG_VERSION").read_text().strip()
        log = folder / "postgres.log"
        for _attempt in range(3):  # another process may take the free port before the server binds it
            port = free_port()
            server = [
                str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(folder),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
            ]  # fmt: skip
            with open(log, "ab") as out:
                proc = subprocess.Popen(  # type: ignore[call-overload]
                    server, stdout=out, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True, **as_owner
                )
            url = f"postgres://{SUPERUSER}:{password}@127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT_S
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with psycopg.connect(f"{url}/postgres", autocommit=True, connect_timeout=2) as conn:
                        conn.execute(f'CREATE DATABASE "{database}"')
                    break
                except psycopg.OperationalError:
                    time.sleep(0.1)
            else:
                if proc.poll() is None:
                    raise ServiceError(
                        f"PostgreSQL {version} did not start: no answer on 127.0.0.1:{port} within "
                        f"{START_TIMEOUT_S:.0f} s. Its log:\n{_tail(log)}"
                    )
                if "could not bind" in _tail(log) or "already in use" in _tail(log):
                    continue
                raise ServiceError(
                    f"PostgreSQL {version} did not start: {bindir / 'postgres'} exited {proc.returncode}. "
                    f"Its log:\n{_tail(log)}"
                )
            yield Postgres(url=f"{url}/{database}", port=port, password=password, folder=folder, version=version)
            return
        raise ServiceError(f"PostgreSQL {version} did not start: three free ports were taken. Its log:\n{_tail(log)}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown: ends sessions, no checkpoint wait worth having
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


# --- Redis ---------------------------------------------------------------------------------------


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server on a free loopback port, no RDB or AOF; yields its URL (database 0)."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise ServiceError(
            "Redis did not start: redis-server is not installed (apt-get install redis-server) and CACHE_URL is not set"
        )
    folder = Path(tempfile.mkdtemp(prefix="museum-test-redis-"))
    proc: subprocess.Popen | None = None
    log = folder / "redis.log"
    try:
        for _attempt in range(3):
            port = free_port()
            cmd = [
                exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(folder), "--logfile", str(log), "--daemonize", "no",
            ]  # fmt: skip
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + START_TIMEOUT_S
            while proc.poll() is None and time.monotonic() < deadline and not _redis_ping(port):
                time.sleep(0.05)
            if proc.poll() is None and _redis_ping(port):
                yield f"redis://127.0.0.1:{port}/0"
                return
            if proc.poll() is None:
                raise ServiceError(
                    f"Redis did not start: no PONG on 127.0.0.1:{port} within {START_TIMEOUT_S:.0f} s. Its log:\n{_tail(log)}"
                )
            if "Address already in use" not in _tail(log):
                raise ServiceError(f"Redis did not start: {exe} exited {proc.returncode}. Its log:\n{_tail(log)}")
        raise ServiceError(f"Redis did not start: three free ports were taken. Its log:\n{_tail(log)}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


# --- The command -----------------------------------------------------------------------------------


def _say(message: str) -> None:
    print(f"test services: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def run_environment(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """``env`` plus whatever it lacks, started for this run; everything started is gone on exit."""
    env = dict(env)
    with contextlib.ExitStack() as stack:
        env.setdefault("MUSEUM_TEST_RUN", secrets.token_hex(4))
        if not env.get("DATABASE_URL"):
            pg = stack.enter_context(postgres_cluster())
            env["DATABASE_URL"] = pg.url
            _say(f"PostgreSQL {pg.version} on 127.0.0.1:{pg.port} (scram-sha-256), data in {pg.folder}")
        if not env.get("CACHE_URL"):
            env["CACHE_URL"] = stack.enter_context(redis_server())
            _say(f"redis-server at {env['CACHE_URL']}")
        if not env.get("VAR_DIR"):
            var = stack.enter_context(tempfile.TemporaryDirectory(prefix="museum-test-var-"))
            env["VAR_DIR"] = var
        yield env


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m tests.services -- COMMAND [ARG ...]", file=sys.stderr)
        return 2

    def interrupted(signum: int, _frame: object) -> NoReturn:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)  # so start-up cleans up behind itself (``finally``) when stopped
    try:
        with run_environment(dict(os.environ)) as env:
            child: subprocess.Popen | None = None
            pending: list[int] = []

            def forward(signum: int, _frame: object) -> None:
                # Ctrl-C reaches a running child from the terminal already (same process group): a second
                # SIGINT would cut pytest's own teardown short. SIGTERM and SIGHUP come to this process alone.
                if child is None:
                    pending.append(signum)  # arrived while the child was being started
                elif signum != signal.SIGINT:
                    child.send_signal(signum)

            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, forward)
            try:
                child = subprocess.Popen(argv, env=env)
                for signum in pending:
                    child.send_signal(signum)
                returncode = child.wait()
                return 128 - returncode if returncode < 0 else returncode  # killed by a signal: as a shell says
            finally:
                if child is not None and child.poll() is None:
                    child.kill()
                    child.wait()
    except ServiceError as exc:
        _say(str(exc))
        return 3
    except KeyboardInterrupt:
        _say("interrupted; services stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
