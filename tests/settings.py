"""Test settings: the production settings module, pointed at the real services of this test run.

Tests run against PostgreSQL, Redis and a local S3 endpoint, as the developers' guide asks.
``./run test`` starts a throw-away PostgreSQL and a private Redis when DATABASE_URL and CACHE_URL
are not given (tests/services.py); tests/conftest.py starts the S3 endpoint. Nothing here falls
back to a machine's shared server, whose authentication and contents differ between hosts.

Names inside the services carry the run's id (MUSEUM_TEST_RUN), so two runs sharing one
PostgreSQL or one Redis database neither drop nor flush each other's data.
"""

import os
import secrets

from config.env import ImproperlyConfiguredEnv

for _name in ("DATABASE_URL", "CACHE_URL"):
    if not os.environ.get(_name):
        raise ImproperlyConfiguredEnv(
            f"{_name} is not set. Run the tests with `./run test` (it starts a throw-away PostgreSQL and "
            "Redis for the run), or `python -m tests.services -- python -m pytest ...`, or set DATABASE_URL "
            "and CACHE_URL (see docs/configuration.md)."
        )
# In os.environ so that the processes tests start (Celery workers) share the run's names.
RUN = os.environ.setdefault("MUSEUM_TEST_RUN", secrets.token_hex(4))
os.environ.setdefault("DJANGO_INSECURE_DEV_KEY", "true")
os.environ.setdefault("ML_ENABLED", "false")
os.environ.setdefault("VAR_DIR", "/tmp/museum-test-var")
if not os.environ.get("CELERY_BROKER_URL"):
    # Tests run tasks in-process unless they start workers of their own (tests/reliability, the embedded
    # worker's test), which name their broker.
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - WhiteNoise warns on every request otherwise

DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{RUN}"}  # noqa: F405
# Keys of this run: the cache under "test-RUN:", Celery's broker and results (when a test uses them)
# under "test-RUN-broker:". tests/conftest.py clears only these, never the whole database.
CACHES["default"]["KEY_PREFIX"] = f"test-{RUN}"  # noqa: F405
BROKER_KEY_PREFIX = f"test-{RUN}-broker:"
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": BROKER_KEY_PREFIX}  # noqa: F405
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    **CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS,  # noqa: F405
    "global_keyprefix": BROKER_KEY_PREFIX,
}
