"""Fixtures for the reliability tests: real Celery worker processes on Redis, against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from django.conf import settings
from kombu.transport.redis import PrefixedStrictRedis

from tests.services import delete_keys

REPO = Path(__file__).resolve().parents[2]
# The run's Redis (CACHE_URL: private to the run under ./run test, or a shared one), with the broker's
# keys under the run's own prefix, so the test never reads or clears another run's (or a developer's) queues.
BROKER_URL = os.environ["CACHE_URL"]
BROKER_KEY_PREFIX = settings.BROKER_KEY_PREFIX
BROKER_OPTIONS = settings.CELERY_BROKER_TRANSPORT_OPTIONS


class Workers:
    """Starts ``celery worker`` processes (each in its own process group) and kills every one at teardown."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, *, queue: str = "default") -> subprocess.Popen:
        name = f"reliability-{uuid.uuid4().hex[:8]}@%h"
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                queue,
                "-c",
                "1",
                "-P",
                "prefork",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log_file = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def log(self, index: int = -1) -> str:
        return (self.log_dir / f"worker-{index % len(self.procs)}.log").read_text(errors="replace")

    def all_logs(self) -> str:
        return "\n".join(f"--- worker {i} ---\n{self.log(i)}" for i in range(len(self.procs)))

    @staticmethod
    def pool_children(proc: subprocess.Popen) -> list[int]:
        """Pids of the prefork pool processes (the children that run tasks)."""
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    @staticmethod
    def kill_all(proc: subprocess.Popen) -> None:
        """SIGKILL to the worker and its pool at once: what a lost machine or the OOM killer does."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill_all(proc)
            else:
                try:  # the main process may be gone while an orphaned pool child lives on
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.log_file.close()  # type: ignore[attr-defined]


@pytest.fixture
def broker() -> Iterator[PrefixedStrictRedis]:
    """The broker's keys as Celery sees them: ``broker.llen("default")`` reads this run's queue."""
    pool = redis_lib.ConnectionPool.from_url(BROKER_URL)
    client = PrefixedStrictRedis(connection_pool=pool, global_keyprefix=BROKER_KEY_PREFIX)
    plain = redis_lib.Redis.from_url(BROKER_URL)  # DEL through the prefixed client would prefix twice
    delete_keys(plain, BROKER_KEY_PREFIX)
    yield client
    delete_keys(plain, BROKER_KEY_PREFIX)
    client.close()
    plain.close()


@pytest.fixture
def worker_env(transactional_db, s3_storage: str, s3_endpoint: str) -> dict[str, str]:
    """The environment of a worker that shares this test's database, bucket and broker."""
    from django.db import connection

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        CELERY_BROKER_URL=BROKER_URL,
        CELERY_RESULT_BACKEND="",
        S3_BUCKET=s3_storage,
        S3_ENDPOINT_URL=s3_endpoint,
        S3_ACCESS_KEY_ID="testing",
        S3_SECRET_ACCESS_KEY="testing",
        ML_ENABLED="false",
        PYTHONUNBUFFERED="1",
        CELERY_TRACE_LOG_LEVEL="INFO",  # retries and worker losses are logged by celery.app.trace
    )
    return env


@pytest.fixture
def workers(worker_env: dict[str, str], broker, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(worker_env, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def wait_for(
    predicate, *, timeout: float, interval: float = 0.02, what: str = "condition", workers: Workers | None = None
):
    """Polls until ``predicate()`` is truthy; a bounded wait, so a hung worker fails the test instead of CI."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    logs = f"\n{workers.all_logs()[-6000:]}" if workers is not None and workers.procs else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{logs}")


class Outage:
    """A TCP relay on loopback in front of a real service (the S3 endpoint, PostgreSQL).

    ``down()`` stops listening and cuts every open connection, so clients get "connection refused"
    exactly as when the service is away; ``up()`` listens again on the same port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        import socket

        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener = None
        self._conns: list = []
        self._lock = __import__("threading").Lock()

    def up(self) -> None:
        import socket
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.close()
            except OSError:
                pass

    def _accept(self, listener) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass


@pytest.fixture
def closed_port_url() -> str:
    """A URL on a loopback port nothing listens on: the connection is refused at once."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
